// Package wire writes and reads the compact binary records that replace
// JSON where a record is decoded on every start of the command: the
// directory store's index entries and the workspace client's catalog cache.
// A record is a sequence of unsigned varints, zig-zag signed varints and
// strings (a length, then the bytes); the layout is the caller's.
//
// Decoding JSON cost about 10 µs per index entry (10 ms for 1,000 packs on
// every start); a [Decoder] copies its input once into a string and
// returns every string as a slice of it, so a record decodes with a few
// allocations. A Decoder never panics on damaged input: the first problem
// is kept and returned by [Decoder.Err] and [Decoder.Finish], naming the
// offset.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrMalformed is wrapped by every error a [Decoder] returns.
var ErrMalformed = errors.New("malformed record")

// Encoder appends values to a byte slice. The zero value is ready to use.
type Encoder struct {
	b []byte
}

// NewEncoder returns an Encoder that appends to buf (which may be nil).
func NewEncoder(buf []byte) *Encoder { return &Encoder{b: buf} }

// Uint appends v as an unsigned varint.
func (e *Encoder) Uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }

// Int appends v as a zig-zag signed varint.
func (e *Encoder) Int(v int64) { e.b = binary.AppendVarint(e.b, v) }

// Bool appends v as one byte.
func (e *Encoder) Bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// Byte appends one byte.
func (e *Encoder) Byte(v byte) { e.b = append(e.b, v) }

// String appends s as its length and its bytes.
func (e *Encoder) String(s string) {
	e.Uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// Raw appends b as it is, without a length.
func (e *Encoder) Raw(b []byte) { e.b = append(e.b, b...) }

// Time appends t as seconds since 1970 and nanoseconds, dropping its
// location and monotonic reading: [Decoder.Time] returns it in UTC.
func (e *Encoder) Time(t time.Time) {
	e.Int(t.Unix())
	e.Uint(uint64(t.Nanosecond()))
}

// Bytes returns what was appended.
func (e *Encoder) Bytes() []byte { return e.b }

// Decoder reads values from a record. Once a read fails, every later read
// returns the zero value and [Decoder.Err] the first failure.
type Decoder struct {
	s   string
	off int
	err error
}

// NewDecoder returns a Decoder over a copy of b: the strings it returns
// share that one copy, not b.
func NewDecoder(b []byte) *Decoder { return &Decoder{s: string(b)} }

func (d *Decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d of %d", ErrMalformed, what, d.off, len(d.s))
	}
}

// Uint reads an unsigned varint.
func (d *Decoder) Uint() uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	var shift uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.off >= len(d.s) {
			d.fail("truncated number")
			return 0
		}
		c := d.s[d.off]
		d.off++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				d.fail("number overflows 64 bits")
				return 0
			}
			return v | uint64(c)<<shift
		}
		v |= uint64(c&0x7f) << shift
		shift += 7
	}
	d.fail("number overflows 64 bits")
	return 0
}

// Uint32 reads an unsigned varint that must fit in 32 bits.
func (d *Decoder) Uint32() uint32 {
	v := d.Uint()
	if v > math.MaxUint32 {
		d.fail(fmt.Sprintf("number %d overflows 32 bits", v))
		return 0
	}
	return uint32(v)
}

// Int reads a zig-zag signed varint.
func (d *Decoder) Int() int64 {
	u := d.Uint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// Bool reads a byte that must be 0 or 1.
func (d *Decoder) Bool() bool {
	switch d.Byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("boolean is neither 0 nor 1")
	return false
}

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.s) {
		d.fail("truncated record")
		return 0
	}
	c := d.s[d.off]
	d.off++
	return c
}

// String reads a length and that many bytes.
func (d *Decoder) String() string {
	n := d.Uint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)-d.off) {
		d.fail(fmt.Sprintf("string of %d bytes is longer than the rest", n))
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

// Count reads a number of items that follow, each at least min bytes long
// (min >= 1), and fails when the rest of the record cannot hold them: a
// damaged count never makes the caller allocate more than the record's
// size.
func (d *Decoder) Count(min int) int {
	n := d.Uint()
	if d.err != nil {
		return 0
	}
	if n > uint64((len(d.s)-d.off)/max(min, 1)) {
		d.fail(fmt.Sprintf("count %d is more than the rest can hold", n))
		return 0
	}
	return int(n)
}

// Time reads what [Encoder.Time] wrote, in UTC.
func (d *Decoder) Time() time.Time {
	sec := d.Int()
	nsec := d.Uint()
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= 1e9 {
		d.fail(fmt.Sprintf("nanoseconds %d out of range", nsec))
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// Fail records a problem the caller found in a value it read (a value out
// of its range): it becomes the Decoder's failure unless one came first.
func (d *Decoder) Fail(what string) { d.fail(what) }

// Err returns the first failure, nil when every read succeeded.
func (d *Decoder) Err() error { return d.err }

// Finish returns the first failure, or an error when bytes are left over.
func (d *Decoder) Finish() error {
	if d.err == nil && d.off != len(d.s) {
		d.fail(fmt.Sprintf("%d bytes left over", len(d.s)-d.off))
	}
	return d.err
}

// Rest returns the bytes not read yet.
func (d *Decoder) Rest() int { return len(d.s) - d.off }
