package pack

import (
	"encoding/binary"
	"fmt"
)

// This file walks the PE headers of a sealed pack (a .NET assembly) far
// enough to find its CLI header. It is written against the PE/COFF
// specification rather than debug/pe so that every refusal can name the
// offset that was wrong and nothing is allocated from an untrusted count.

// peImage is a PE file held in memory with its section table.
type peImage struct {
	data     []byte
	sections []peSection
	// cli is data directory 14, the CLI (COM descriptor) header.
	cliRVA, cliSize uint32
}

// peSection is one entry of the section table.
type peSection struct {
	name            string
	va, vsize       uint32
	rawOff, rawSize uint32
}

const (
	dosHeaderSize   = 64
	coffHeaderSize  = 20
	sectionHdrSize  = 40
	maxPESections   = 96 // the PE/COFF specification's limit
	cliDirectory    = 14
	pe32Magic       = 0x10b
	pe32PlusMagic   = 0x20b
	peSignatureSize = 4
)

// parsePE reads the DOS, COFF and optional headers and the section table,
// and checks that every section's raw data lies inside the file.
func parsePE(b []byte) (*peImage, error) {
	if len(b) < dosHeaderSize {
		return nil, malformedf("DOS header truncated: the file is %d bytes, the header needs %d", len(b), dosHeaderSize)
	}
	lfanew := uint64(le32(b, 0x3C))
	if lfanew+peSignatureSize+coffHeaderSize > uint64(len(b)) {
		return nil, malformedf("e_lfanew at offset 0x3c points to 0x%x, past the end of the %d-byte file", lfanew, len(b))
	}
	if string(b[lfanew:lfanew+4]) != "PE\x00\x00" {
		return nil, malformedf("no PE signature at offset 0x%x (named by e_lfanew)", lfanew)
	}
	coff := lfanew + peSignatureSize
	nsec := uint64(le16(b, coff+2))
	optSize := uint64(le16(b, coff+16))
	if nsec == 0 || nsec > maxPESections {
		return nil, malformedf("COFF header at 0x%x declares %d sections, want 1 to %d", coff, nsec, maxPESections)
	}
	opt := coff + coffHeaderSize
	if opt+optSize+nsec*sectionHdrSize > uint64(len(b)) {
		return nil, malformedf("optional header (%d bytes) and section table (%d sections) at 0x%x run past the end of the %d-byte file", optSize, nsec, opt, len(b))
	}
	img := &peImage{data: b}
	if err := img.readCLIDirectory(b[opt:opt+optSize], opt); err != nil {
		return nil, err
	}
	if err := img.readSections(b[opt+optSize:opt+optSize+nsec*sectionHdrSize], opt+optSize); err != nil {
		return nil, err
	}
	return img, nil
}

// readCLIDirectory finds data directory 14 in the optional header oh, which
// starts at file offset at.
func (img *peImage) readCLIDirectory(oh []byte, at uint64) error {
	if len(oh) < 2 {
		return malformedf("optional header at 0x%x is %d bytes, too short for its magic", at, len(oh))
	}
	var countAt uint64
	switch magic := le16(oh, 0); magic {
	case pe32Magic:
		countAt = 92
	case pe32PlusMagic:
		countAt = 108
	default:
		return malformedf("optional header at 0x%x has magic 0x%x, want 0x10b (PE32) or 0x20b (PE32+)", at, magic)
	}
	if countAt+4 > uint64(len(oh)) {
		return malformedf("optional header at 0x%x is %d bytes, too short for its data directories", at, len(oh))
	}
	count := uint64(le32(oh, countAt))
	dir := countAt + 4 + cliDirectory*8
	if count <= cliDirectory || dir+8 > uint64(len(oh)) {
		return notPackf("a PE file without a CLI header (it has %d data directories; a .NET assembly has 16): not a .NET assembly", count)
	}
	img.cliRVA, img.cliSize = le32(oh, dir), le32(oh, dir+4)
	if img.cliRVA == 0 || img.cliSize == 0 {
		return notPackf("a PE file whose CLI header directory (data directory 14, at offset 0x%x) is empty: not a .NET assembly", at+dir)
	}
	return nil
}

// readSections reads the section table st, which starts at file offset at.
func (img *peImage) readSections(st []byte, at uint64) error {
	for i := uint64(0); i < uint64(len(st))/sectionHdrSize; i++ {
		h := st[i*sectionHdrSize:]
		s := peSection{
			name:  cString(h[:8]),
			vsize: le32(h, 8), va: le32(h, 12),
			rawSize: le32(h, 16), rawOff: le32(h, 20),
		}
		if uint64(s.rawOff)+uint64(s.rawSize) > uint64(len(img.data)) {
			return malformedf("section %q (header at 0x%x) has raw data at 0x%x..0x%x, past the end of the %d-byte file",
				s.name, at+i*sectionHdrSize, s.rawOff, uint64(s.rawOff)+uint64(s.rawSize), len(img.data))
		}
		img.sections = append(img.sections, s)
	}
	return nil
}

// slice returns the size bytes at rva, which must lie inside the raw data
// of one section; what names the data in errors.
func (img *peImage) slice(rva, size uint32, what string) ([]byte, error) {
	for _, s := range img.sections {
		if rva < s.va || rva-s.va >= s.rawSize {
			continue
		}
		off := uint64(rva - s.va)
		if off+uint64(size) > uint64(s.rawSize) {
			return nil, malformedf("%s at RVA 0x%x (%d bytes) runs past the end of section %q (RVA 0x%x, %d bytes of data)",
				what, rva, size, s.name, s.va, s.rawSize)
		}
		start := uint64(s.rawOff) + off
		return img.data[start : start+uint64(size)], nil
	}
	return nil, malformedf("%s at RVA 0x%x (%d bytes) lies outside the data of every section", what, rva, size)
}

func le16(b []byte, off uint64) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func le32(b []byte, off uint64) uint32 { return binary.LittleEndian.Uint32(b[off:]) }

// cString is b up to its first NUL.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// malformedf is an error wrapping ErrMalformed for a corrupt sealed pack.
func malformedf(format string, args ...any) error {
	return fmt.Errorf("%w: sealed pack: "+format, append([]any{ErrMalformed}, args...)...)
}

// notPackf is an error wrapping ErrNotManagementPack for a PE file that is
// not a sealed pack.
func notPackf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNotManagementPack}, args...)...)
}
