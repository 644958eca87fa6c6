package pgstore

import (
	"bytes"
	"io"
	"os"
	"sync/atomic"
)

// spool holds a received pack between the check and the database write:
// in memory while it is small and the store's memory budget allows, in a
// temporary file otherwise, so that a 100 MB pack is never held whole in
// memory.
type spool struct {
	dir    string
	budget *atomic.Int64 // bytes of memory spools may still take
	maxMem int64
	buf    []byte
	held   int64 // bytes of budget taken by buf
	f      *os.File
	n      int64
}

func (s *spool) Write(p []byte) (int, error) {
	if s.f == nil {
		want := int64(len(s.buf) + len(p))
		if want <= s.maxMem && s.take(want-s.held) {
			s.buf = append(s.buf, p...)
			s.n += int64(len(p))
			return len(p), nil
		}
		f, err := os.CreateTemp(s.dir, "mpsync-pgstore-*.spool")
		if err != nil {
			return 0, err
		}
		s.f = f
		if _, err := f.Write(s.buf); err != nil {
			return 0, err
		}
		s.release()
	}
	n, err := s.f.Write(p)
	s.n += int64(n)
	return n, err
}

// take reserves n more bytes of the budget; it reports whether it could.
func (s *spool) take(n int64) bool {
	for {
		have := s.budget.Load()
		if have < n {
			return false
		}
		if s.budget.CompareAndSwap(have, have-n) {
			s.held += n
			return true
		}
	}
}

func (s *spool) release() {
	s.budget.Add(s.held)
	s.held, s.buf = 0, nil
}

// reader reads the spooled bytes from the start; each call starts afresh.
func (s *spool) reader() io.Reader {
	if s.f != nil {
		return io.NewSectionReader(s.f, 0, s.n)
	}
	return bytes.NewReader(s.buf)
}

// close frees the memory or removes the file.
func (s *spool) close() {
	if s == nil {
		return
	}
	if s.f != nil {
		name := s.f.Name()
		s.f.Close()
		os.Remove(name)
		s.f = nil
	}
	s.release()
}
