package pack

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

// This file reads the .resources format of System.Resources.ResourceWriter
// (the format of the ResourceReader in the .NET runtime, version 2): a
// header starting with the magic 0xBEEFCACE, a table of names and a data
// section. A sealed pack's XML is the entry named "ManagementPack" of such
// a file, embedded as a manifest resource (MPResources.resources in packs
// built by Microsoft's tools).

const (
	resourcesMagic = 0xBEEFCACE
	// packEntry is the name of the entry that holds the pack's XML.
	packEntry = "ManagementPack"
)

// Type codes of values in a version 2 .resources file.
const (
	rtString    = 0x01
	rtByteArray = 0x20
	rtStream    = 0x21
)

// isResourcesFile tells whether b starts with the .resources magic.
func isResourcesFile(b []byte) bool {
	return len(b) >= 4 && binary.LittleEndian.Uint32(b) == resourcesMagic
}

// resReader reads a .resources file with bounds checks; where names the
// file in errors.
type resReader struct {
	b     []byte
	p     uint64
	where string
}

func (r *resReader) fail(format string, args ...any) error {
	return malformedf("%s: "+format, append([]any{r.where}, args...)...)
}

func (r *resReader) u32(what string) (uint32, error) {
	if r.p+4 > uint64(len(r.b)) {
		return 0, r.fail("%s at offset %d runs past the end (%d bytes)", what, r.p, len(r.b))
	}
	v := binary.LittleEndian.Uint32(r.b[r.p:])
	r.p += 4
	return v, nil
}

// uvarint reads a 7-bit encoded int as BinaryWriter writes it: at most five
// bytes, fitting in 31 bits.
func (r *resReader) uvarint(what string) (uint32, error) {
	var v uint32
	for i := range 5 {
		if r.p >= uint64(len(r.b)) {
			return 0, r.fail("%s at offset %d runs past the end (%d bytes)", what, r.p, len(r.b))
		}
		c := r.b[r.p]
		r.p++
		if i == 4 && c > 0x07 {
			break // more than 31 bits
		}
		v |= uint32(c&0x7F) << (7 * i)
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, r.fail("%s at offset %d is not a valid 7-bit encoded length", what, r.p)
}

// bytes reads n bytes.
func (r *resReader) bytes(n uint64, what string) ([]byte, error) {
	if r.p+n > uint64(len(r.b)) {
		return nil, r.fail("%s of %d bytes at offset %d runs past the end (%d bytes)", what, n, r.p, len(r.b))
	}
	v := r.b[r.p : r.p+n]
	r.p += n
	return v, nil
}

// skipString skips a length-prefixed BinaryWriter string.
func (r *resReader) skipString(what string) error {
	n, err := r.uvarint(what + " length")
	if err == nil {
		_, err = r.bytes(uint64(n), what)
	}
	return err
}

// findResourceEntry returns the value of the entry called name in the
// .resources file b, and whether it was there. Each entry it looks at costs
// one unit of budget, shared by every resource of the pack: manifest rows at
// different offsets can point into one shared entry table, and without a
// budget for the whole file a hostile pack of a few hundred KB takes minutes.
func findResourceEntry(b []byte, name, where string, budget *uint64) ([]byte, bool, error) {
	r := &resReader{b: b, where: where}
	count, err := r.readHeader()
	if err != nil {
		return nil, false, err
	}
	// The name hashes come first, then the names' positions, then the data
	// section's offset; the names follow.
	hashes := r.p
	positions := hashes + 4*uint64(count)
	r.p = positions + 4*uint64(count)
	dataSection, err := r.u32("data section offset")
	if err != nil {
		return nil, false, err
	}
	names := r.p
	want := utf16le(name)
	for i := range uint64(count) {
		if *budget == 0 {
			return nil, false, r.fail("more .resources entries than the file's resources directory can hold (%d looked at): resources overlap", i)
		}
		*budget--
		r.p = positions + 4*i
		pos, _ := r.u32("name position") // in bounds: readHeader checked
		r.p = names + uint64(pos)
		// The messages name the entry only on failure: building them for
		// every entry costs more than reading it.
		n, err := r.uvarint("an entry's name length")
		if err != nil {
			return nil, false, fmt.Errorf("entry %d: %w", i, err)
		}
		got, err := r.bytes(uint64(n), "an entry's name")
		if err != nil {
			return nil, false, fmt.Errorf("entry %d: %w", i, err)
		}
		dataOff, err := r.u32("an entry's data offset")
		if err != nil {
			return nil, false, fmt.Errorf("entry %d: %w", i, err)
		}
		if bytes.Equal(got, want) {
			r.p = uint64(dataSection) + uint64(dataOff)
			v, err := r.value(name)
			return v, err == nil, err
		}
	}
	return nil, false, nil
}

// readHeader reads the resource manager header and the resource reader
// header up to the name hashes, and returns the number of entries.
func (r *resReader) readHeader() (uint32, error) {
	if m, err := r.u32("magic"); err != nil || m != resourcesMagic {
		return 0, r.fail("no .resources magic 0xBEEFCACE at offset 0")
	}
	if _, err := r.u32("header version"); err != nil {
		return 0, err
	}
	// The reader and resource set type names follow, in skip bytes.
	skip, err := r.u32("header length")
	if err != nil {
		return 0, err
	}
	if _, err := r.bytes(uint64(skip), "reader type names"); err != nil {
		return 0, err
	}
	if v, err := r.u32("format version"); err != nil {
		return 0, err
	} else if v != 2 {
		return 0, r.fail("format version %d is not supported (want 2, as .NET 2.0 and later write)", v)
	}
	count, err := r.u32("entry count")
	if err != nil {
		return 0, err
	}
	types, err := r.u32("type count")
	if err != nil {
		return 0, err
	}
	for i := range types {
		if err := r.skipString(fmt.Sprintf("type name %d", i)); err != nil {
			return 0, err
		}
	}
	// Padding ("PAD...") aligns the name hashes to eight bytes.
	r.p = (r.p + 7) &^ 7
	if need := r.p + 8*uint64(count) + 4; need > uint64(len(r.b)) {
		return 0, r.fail("%d entries need %d bytes of name hashes and positions at offset %d, past the end (%d bytes)", count, 8*uint64(count), r.p, len(r.b))
	}
	return count, nil
}

// value reads a value at r.p: a type code, then a byte array or stream
// (four-byte length and bytes) or a string (7-bit length and UTF-8).
func (r *resReader) value(name string) ([]byte, error) {
	code, err := r.uvarint("entry " + name + "'s type code")
	if err != nil {
		return nil, err
	}
	switch code {
	case rtByteArray, rtStream:
		n, err := r.u32("entry " + name + "'s length")
		if err != nil {
			return nil, err
		}
		return r.bytes(uint64(n), "entry "+name)
	case rtString:
		n, err := r.uvarint("entry " + name + "'s length")
		if err != nil {
			return nil, err
		}
		return r.bytes(uint64(n), "entry "+name)
	}
	return nil, r.fail("entry %s has type code 0x%x; want a byte array (0x20), a stream (0x21) or a string (0x01)", name, code)
}

// utf16le encodes s as UTF-16LE, as .resources names are stored.
func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}
