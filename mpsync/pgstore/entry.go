package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// Steps of an operation, as [Error.Step] names them.
const (
	stepRequest  = "request"
	stepReceive  = "receive"
	stepCheck    = "check"
	stepValidate = "validate"
	stepDatabase = "database"
	stepFence    = "fence"
)

// These helpers keep the semantics of mpsync/store (Dir and Memory) so that
// the stores agree; they are repeated rather than imported so that this
// package does not pull the directory store's SQLite into programs that
// keep everything in PostgreSQL.

func checkRequest(req storage.ImportRequest) error {
	if err := pack.CheckID(req.ID); err != nil {
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

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// MaxMetaNameLength is the longest meta record name accepted, in bytes:
// [storage.MaxMetaNameLength], as in mpsync/store.
const MaxMetaNameLength = storage.MaxMetaNameLength

// CheckMetaName is [storage.CheckMetaName], the rule every store applies,
// so that records move between the stores unchanged.
func CheckMetaName(name string) error { return storage.CheckMetaName(name) }

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

// receive copies r to w while hashing and counting, and checks size and
// hash against req. It returns the hex SHA-256, the count and, on error,
// the step that failed.
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

func validate(r io.Reader, req storage.ImportRequest, lim pack.Limits) (pack.Manifest, error) {
	m, err := pack.Validate(r, pack.Expect{ID: req.ID, Version: req.Version}, lim)
	if err != nil {
		if errors.Is(err, pack.ErrIdentity) {
			return m, fmt.Errorf("%w: %w", storage.ErrMismatch, err)
		}
		return m, err
	}
	if m.ID != req.ID {
		return m, fmt.Errorf("%w: %w: document declares %s, expected %s", storage.ErrMismatch, pack.ErrIdentity, m.ID, req.ID)
	}
	return m, nil
}

// newEntry is [storage.NewEntry] at req.Time (stamped by the caller).
func newEntry(req storage.ImportRequest, m pack.Manifest, sum string, n int64, old *storage.Entry) storage.Entry {
	return storage.NewEntry(req, m, sum, n, req.Time, old)
}

// stamp sets req.Time to now when it is zero.
func stamp(req storage.ImportRequest, now func() time.Time) storage.ImportRequest {
	if req.Time.IsZero() {
		req.Time = now()
	}
	return req
}
