package pack

import (
	"fmt"
	"io"
)

// utf16Check passes UTF-16 text (starting with its byte-order mark)
// through unchanged and fails on what a decoder would silently replace
// with U+FFFD: a lone surrogate, or an odd byte at the end.
//
// Regression (issue 15, point 6): UTF-16 with lone surrogates was
// accepted, the surrogates read as U+FFFD, so two different files could
// declare the same text.
type utf16Check struct {
	r     io.Reader
	big   bool // set from the byte-order mark
	off   int64
	carry []byte // an odd byte left from the last read
	high  bool   // the last unit was a high surrogate
	high0 int64  // its offset
}

func (c *utf16Check) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if cerr := c.check(p[:n]); cerr != nil {
		return 0, cerr
	}
	if err == io.EOF {
		switch {
		case len(c.carry) > 0:
			return 0, fmt.Errorf("%w: UTF-16 text ends with an odd byte at offset %d", ErrMalformed, c.off)
		case c.high:
			return 0, fmt.Errorf("%w: UTF-16 text has a lone high surrogate at offset %d", ErrMalformed, c.high0)
		}
	}
	return n, err
}

func (c *utf16Check) check(b []byte) error {
	if len(c.carry) > 0 && len(b) > 0 {
		unit := append(c.carry, b[0])
		c.carry = nil
		if err := c.unit(unit); err != nil {
			return err
		}
		b = b[1:]
	}
	for len(b) >= 2 {
		if c.off != 0 && !c.high {
			// Most units are not surrogates: skip them in a tight loop
			// (the high byte of a surrogate is D8 to DF).
			hi, i := 1, 0
			if c.big {
				hi = 0
			}
			for i+1 < len(b) && (b[i+hi] < 0xD8 || b[i+hi] > 0xDF) {
				i += 2
			}
			c.off += int64(i)
			b = b[i:]
			if len(b) < 2 {
				break
			}
		}
		if err := c.unit(b[:2]); err != nil {
			return err
		}
		b = b[2:]
	}
	if len(b) == 1 {
		c.carry = []byte{b[0]}
	}
	return nil
}

func (c *utf16Check) unit(b []byte) error {
	off := c.off
	c.off += 2
	if off == 0 {
		// The byte-order mark, FE FF or FF FE: newDecoder saw one.
		c.big = b[0] == 0xFE
		return nil
	}
	u := uint16(b[0]) | uint16(b[1])<<8
	if c.big {
		u = uint16(b[0])<<8 | uint16(b[1])
	}
	switch {
	case u >= 0xD800 && u <= 0xDBFF:
		if c.high {
			return fmt.Errorf("%w: UTF-16 text has a lone high surrogate at offset %d", ErrMalformed, c.high0)
		}
		c.high, c.high0 = true, off
	case u >= 0xDC00 && u <= 0xDFFF:
		if !c.high {
			return fmt.Errorf("%w: UTF-16 text has a lone low surrogate at offset %d", ErrMalformed, off)
		}
		c.high = false
	default:
		if c.high {
			return fmt.Errorf("%w: UTF-16 text has a lone high surrogate at offset %d", ErrMalformed, c.high0)
		}
	}
	return nil
}
