package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// Steps of an import, as [OpError.Step] names them.
const (
	stepRequest  = "request"
	stepReceive  = "receive"
	stepCheck    = "check"
	stepValidate = "validate"
)

// checkRequest refuses a request that cannot be imported whatever the bytes:
// an unusable id, a malformed hash, a negative size or an unknown owner.
func checkRequest(req storage.ImportRequest, checkID func(string) error) error {
	if err := checkID(req.ID); err != nil {
		return err
	}
	if req.SHA256 != "" && !isSHA256Hex(req.SHA256) {
		return fmt.Errorf("ImportRequest.SHA256 %q is not 64 lower-case hex digits", req.SHA256)
	}
	if req.Size < 0 {
		return fmt.Errorf("ImportRequest.Size is negative (%d)", req.Size)
	}
	switch req.Provenance.Owner {
	case "", storage.OwnerWorkspace, storage.OwnerCustom:
	default:
		return fmt.Errorf("ImportRequest.Provenance.Owner %q is neither %q nor %q", req.Provenance.Owner, storage.OwnerWorkspace, storage.OwnerCustom)
	}
	return nil
}

// ctxReader fails reads once ctx is done, so a long copy stops promptly.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// receive copies r to w while hashing and counting, stops past the expected
// size or maxBytes, and checks the size and hash against req. It returns the
// lower-case hex SHA-256, the byte count and, on error, the step that failed.
func receive(ctx context.Context, req storage.ImportRequest, r io.Reader, w io.Writer, maxBytes int64) (string, int64, string, error) {
	limit := maxBytes
	if req.Size > 0 && req.Size < limit {
		limit = req.Size
	}
	h := sha256.New()
	buf := make([]byte, 64<<10)
	n, err := io.CopyBuffer(io.MultiWriter(w, h), io.LimitReader(ctxReader{ctx, r}, limit+1), buf)
	if err != nil {
		return "", n, stepReceive, err
	}
	if n > limit {
		if req.Size > 0 && n > req.Size {
			return "", n, stepCheck, fmt.Errorf("%w: more than the expected %d bytes", storage.ErrMismatch, req.Size)
		}
		return "", n, stepCheck, fmt.Errorf("%w: document is larger than %d bytes (pack.Limits.MaxBytes)", pack.ErrMalformed, maxBytes)
	}
	if req.Size > 0 && n != req.Size {
		return "", n, stepCheck, fmt.Errorf("%w: %d bytes, expected %d", storage.ErrMismatch, n, req.Size)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if req.SHA256 != "" && sum != req.SHA256 {
		return sum, n, stepCheck, fmt.Errorf("%w: sha256 %s, expected %s", storage.ErrMismatch, sum, req.SHA256)
	}
	return sum, n, "", nil
}

// validate checks a whole received document against req. An identity other
// than the requested one wraps both [storage.ErrMismatch] and [pack.ErrIdentity].
func validate(r io.Reader, req storage.ImportRequest, lim pack.Limits) (pack.Manifest, error) {
	m, err := pack.Validate(r, pack.Expect{ID: req.ID, Version: req.Version}, lim)
	if err != nil {
		if errors.Is(err, pack.ErrIdentity) {
			return m, fmt.Errorf("%w: %w", storage.ErrMismatch, err)
		}
		return m, err
	}
	if m.ID != req.ID {
		// Validate checks a non-empty expected id; this guards the contract.
		return m, fmt.Errorf("%w: %w: document declares %s, expected %s", storage.ErrMismatch, pack.ErrIdentity, m.ID, req.ID)
	}
	return m, nil
}

// newEntry is [storage.NewEntry] at req.Time, or now when it is zero.
func newEntry(req storage.ImportRequest, m pack.Manifest, sum string, n int64, now func() time.Time, old *storage.Entry) storage.Entry {
	t := req.Time
	if t.IsZero() {
		t = now()
	}
	return storage.NewEntry(req, m, sum, n, t, old)
}

// discardIfNil returns l, or a logger that discards everything when l is
// nil.
func discardIfNil(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
