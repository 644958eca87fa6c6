package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// twoPass is what a store did before ReceivePack: Receive into memory, then
// ValidatePack over what was received.
func twoPass(ctx context.Context, req storage.ImportRequest, in []byte, maxBytes int64, lim pack.Limits) (pack.Manifest, string, int64, string, error, []byte) {
	var w bytes.Buffer
	sum, n, step, err := storage.Receive(ctx, req, bytes.NewReader(in), &w, maxBytes)
	if err != nil {
		return pack.Manifest{}, sum, n, step, err, w.Bytes()
	}
	m, err := storage.ValidatePack(bytes.NewReader(w.Bytes()), req, lim)
	if err != nil {
		return m, sum, n, storage.StepValidate, err, w.Bytes()
	}
	return m, sum, n, "", nil, w.Bytes()
}

// TestReceivePackMatchesTwoPass checks that the one-pass ReceivePack gives,
// for each kind of good and bad input, the result, step and error message
// of Receive followed by ValidatePack, and writes the same bytes.
func TestReceivePackMatchesTwoPass(t *testing.T) {
	v1 := pack.MustParseVersion("1.0.0.0")
	doc, err := packgen.Spec{ID: "Contoso.Recv", Version: v1, TargetSize: 40 << 10}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	utf16doc, err := packgen.Spec{ID: "Contoso.Recv", Version: v1, TargetSize: 40 << 10, Encoding: packgen.UTF16LE}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := packgen.Seal(doc, packgen.SealOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hash := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	broken := bytes.Replace(bytes.Clone(doc), []byte("</Monitoring>"), []byte("</Monitorin>"), 1)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		req      storage.ImportRequest
		in       []byte
		maxBytes int64
		lim      pack.Limits
		wantStep string
	}{
		{"valid", nil, storage.ImportRequest{ID: "Contoso.Recv", Version: v1, SHA256: hash(doc), Size: int64(len(doc))}, doc, 64 << 20, pack.Limits{}, ""},
		{"valid, nothing expected but the id", nil, storage.ImportRequest{ID: "Contoso.Recv"}, doc, 64 << 20, pack.Limits{}, ""},
		{"UTF-16", nil, storage.ImportRequest{ID: "Contoso.Recv", SHA256: hash(utf16doc)}, utf16doc, 64 << 20, pack.Limits{}, ""},
		{"sealed", nil, storage.ImportRequest{ID: "Contoso.Recv", Version: v1, Size: int64(len(sealed))}, sealed, 64 << 20, pack.Limits{}, ""},
		{"wrong hash", nil, storage.ImportRequest{ID: "Contoso.Recv", SHA256: hash(broken)}, doc, 64 << 20, pack.Limits{}, storage.StepCheck},
		{"shorter", nil, storage.ImportRequest{ID: "Contoso.Recv", Size: int64(len(doc)) + 1}, doc, 64 << 20, pack.Limits{}, storage.StepCheck},
		{"longer", nil, storage.ImportRequest{ID: "Contoso.Recv", Size: int64(len(doc)) - 1}, doc, 64 << 20, pack.Limits{}, storage.StepCheck},
		{"over the store's limit", nil, storage.ImportRequest{ID: "Contoso.Recv"}, doc, 10 << 10, pack.Limits{MaxBytes: 10 << 10}, storage.StepCheck},
		{"other id", nil, storage.ImportRequest{ID: "Contoso.Other"}, doc, 64 << 20, pack.Limits{}, storage.StepValidate},
		{"other version", nil, storage.ImportRequest{ID: "Contoso.Recv", Version: pack.MustParseVersion("2.0.0.0")}, doc, 64 << 20, pack.Limits{}, storage.StepValidate},
		{"malformed", nil, storage.ImportRequest{ID: "Contoso.Recv", SHA256: hash(broken)}, broken, 64 << 20, pack.Limits{}, storage.StepValidate},
		{"malformed with a wrong hash: the hash first", nil, storage.ImportRequest{ID: "Contoso.Recv", SHA256: hash(doc)}, broken, 64 << 20, pack.Limits{}, storage.StepCheck},
		{"too deep", nil, storage.ImportRequest{ID: "Contoso.Recv"}, doc, 64 << 20, pack.Limits{MaxDepth: 3}, storage.StepValidate},
		{"not a pack", nil, storage.ImportRequest{ID: "Contoso.Recv"}, []byte("PK\x03\x04 a zip file"), 64 << 20, pack.Limits{}, storage.StepValidate},
		{"cancelled", cancelled, storage.ImportRequest{ID: "Contoso.Recv"}, doc, 64 << 20, pack.Limits{}, storage.StepReceive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			wm, wsum, wn, wstep, werr, wbytes := twoPass(ctx, tt.req, tt.in, tt.maxBytes, tt.lim)
			var w bytes.Buffer
			m, sum, n, step, err := storage.ReceivePack(ctx, tt.req, bytes.NewReader(tt.in), &w, tt.maxBytes, tt.lim)
			if step != tt.wantStep || wstep != tt.wantStep {
				t.Fatalf("step %q (two passes: %q), want %q; error %v", step, wstep, tt.wantStep, err)
			}
			if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
				t.Fatalf("error %v, two passes: %v", err, werr)
			}
			if errors.Is(werr, storage.ErrMismatch) != errors.Is(err, storage.ErrMismatch) || errors.Is(werr, pack.ErrIdentity) != errors.Is(err, pack.ErrIdentity) ||
				errors.Is(werr, pack.ErrMalformed) != errors.Is(err, pack.ErrMalformed) {
				t.Fatalf("error %v wraps other sentinels than %v", err, werr)
			}
			if sum != wsum || n != wn || !bytes.Equal(w.Bytes(), wbytes) {
				t.Fatalf("sum %s n %d (%d bytes written); two passes: %s %d (%d)", sum, n, w.Len(), wsum, wn, len(wbytes))
			}
			if m.ID != wm.ID || m.Version != wm.Version || m.Sealed != wm.Sealed || len(m.References) != len(wm.References) {
				t.Fatalf("manifest %+v, two passes %+v", m, wm)
			}
			if tt.wantStep == "" && m.ID != "Contoso.Recv" {
				t.Fatalf("accepted with manifest %+v", m)
			}
		})
	}
}
