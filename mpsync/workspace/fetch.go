package workspace

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"

	"github.com/hashicorp/go-retryablehttp"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/pack"
)

// PackURL resolves a catalog entry's href against the catalog URL and
// checks it: the scheme must be https (or http with AllowHTTP) and it must
// carry no user information. An absolute href may name another host (a
// download server), as docs/protocol.md §1 allows; the request carries the
// same SharedKey signature, which covers only that path and expires with its
// x-ms-date, and redirects are never followed. The error wraps ErrBadHref.
func (c *Client) PackURL(p catalog.Pack) (*url.URL, error) {
	ref, err := url.Parse(p.Href)
	if err != nil {
		return nil, c.packErr(p, "href", fmt.Errorf("%w: %w: %q does not parse", ErrPackRefused, ErrBadHref, p.Href))
	}
	u := c.s.catalog.ResolveReference(ref)
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && c.s.AllowHTTP:
	default:
		return nil, c.packErr(p, "href", fmt.Errorf("%w: %w: %s: scheme %q is not allowed (https only, or http with AllowHTTP)", ErrPackRefused, ErrBadHref, redactURL(u), u.Scheme))
	}
	if u.User != nil {
		return nil, c.packErr(p, "href", fmt.Errorf("%w: %w: href carries user information", ErrPackRefused, ErrBadHref))
	}
	return u, nil
}

func (c *Client) packErr(p catalog.Pack, step string, err error) *PackError {
	return &PackError{ID: p.ID, Version: p.Version.String(), Step: step, Err: err}
}

// Fetch downloads the pack p of the held catalog and verifies it before
// returning it. The body streams to a temporary file in TempDir while it is
// hashed, and reading stops past p.Size bytes; the pack is refused (a
// [*PackError] wrapping ErrPackRefused) when the byte count differs from
// p.Size (ErrSizeMismatch), the SHA-256 differs (ErrHashMismatch), the
// manifest's identity differs from p.ID and p.Version (pack.ErrIdentity) or
// is unreadable, or p.Size is over MaxPackSize (ErrTooLarge, without a
// request). A body cut short by the network is retried like a network error.
// Memory use does not grow with the pack's size.
//
// The returned reader reads the verified file; Close removes it. A refused
// pack leaves no file behind.
func (c *Client) Fetch(ctx context.Context, p catalog.Pack) (io.ReadCloser, error) {
	u, err := c.PackURL(p)
	if err != nil {
		return nil, err
	}
	if p.Size > c.s.MaxPackSize {
		return nil, c.packErr(p, "size", fmt.Errorf("%w: %w: the catalog says %d bytes, the limit is %d", ErrPackRefused, ErrTooLarge, p.Size, c.s.MaxPackSize))
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, c.packErr(p, "href", err)
	}
	req.Header.Set("Accept", "application/xml, application/octet-stream") // XML or a sealed pack (.mp)
	var (
		mu  sync.Mutex
		got *os.File
	)
	req.SetResponseHandler(func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return nil // do reports the status
		}
		f, err := c.receive(p, resp)
		if err != nil {
			return err
		}
		mu.Lock()
		got = f
		mu.Unlock()
		return nil
	})
	op := "fetch " + p.ID + " " + p.Version.String()
	resp, err := c.do(ctx, req, op)
	mu.Lock()
	f := got
	mu.Unlock()
	if err != nil {
		// The body may have been verified just before the context was
		// cancelled: remove it.
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
		return nil, err
	}
	resp.Body.Close()
	if f == nil {
		return nil, &HTTPError{Op: op, URL: redactURL(u), Status: resp.StatusCode, Attempts: 1, kind: ErrRejected}
	}
	c.log.Debug("pack fetched", "pack", p.ID, "version", p.Version.String(), "size", p.Size)
	return &tempFile{File: f}, nil
}

// receive streams one response body into a temporary file and verifies it.
// On any error the file is removed.
func (c *Client) receive(p catalog.Pack, resp *http.Response) (_ *os.File, err error) {
	if resp.ContentLength > p.Size {
		return nil, c.packErr(p, "size", fmt.Errorf("%w: %w: Content-Length %d, the catalog says %d", ErrPackRefused, ErrSizeMismatch, resp.ContentLength, p.Size))
	}
	f, err := os.CreateTemp(c.s.TempDir, "mpsync-pack-*.xml")
	if err != nil {
		return nil, c.packErr(p, "write", fmt.Errorf("temporary file: %w", err))
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	buf := make([]byte, 32<<10)
	n, err := io.CopyBuffer(io.MultiWriter(fileWriter{f}, h), onlyReader{io.LimitReader(resp.Body, p.Size+1)}, buf)
	if err != nil {
		var we *writeError
		if errors.As(err, &we) {
			return nil, c.packErr(p, "write", err)
		}
		return nil, c.packErr(p, "download", fmt.Errorf("%w: body cut off after %d of %d bytes: %w", ErrUnavailable, n, p.Size, &redactedError{msg: c.scrub.Replace(err.Error()), err: err}))
	}
	if n != p.Size {
		what := "shorter"
		if n > p.Size {
			what = "longer"
		}
		return nil, c.packErr(p, "size", fmt.Errorf("%w: %w: the body is %s than the catalog's %d bytes", ErrPackRefused, ErrSizeMismatch, what, p.Size))
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != p.SHA256 {
		return nil, c.packErr(p, "sha256", fmt.Errorf("%w: %w: got %s, the catalog says %s", ErrPackRefused, ErrHashMismatch, sum, p.SHA256))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, c.packErr(p, "write", err)
	}
	m, err := pack.ReadManifest(bufio.NewReader(f))
	if err != nil {
		return nil, c.packErr(p, "manifest", fmt.Errorf("%w: %w", ErrPackRefused, err))
	}
	if m.ID != p.ID || m.Version != p.Version {
		return nil, c.packErr(p, "manifest", fmt.Errorf("%w: %w: the manifest declares %s %s", ErrPackRefused, pack.ErrIdentity, m.ID, m.Version))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, c.packErr(p, "write", err)
	}
	return f, nil
}

// onlyReader hides any WriterTo so io.CopyBuffer uses its buffer, and
// marks write failures so they are not mistaken for network errors.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

type fileWriter struct{ f *os.File }

func (w fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

type writeError struct{ err error }

func (e *writeError) Error() string { return "temporary file: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// tempFile is a verified pack on disk; Close removes it.
type tempFile struct {
	*os.File
	once sync.Once
	err  error
}

func (t *tempFile) Close() error {
	t.once.Do(func() {
		t.err = t.File.Close()
		if err := os.Remove(t.File.Name()); err != nil && t.err == nil {
			t.err = err
		}
	})
	return t.err
}

// FetchAll downloads packs with up to Parallel downloads at once and calls
// fn with each verified pack, in the order downloads finish. fn is never
// called concurrently, and the reader is only valid during the call. The
// first error (from a download or from fn, naming the pack) stops the
// remaining work and is returned; temporary files are removed either way.
func (c *Client) FetchAll(ctx context.Context, packs []catalog.Pack, fn func(catalog.Pack, io.Reader) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		fnMu  sync.Mutex
		errMu sync.Mutex
		first error
	)
	fail := func(err error) {
		errMu.Lock()
		if first == nil {
			first = err
		}
		errMu.Unlock()
		cancel()
	}
	jobs := make(chan catalog.Pack)
	for range min(c.s.Parallel, max(len(packs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				if ctx.Err() != nil {
					continue
				}
				rc, err := c.Fetch(ctx, p)
				if err != nil {
					fail(err)
					continue
				}
				fnMu.Lock()
				if ctx.Err() == nil {
					err = fn(p, rc)
				}
				fnMu.Unlock()
				rc.Close()
				if err != nil {
					fail(fmt.Errorf("pack %s %s: %w", p.ID, p.Version, err))
				}
			}
		}()
	}
feed:
	for _, p := range packs {
		select {
		case jobs <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
