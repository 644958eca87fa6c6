package pack

import (
	"errors"
	"io"
	"sync"
)

// Validator is [Validate] fed by writes instead of reading: a caller that
// copies a pack somewhere (a file, a hash, a network body) writes the same
// bytes to a Validator too, so that the document is checked as it passes
// and never read a second time. NewValidator starts the check on its own
// goroutine, which works while the caller reads and writes the next bytes;
// Close ends the document and waits for it.
//
// Write never fails: once the document is refused (or its check is done),
// the rest is discarded, so a Validator in an [io.MultiWriter] does not stop
// the copy; Close says why. Every Validator must be closed, or its
// goroutine waits for the rest of the document.
type Validator struct {
	pw   *io.PipeWriter
	done chan struct{}
	once sync.Once
	m    Manifest
	err  error
}

// NewValidator returns a Validator that checks the bytes written to it as
// Validate(r, want, lim) checks the bytes it reads.
func NewValidator(want Expect, lim Limits) *Validator {
	pr, pw := io.Pipe()
	v := &Validator{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(v.done)
		v.m, v.err = Validate(pr, want, lim)
		// Writes after the verdict are discarded (see Write).
		pr.CloseWithError(errDiscard)
	}()
	return v
}

// errDiscard tells Write that the check no longer reads.
var errDiscard = errors.New("validator done")

// Write hands p to the check and returns when the check has taken all of
// it, or at once when the check is over. It always returns len(p), nil.
func (v *Validator) Write(p []byte) (int, error) {
	_, _ = v.pw.Write(p)
	return len(p), nil
}

// Close ends the document and returns what Validate would return for the
// bytes written: the manifest, or why the document is refused. Calling it
// again returns the same.
func (v *Validator) Close() (Manifest, error) {
	v.once.Do(func() { _ = v.pw.Close() })
	<-v.done
	return v.m, v.err
}
