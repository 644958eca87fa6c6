package workspace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"

	"github.com/hashicorp/go-retryablehttp"

	"mpsync.dev/mpsync/catalog"
)

// FetchStream downloads the pack p of the held catalog and returns its
// body as it arrives, without a temporary file: the caller (a store's
// Import, which hashes, validates and writes the bytes in the same pass)
// reads every byte once. The stream checks what [Client.Fetch] checks
// before handing over the last bytes: reading stops past p.Size bytes, and
// the read that would complete the body returns instead a [*PackError]
// wrapping ErrPackRefused when the byte count differs from p.Size
// (ErrSizeMismatch) or the SHA-256 differs (ErrHashMismatch); p.Size over
// MaxPackSize is refused without a request (ErrTooLarge). So a reader that
// gets io.EOF has read exactly the pack the catalog describes. The
// manifest's identity is not checked here: it is in the bytes, and the
// consumer checks it as it validates them (a store's Import checks the
// ImportRequest's id and version).
//
// A body cut short by the network is resumed: the pack is requested again
// (up to RetryMax times, each request itself retried as any other) and the
// bytes already delivered are skipped; the final hash covers every byte
// delivered, so a server that changed the pack in between is refused.
// Close releases the connection.
func (c *Client) FetchStream(ctx context.Context, p catalog.Pack) (io.ReadCloser, error) {
	u, err := c.PackURL(p)
	if err != nil {
		return nil, err
	}
	if p.Size > c.s.MaxPackSize {
		return nil, c.packErr(p, "size", fmt.Errorf("%w: %w: the catalog says %d bytes, the limit is %d", ErrPackRefused, ErrTooLarge, p.Size, c.s.MaxPackSize))
	}
	s := &packStream{ctx: ctx, c: c, p: p, url: u.String(), h: sha256.New(), resumes: max(c.s.RetryMax, 0)}
	if err := s.open(0); err != nil {
		return nil, err
	}
	return s, nil
}

// packStream is a pack body being read and verified.
type packStream struct {
	ctx     context.Context
	c       *Client
	p       catalog.Pack
	url     string
	body    io.ReadCloser
	h       hash.Hash
	n       int64 // bytes delivered
	resumes int   // re-requests left after a cut body
	err     error // sticky: the verdict, or the failure
}

// open requests the pack and skips the first skip bytes of the body.
func (s *packStream) open(skip int64) error {
	req, err := retryablehttp.NewRequestWithContext(s.ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return s.c.packErr(s.p, "href", err)
	}
	req.Header.Set("Accept", "application/xml, application/octet-stream")
	op := "fetch " + s.p.ID + " " + s.p.Version.String()
	resp, err := s.c.do(s.ctx, req, op)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return &HTTPError{Op: op, URL: redactURL(req.URL), Status: resp.StatusCode, Attempts: 1, kind: ErrRejected}
	}
	if resp.ContentLength > s.p.Size {
		resp.Body.Close()
		return s.c.packErr(s.p, "size", fmt.Errorf("%w: %w: Content-Length %d, the catalog says %d", ErrPackRefused, ErrSizeMismatch, resp.ContentLength, s.p.Size))
	}
	if skip > 0 {
		if _, err := io.CopyN(io.Discard, resp.Body, skip); err != nil {
			resp.Body.Close()
			if err == io.EOF {
				return s.shorter()
			}
			return s.cut(err)
		}
	}
	s.body = resp.Body
	return nil
}

func (s *packStream) shorter() error {
	return s.c.packErr(s.p, "size", fmt.Errorf("%w: %w: the body is shorter than the catalog's %d bytes", ErrPackRefused, ErrSizeMismatch, s.p.Size))
}

func (s *packStream) cut(err error) error {
	return s.c.packErr(s.p, "download", fmt.Errorf("%w: body cut off after %d of %d bytes: %w", ErrUnavailable, s.n, s.p.Size, &redactedError{msg: s.c.scrub.Replace(err.Error()), err: err}))
}

// Read delivers the body, holding back the bytes that complete it until
// the size and the hash are checked.
func (s *packStream) Read(b []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if len(b) == 0 {
		return 0, nil
	}
	rem := s.p.Size - s.n
	if int64(len(b)) > rem {
		b = b[:rem]
	}
	if len(b) == 0 {
		// p.Size is 0: nothing to read but the end.
		s.err = s.end()
		if s.err == nil {
			s.err = io.EOF
		}
		return 0, s.err
	}
	k, err := s.body.Read(b)
	s.h.Write(b[:k])
	s.n += int64(k)
	switch {
	case err == io.EOF && s.n < s.p.Size:
		s.err = s.shorter()
		return 0, s.err
	case err != nil && err != io.EOF:
		if rerr := s.resume(err); rerr != nil {
			s.err = rerr
			return 0, rerr
		}
	}
	if s.n == s.p.Size {
		if err := s.end(); err != nil {
			s.err = err
			return 0, err
		}
		s.err = io.EOF
	}
	return k, nil
}

// end checks, once p.Size bytes arrived, that the body ends there and
// that the hash is the catalog's.
func (s *packStream) end() error {
	var one [1]byte
	for {
		k, err := s.body.Read(one[:])
		if k > 0 {
			return s.c.packErr(s.p, "size", fmt.Errorf("%w: %w: the body is longer than the catalog's %d bytes", ErrPackRefused, ErrSizeMismatch, s.p.Size))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			// The body is complete; a failure to read its end changes nothing.
			break
		}
	}
	if sum := hex.EncodeToString(s.h.Sum(nil)); sum != s.p.SHA256 {
		return s.c.packErr(s.p, "sha256", fmt.Errorf("%w: %w: got %s, the catalog says %s", ErrPackRefused, ErrHashMismatch, sum, s.p.SHA256))
	}
	s.c.log.Debug("pack streamed", "pack", s.p.ID, "version", s.p.Version.String(), "size", s.p.Size)
	return nil
}

// resume re-requests the pack after the body failed with err, skipping what
// was delivered; it returns the error to report when it cannot.
func (s *packStream) resume(err error) error {
	s.body.Close()
	if ctxErr := s.ctx.Err(); ctxErr != nil {
		return fmt.Errorf("workspace fetch %s %s: %w", s.p.ID, s.p.Version, ctxErr)
	}
	if s.resumes <= 0 {
		return s.cut(err)
	}
	s.resumes--
	s.c.log.Debug("pack body cut off; requesting it again", "pack", s.p.ID, "version", s.p.Version.String(), "at", s.n, "err", s.c.scrub.Replace(err.Error()))
	if oerr := s.open(s.n); oerr != nil {
		var pe *PackError
		if errors.As(oerr, &pe) {
			return oerr
		}
		return s.cut(err)
	}
	return nil
}

// Close releases the connection.
func (s *packStream) Close() error {
	if s.err == nil {
		s.err = errors.New("workspace: pack stream closed")
	}
	if s.body != nil {
		return s.body.Close()
	}
	return nil
}
