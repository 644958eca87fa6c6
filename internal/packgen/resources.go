package packgen

import (
	"encoding/binary"
	"unicode/utf16"
)

// resourcesFile writes a version 2 .resources file, as .NET's
// ResourceWriter does, with one entry, ManagementPack, holding payload as a
// byte array. It returns the file and the offset of the entry's value.
func resourcesFile(payload []byte) ([]byte, int) {
	const readerTypes = "System.Resources.ResourceReader, mscorlib, Version=2.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089"
	const setType = "System.Resources.RuntimeResourceSet"
	var types []byte
	types = appendString(types, readerTypes)
	types = appendString(types, setType)

	b := le32(nil, 0xBEEFCACE)
	b = le32(b, 1) // resource manager header version
	b = le32(b, uint32(len(types)))
	b = append(b, types...)
	b = le32(b, 2) // reader format version
	b = le32(b, 1) // entries
	b = le32(b, 0) // types: none, byte arrays have a built-in type code
	for i := 0; len(b)%8 != 0; i++ {
		b = append(b, "PAD"[i%3])
	}
	name := utf16le("ManagementPack")
	b = le32(b, nameHash("ManagementPack"))
	b = le32(b, 0) // the name's position in the name section
	dataSection := len(b) + 4 + uvarintLen(len(name)) + len(name) + 4
	b = le32(b, uint32(dataSection))
	b = appendUvarint(b, len(name))
	b = append(b, name...)
	b = le32(b, 0) // the value's offset in the data section
	entry := len(b)
	b = appendUvarint(b, 0x20) // byte array
	b = le32(b, uint32(len(payload)))
	b = append(b, payload...)
	return b, entry
}

// nameHash is the hash ResourceWriter stores for a name (FastResourceComparer:
// djb2 variant over UTF-16 code units). Readers may use it to search; the
// mpsync reader compares names instead.
func nameHash(s string) uint32 {
	h := uint32(5381)
	for _, u := range utf16.Encode([]rune(s)) {
		h = ((h << 5) + h) ^ uint32(u)
	}
	return h
}

func le32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func le16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = le16(b, u)
	}
	return b
}

// appendString appends a BinaryWriter string: 7-bit encoded length, UTF-8.
func appendString(b []byte, s string) []byte { return append(appendUvarint(b, len(s)), s...) }

// appendUvarint appends n 7 bits at a time, low first, as BinaryWriter does.
func appendUvarint(b []byte, n int) []byte {
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(b, byte(n))
}

func uvarintLen(n int) int { return len(appendUvarint(nil, n)) }
