package pack_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/pack"
)

// TestValidatorMatchesValidate writes edited packs (UTF-8, UTF-16, sealed)
// to a Validator in chunks of random sizes and checks that it returns what
// Validate returns reading them: the same manifest, or the same error.
func TestValidatorMatchesValidate(t *testing.T) {
	spec := packgen.Spec{ID: "Contoso.Stream", Version: pack.MustParseVersion("2.0.0.0"), TargetSize: 8 << 10}
	doc, err := spec.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := packgen.Seal(doc, packgen.SealOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(3, 16))
	want := pack.Expect{ID: "Contoso.Stream"}
	accepted, refused := 0, 0
	for i := range 600 {
		var in []byte
		switch i % 4 {
		case 0:
			in = doc
		case 1:
			in = mutate(rnd, doc)
		case 2:
			in = toUTF16(mutate(rnd, doc), i%8 == 2)
		case 3:
			in = sealed
			if i%8 == 3 {
				in = mutate(rnd, sealed)
			}
		}
		lim := pack.Limits{}
		if i%7 == 0 {
			lim.MaxBytes = int64(len(in)) - int64(rnd.IntN(2))
		}
		v := pack.NewValidator(want, lim)
		for rest := in; len(rest) > 0; {
			k := min(len(rest), 1+rnd.IntN(3000))
			if n, err := v.Write(rest[:k]); n != k || err != nil {
				t.Fatalf("case %d: Write = %d, %v", i, n, err)
			}
			rest = rest[k:]
		}
		got, gotErr := v.Close()
		exp, expErr := pack.Validate(bytes.NewReader(in), want, lim)
		if (gotErr == nil) != (expErr == nil) || gotErr != nil && gotErr.Error() != expErr.Error() {
			t.Fatalf("case %d: Validator: %v; Validate: %v", i, gotErr, expErr)
		}
		if gotErr == nil {
			accepted++
			if got.ID != exp.ID || got.Version != exp.Version || got.Sealed != exp.Sealed || got.PublicKeyToken != exp.PublicKeyToken {
				t.Fatalf("case %d: manifests differ: %+v and %+v", i, got, exp)
			}
		} else {
			refused++
		}
		if again, againErr := v.Close(); again.ID != got.ID || !errors.Is(againErr, gotErr) {
			t.Fatalf("case %d: a second Close returned %+v, %v", i, again, againErr)
		}
	}
	if accepted == 0 || refused == 0 {
		t.Fatalf("accepted %d, refused %d: both sides must be exercised", accepted, refused)
	}
}

// TestValidatorDiscardsAfterRefusal checks that writes after the document
// was refused neither block nor fail, and that Close reports the refusal.
func TestValidatorDiscardsAfterRefusal(t *testing.T) {
	v := pack.NewValidator(pack.Expect{}, pack.Limits{})
	if _, err := v.Write([]byte("<!DOCTYPE x><ManagementPack>")); err != nil {
		t.Fatal(err)
	}
	junk := bytes.Repeat([]byte("x"), 1<<20)
	for range 8 {
		if n, err := v.Write(junk); n != len(junk) || err != nil {
			t.Fatalf("Write after refusal = %d, %v", n, err)
		}
	}
	if _, err := v.Close(); !errors.Is(err, pack.ErrMalformed) {
		t.Fatalf("Close = %v, want ErrMalformed", err)
	}
}
