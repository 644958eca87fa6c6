package pack_test

import (
	"bytes"
	"errors"
	"testing"

	"mpsync.dev/mpsync/pack"
)

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"7.1.10226.1239", "1", "1.2", "07.001", "2147483647.2147483647.2147483647.2147483647", "2147483648", "1..2", "-1", "+1", " 1", "1.2.3.4.5", "7.1.x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := pack.ParseVersion(s)
		if err != nil {
			if !errors.Is(err, pack.ErrInvalidVersion) {
				t.Fatalf("ParseVersion(%q): error %v does not wrap ErrInvalidVersion", s, err)
			}
			return
		}
		back, err := pack.ParseVersion(v.String())
		if err != nil {
			t.Fatalf("ParseVersion(%q) = %v, but its String %q does not parse: %v", s, v, v.String(), err)
		}
		if back != v || back.Compare(v) != 0 {
			t.Fatalf("round trip of %q: %v became %v", s, v, back)
		}
		for _, p := range []uint32{v.Major, v.Minor, v.Build, v.Revision} {
			if p > pack.MaxVersionPart {
				t.Fatalf("ParseVersion(%q) = %v: part above MaxVersionPart", s, v)
			}
		}
	})
}

func FuzzParseConstraint(f *testing.F) {
	for _, s := range []string{"~7.1", ">= 7.0.8433", ">= 7.1.10226.1239, < 8", "7.0 - 7.1.10226.1239", "!= 1.2.3.4 || ^2", ">=", "- 1", "1.2.3.4.5"} {
		f.Add(s, "7.1.10226.1239")
	}
	f.Fuzz(func(t *testing.T, s, v string) {
		c, err := pack.ParseConstraint(s)
		if err != nil {
			if !errors.Is(err, pack.ErrInvalidConstraint) {
				t.Fatalf("ParseConstraint(%q): error %v does not wrap ErrInvalidConstraint", s, err)
			}
			return
		}
		if ver, err := pack.ParseVersion(v); err == nil {
			c.Check(ver) // must not panic
		}
	})
}

// fuzzSeeds are small documents around the reader's edges.
var fuzzSeeds = []string{
	sampleDoc("utf-8", "<Monitoring/>"),
	sampleDoc("utf-16", ""),
	sampleDoc("windows-1252", ""),
	`<ManagementPack><Manifest><Identity><ID>A</ID><Version>1</Version></Identity></Manifest></ManagementPack>`,
	`<ManagementPack></ManagementPack>`,
	`<!DOCTYPE x [<!ENTITY a "b">]><ManagementPack/>`,
	"\xEF\xBB\xBF<ManagementPack/>",
	"\xFF\xFE<\x00M\x00",
	"\xFE\xFF\x00<\x00M",
	"MZ\x90\x00",
	"\xD0\xCF\x11\xE0",
	"<a><b></a>",
}

func FuzzReadManifest(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := pack.ReadManifest(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, pack.ErrMalformed) && !errors.Is(err, pack.ErrNotManagementPack) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrNotManagementPack", err)
			}
			return
		}
		if m.ID == "" {
			t.Fatalf("no error but an empty id")
		}
	})
}

func FuzzValidate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := pack.Validate(bytes.NewReader(b), pack.Expect{}, pack.Limits{MaxBytes: 1 << 20, MaxDepth: 32, MaxAttrs: 16})
		if err != nil {
			if !errors.Is(err, pack.ErrMalformed) && !errors.Is(err, pack.ErrNotManagementPack) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrNotManagementPack", err)
			}
			return
		}
		// A document Validate accepts has a manifest ReadManifest reads the same.
		r, err := pack.ReadManifest(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("Validate accepted what ReadManifest refuses: %v", err)
		}
		if r.ID != m.ID || r.Version != m.Version || len(r.References) != len(m.References) {
			t.Fatalf("Validate read %+v, ReadManifest read %+v", m, r)
		}
	})
}
