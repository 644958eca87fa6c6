package pack

import (
	"io"
	"math/rand/v2"
	"testing"
)

// unitByUnit is utf16Check as it was before its fast path: every unit
// through unit.
func unitByUnit(b []byte, big bool) error {
	c := &utf16Check{}
	bom := []byte{0xFF, 0xFE}
	if big {
		bom = []byte{0xFE, 0xFF}
	}
	all := append(bom, b...)
	for len(all) >= 2 {
		if err := c.unit(all[:2]); err != nil {
			return err
		}
		all = all[2:]
	}
	switch {
	case len(all) > 0:
		return errString("odd")
	case c.high:
		return errString("high")
	}
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }

// chunked reads b through utf16Check in reads of random sizes.
type chunked struct {
	b   []byte
	rnd *rand.Rand
}

func (r *chunked) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(r.b), 1+r.rnd.IntN(9))
	copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}

// TestUTF16CheckFastPath: the tight loop over units that are not
// surrogates refuses exactly the texts, with the same message, that
// checking every unit refuses, whatever the read sizes.
func TestUTF16CheckFastPath(t *testing.T) {
	rnd := rand.New(rand.NewPCG(16, 16))
	units := []uint16{'a', ' ', 0x00E9, 0x3000, 0xD7FF, 0xE000, 0xFFFF, 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xD834, 0xDD1E}
	for i := range 20_000 {
		big := i%2 == 0
		var b []byte
		for range rnd.IntN(24) {
			u := units[rnd.IntN(len(units))]
			if rnd.IntN(3) > 0 {
				u = units[rnd.IntN(3)]
			}
			if big {
				b = append(b, byte(u>>8), byte(u))
			} else {
				b = append(b, byte(u), byte(u>>8))
			}
		}
		if rnd.IntN(10) == 0 {
			b = append(b, 'x') // an odd byte at the end
		}
		want := unitByUnit(b, big)
		bom := []byte{0xFF, 0xFE}
		if big {
			bom = []byte{0xFE, 0xFF}
		}
		c := &utf16Check{r: &chunked{b: append(bom, b...), rnd: rnd}}
		_, got := io.ReadAll(c)
		switch {
		case want == nil && got != nil, want != nil && got == nil:
			t.Fatalf("case %d %x: fast %v, unit by unit %v", i, b, got, want)
		case want != nil && want.Error() != "odd" && want.Error() != "high" && got.Error() != want.Error():
			t.Fatalf("case %d %x: fast %q, unit by unit %q", i, b, got, want)
		}
	}
}
