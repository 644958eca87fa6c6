package wire

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 2, 18, 33, 30, 564115605, time.FixedZone("x", 3600))
	var e Encoder
	e.Uint(0)
	e.Uint(math.MaxUint64)
	e.Uint(math.MaxUint32)
	e.Int(math.MinInt64)
	e.Int(-1)
	e.Bool(true)
	e.Bool(false)
	e.Byte(7)
	e.String("")
	e.String("Microsoft.SystemCenter.Library")
	e.Time(at)
	e.Time(time.Time{})
	d := NewDecoder(e.Bytes())
	assert.Equal(t, uint64(0), d.Uint())
	assert.Equal(t, uint64(math.MaxUint64), d.Uint())
	assert.Equal(t, uint32(math.MaxUint32), d.Uint32())
	assert.Equal(t, int64(math.MinInt64), d.Int())
	assert.Equal(t, int64(-1), d.Int())
	assert.True(t, d.Bool())
	assert.False(t, d.Bool())
	assert.Equal(t, byte(7), d.Byte())
	assert.Equal(t, "", d.String())
	assert.Equal(t, "Microsoft.SystemCenter.Library", d.String())
	got := d.Time()
	assert.True(t, got.Equal(at))
	assert.Equal(t, time.UTC, got.Location())
	assert.Equal(t, time.Time{}, d.Time(), "the zero time comes back as the zero value")
	require.NoError(t, d.Finish())
}

func TestDamagedInput(t *testing.T) {
	var e Encoder
	e.String("hello")
	e.Uint(1 << 40)
	full := e.Bytes()
	for n := range len(full) {
		d := NewDecoder(full[:n])
		_ = d.String()
		_ = d.Uint()
		require.ErrorIs(t, d.Finish(), ErrMalformed, "truncated at %d", n)
	}

	d := NewDecoder(full)
	_ = d.String()
	assert.Zero(t, d.Uint32())
	assert.ErrorContains(t, d.Err(), "overflows 32 bits")

	d = NewDecoder([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	d.Uint()
	assert.ErrorContains(t, d.Err(), "overflows 64 bits")

	d = NewDecoder([]byte{2})
	d.Bool()
	assert.ErrorContains(t, d.Err(), "neither 0 nor 1")

	d = NewDecoder([]byte{100, 'a'})
	assert.Equal(t, "", d.String())
	assert.ErrorContains(t, d.Err(), "longer than the rest")
	assert.Equal(t, "", d.String(), "reads after a failure return zero values")

	d = NewDecoder([]byte{200, 1, 0, 0})
	assert.Zero(t, d.Count(1))
	assert.ErrorContains(t, d.Err(), "more than the rest can hold")

	d = NewDecoder([]byte{2, 0, 0})
	assert.Equal(t, 2, d.Count(1))
	require.NoError(t, d.Err())

	e = Encoder{}
	e.Int(0)
	e.Uint(1e9)
	d = NewDecoder(e.Bytes())
	d.Time()
	assert.ErrorContains(t, d.Err(), "nanoseconds")

	d = NewDecoder([]byte{1, 2})
	d.Byte()
	assert.ErrorContains(t, d.Finish(), "1 bytes left over")
}

func TestDecoderCopiesItsInput(t *testing.T) {
	var e Encoder
	e.String("abc")
	b := e.Bytes()
	d := NewDecoder(b)
	b[1] = 'x'
	assert.Equal(t, "abc", d.String())
}
