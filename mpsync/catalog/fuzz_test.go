package catalog

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecode feeds catalogs, good and hostile, to Decode: it never panics,
// refuses with ErrInvalid, and what it accepts passes Validate and has its
// packs and solutions lists (a catalog read without packs would remove every
// workspace pack). The workspace id may be any string here: the client
// compares it with its own.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(`{"schemaVersion":"1.0","workspaceId":"w","serial":1,"solutions":[],"packs":[]}`))
	f.Add([]byte(`{"schemaVersion":"1.0","workspaceId":"w","serial":1,"solutions":[]}`))
	f.Add([]byte(`{"schemaVersion":"2.0","workspaceId":"w","serial":1,"solutions":[],"packs":[]} {}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Decode(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refused without ErrInvalid: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("a decoded catalog does not validate: %v", err)
		}
		if c.Packs == nil || c.Solutions == nil {
			t.Fatalf("a decoded catalog lacks a required member: %+v", c)
		}
	})
}
