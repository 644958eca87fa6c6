package mpsync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// ErrTampered is matched by a [*TamperedError]: a stored pack's bytes no
// longer have the size and sha256 the store recorded for them.
var ErrTampered = errors.New("stored pack does not match its recorded hash")

// TamperedError reports a pack whose bytes, read back through the store,
// differ from what the store recorded when it imported them: the file was
// changed outside mpsync (by hand, by a disk fault), possibly at the same
// size. The engine checks before it relies on a pack's bytes (Rollback,
// [Engine.ReadPack], the override packs it reads) and [Engine.Validate]
// checks every pack. It matches [ErrTampered].
//
// Recovery: import the pack again from a trusted copy (Engine.Import with
// Force for a workspace's pack; mpsync import --force FILE), or remove it
// and let a sync import the catalog's copy.
type TamperedError struct {
	// ID and Version name the pack.
	ID      string
	Version pack.Version
	// WantSHA256 and WantSize are what the store recorded.
	WantSHA256 string
	WantSize   int64
	// GotSHA256 and GotSize are what reading the bytes back gave; GotSize
	// stops one byte past WantSize.
	GotSHA256 string
	GotSize   int64
}

// Error names the pack and both hashes.
func (e *TamperedError) Error() string {
	return fmt.Sprintf("%s %s: %v: the stored bytes have sha256 %s (%d bytes), the store recorded %s (%d bytes); import the pack again from a trusted copy (mpsync import --force FILE) or remove it",
		e.ID, e.Version, ErrTampered, e.GotSHA256, e.GotSize, e.WantSHA256, e.WantSize)
}

// Is reports whether target is [ErrTampered].
func (e *TamperedError) Is(target error) bool { return target == ErrTampered }

// checkStored reads the bytes the store holds for en.ID through Open,
// hashes them and compares them with en; when keep is set it returns the
// bytes too. Reading stops one byte past en.Size, so a grown file costs no
// more than a good one.
func checkStored(ctx context.Context, s Store, en storage.Entry, keep bool) ([]byte, error) {
	rc, err := s.Open(ctx, en.ID)
	if err != nil {
		return nil, fmt.Errorf("open %s %s in the store: %w", en.ID, en.Version, err)
	}
	defer rc.Close()
	h := sha256.New()
	var buf bytes.Buffer
	w := io.Writer(h)
	if keep {
		if en.Size > 0 {
			buf.Grow(int(en.Size))
		}
		w = io.MultiWriter(h, &buf)
	}
	n, err := io.Copy(w, io.LimitReader(rc, en.Size+1))
	if err != nil {
		return nil, fmt.Errorf("read %s %s in the store: %w", en.ID, en.Version, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != en.Size || got != en.SHA256 {
		return nil, &TamperedError{ID: en.ID, Version: en.Version, WantSHA256: en.SHA256, WantSize: en.Size, GotSHA256: got, GotSize: n}
	}
	return buf.Bytes(), nil
}

// ReadPack returns the store's entry for the pack id and its bytes, read
// back and checked against the size and sha256 the store recorded: a pack
// changed in the store since its import is a [*TamperedError], never
// handed out. Use it to export a pack to another management group.
func (e *Engine) ReadPack(ctx context.Context, id string) (storage.Entry, []byte, error) {
	done, err := e.enter()
	if err != nil {
		return storage.Entry{}, nil, err
	}
	defer done()
	en, err := e.store.Get(ctx, id)
	if err != nil {
		return storage.Entry{}, nil, fmt.Errorf("read pack %s: %w", id, err)
	}
	b, err := checkStored(ctx, e.store, en, true)
	if err != nil {
		return en, nil, fmt.Errorf("read pack: %w", err)
	}
	return en, b, nil
}
