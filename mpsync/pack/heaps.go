package pack

import "fmt"

// This file reads the #Strings and #Blob heaps (ECMA-335 II.24.2.3 and
// II.24.2.4) by index.

// maxHeapString bounds a name read from #Strings, so that a heap without
// NUL bytes is not scanned to its end for every name.
const maxHeapString = 4096

// heapString returns the NUL-terminated UTF-8 string at index i of #Strings.
func (md *metadata) heapString(i uint32, what string) (string, error) {
	if uint64(i) >= uint64(len(md.strings)) {
		return "", malformedf("%s: #Strings index %d is past the heap (%d bytes)", what, i, len(md.strings))
	}
	s := md.strings[i:]
	for j := 0; j < len(s) && j < maxHeapString; j++ {
		if s[j] == 0 {
			return string(s[:j]), nil
		}
	}
	return "", malformedf("%s: #Strings index %d: no NUL within %d bytes", what, i, min(len(s), maxHeapString))
}

// heapBlob returns the blob at index i of #Blob: a compressed length
// (II.23.2: one, two or four bytes) followed by that many bytes.
func (md *metadata) heapBlob(i uint32, what string) ([]byte, error) {
	if i == 0 {
		return nil, nil // index 0 is the empty blob
	}
	if uint64(i) >= uint64(len(md.blob)) {
		return nil, malformedf("%s: #Blob index %d is past the heap (%d bytes)", what, i, len(md.blob))
	}
	n, hdr, err := compressedUint(md.blob[i:])
	if err != nil {
		return nil, malformedf("%s: #Blob index %d: %v", what, i, err)
	}
	start := uint64(i) + uint64(hdr)
	if start+uint64(n) > uint64(len(md.blob)) {
		return nil, malformedf("%s: #Blob index %d declares %d bytes, past the heap (%d bytes)", what, i, n, len(md.blob))
	}
	return md.blob[start : start+uint64(n)], nil
}

// compressedUint decodes an ECMA-335 compressed unsigned integer and
// returns it with the number of bytes it took.
func compressedUint(b []byte) (uint32, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("length prefix missing")
	}
	switch {
	case b[0]&0x80 == 0:
		return uint32(b[0]), 1, nil
	case b[0]&0xC0 == 0x80:
		if len(b) < 2 {
			return 0, 0, fmt.Errorf("two-byte length prefix truncated")
		}
		return uint32(b[0]&0x3F)<<8 | uint32(b[1]), 2, nil
	case b[0]&0xE0 == 0xC0:
		if len(b) < 4 {
			return 0, 0, fmt.Errorf("four-byte length prefix truncated")
		}
		return uint32(b[0]&0x1F)<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), 4, nil
	}
	return 0, 0, fmt.Errorf("length prefix 0x%02x is not a compressed integer", b[0])
}
