package overrides

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// SourceOptions configure [NewSource].
type SourceOptions struct {
	// Paths are override pack files and directories. A directory
	// contributes every regular file in it whose name ends in ".xml" (any
	// case), not recursing; files may come and go. A named file must exist.
	Paths []string
	// Logger receives a debug record per re-read file and a warning per
	// invalid one. Nil discards.
	Logger *slog.Logger
}

// Source is a set of override pack files that may change while the engine
// runs. [Source.Load] re-reads a file only when its size or modification
// time changed, so loading an unchanged source costs one stat per file (and
// one directory read per directory). A Source is safe for concurrent use.
//
// When a file changed and is now invalid, Load returns the error together
// with the last valid Set: a broken edit never silently drops the overrides
// in force (a change freeze stays frozen). The error keeps being returned
// until the file is fixed or removed.
//
// Edits are noticed by size and modification time. A file modified again
// within the file system's timestamp resolution of its last read is re-read
// and compared by SHA-256 on the next Load, so even such edits are seen.
type Source struct {
	paths  []string
	logger *slog.Logger

	mu    sync.Mutex
	files map[string]*fileState
	set   *Set
	err   error
	order []string // file list of the last Load
}

type fileState struct {
	size   int64
	mod    time.Time
	readAt time.Time
	sum    [sha256.Size]byte
	pack   *Pack
	err    error
}

// racyWindow is how close to its last read a file's modification time may
// be before the size and time are no longer trusted to reveal an edit.
const racyWindow = 2 * time.Second

// NewSource returns a Source over the given paths. Nothing is read until
// the first Load.
func NewSource(opts SourceOptions) *Source {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Source{paths: slices.Clone(opts.Paths), logger: l, files: make(map[string]*fileState)}
}

// Load returns the current Set. It returns the last valid Set and an error
// when a file cannot be read or is invalid, or when two files hold the same
// pack or override ids; the Set is nil only if no Load has succeeded yet.
func (s *Source) Load(ctx context.Context) (*Set, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, err := s.list()
	if err != nil {
		return s.set, err
	}
	changed := !slices.Equal(names, s.order)
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		err := ctx.Err()
		if err != nil {
			err = fmt.Errorf("loading override packs: %w", err)
		}
		var c bool
		if err == nil {
			seen[name] = true
			c, err = s.refresh(name)
		}
		if err != nil {
			// Files refreshed before the interruption look unchanged now;
			// forget the file list so the next Load rebuilds the set from
			// them rather than keeping the old one.
			s.order = nil
			return s.set, err
		}
		changed = changed || c
	}
	for name := range s.files {
		if !seen[name] {
			delete(s.files, name)
		}
	}
	if !changed && (s.set != nil || s.err != nil) {
		return s.set, s.err
	}
	s.order = names
	var packs []*Pack
	for _, name := range names {
		f := s.files[name]
		if f.err != nil {
			s.err = fmt.Errorf("override pack file %s: %w", name, f.err)
			s.logger.Warn("override pack invalid; keeping the last valid overrides", "file", name, "err", f.err)
			return s.set, s.err
		}
		packs = append(packs, f.pack)
	}
	set, err := NewSet(packs...)
	if err != nil {
		s.err = fmt.Errorf("override pack files: %w", err)
		s.logger.Warn("override packs conflict; keeping the last valid overrides", "err", err)
		return s.set, s.err
	}
	s.set, s.err = set, nil
	return set, nil
}

// list expands directories into their .xml files, sorted.
func (s *Source) list() ([]string, error) {
	var names []string
	for _, p := range s.paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("override pack path: %w", err)
		}
		if !fi.IsDir() {
			names = append(names, p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("override pack directory: %w", err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() && strings.HasSuffix(strings.ToLower(e.Name()), ".xml") {
				names = append(names, filepath.Join(p, e.Name()))
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// refresh re-reads name when it changed and reports whether its content
// did. Only a failure to stat is returned as an error; a file that cannot be
// read or parsed is recorded in its state.
func (s *Source) refresh(name string) (bool, error) {
	fi, err := os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("override pack file %s: %w", name, err)
	}
	if err != nil {
		return false, fmt.Errorf("override pack file %s: %w", name, err)
	}
	old := s.files[name]
	if old != nil && old.size == fi.Size() && old.mod.Equal(fi.ModTime()) && old.readAt.Sub(old.mod) > racyWindow {
		return false, nil
	}
	f := &fileState{}
	data, err := readFile(name, f)
	if err != nil {
		f.err = err
	} else {
		f.sum = sha256.Sum256(data)
		if old != nil && old.err == nil && old.sum == f.sum {
			f.pack = old.pack
			s.files[name] = f
			return false, nil
		}
		f.pack, f.err = ReadPack(bytes.NewReader(data))
	}
	s.logger.Debug("override pack file read", "file", name, "size", f.size, "valid", f.err == nil)
	s.files[name] = f
	return true, nil
}

// readFile reads name and records the size and time of the opened file.
func readFile(name string, f *fileState) ([]byte, error) {
	file, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, err
	}
	f.size, f.mod, f.readAt = fi.Size(), fi.ModTime(), time.Now()
	if fi.Size() > MaxPackBytes {
		return nil, fmt.Errorf("file is %d bytes, more than the %d accepted", fi.Size(), MaxPackBytes)
	}
	return io.ReadAll(io.LimitReader(file, MaxPackBytes+1))
}
