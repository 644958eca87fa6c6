package packgen

// This file writes the PE file around a sealed pack's metadata and
// resource: a DOS header, PE32 or PE32+ headers whose data directory 14
// names the CLI header, and one .text section holding the CLI header, the
// resources directory and the metadata.

const (
	fileAlign    = 0x200
	sectionAlign = 0x2000
	textRVA      = 0x2000
	lfanew       = 0x80
)

func align(n, a int) int { return (n + a - 1) / a * a }

// writePE assembles the file. res is the manifest resource's data; entry
// is the offset of the ManagementPack entry in it (-1 for none) and
// payloadLen the stored payload's length at its end.
func writePE(a assembly, res []byte, entry, payloadLen int, opts SealOptions) ([]byte, SealLayout, error) {
	md, tablesAt, resRowAt := metadataBlob(a, opts)

	// .text: CLI header, resources directory (length-prefixed resource),
	// metadata, each eight-byte aligned.
	const cliAt = 0
	resAt := align(cliAt+72, 8)
	mdAt := align(resAt+4+len(res), 8)
	text := make([]byte, mdAt+len(md))
	cli := le32(nil, 72)
	cli = le16(cli, 2)
	cli = le16(cli, 5)
	cli = le32(cli, uint32(textRVA+mdAt))
	cli = le32(cli, uint32(len(md)))
	cli = le32(cli, 0x1) // COMIMAGE_FLAGS_ILONLY
	cli = le32(cli, 0)   // no entry point
	cli = le32(cli, uint32(textRVA+resAt))
	cli = le32(cli, uint32(4+len(res)))
	copy(text[cliAt:], cli) // the remaining directories stay zero
	copy(text[resAt:], le32(nil, uint32(len(res))))
	copy(text[resAt+4:], res)
	copy(text[mdAt:], md)

	optSize := 0xE0
	if opts.PE32Plus {
		optSize = 0xF0
	}
	sectionsAt := lfanew + 4 + 20 + optSize
	headers := align(sectionsAt+40, fileAlign)
	rawSize := align(len(text), fileAlign)
	out := make([]byte, headers+rawSize)

	dos := le16(nil, 0x5A4D) // MZ
	copy(out, dos)
	copy(out[0x3C:], le32(nil, lfanew))
	copy(out[0x40:], "This program cannot be run in DOS mode.\r\r\n$")

	imageSize := align(textRVA+len(text), sectionAlign)
	h := []byte("PE\x00\x00")
	machine, characteristics := uint16(0x14C), uint16(0x2102) // i386; executable, 32-bit, DLL
	if opts.PE32Plus {
		machine, characteristics = 0x8664, 0x2022 // AMD64; executable, large address aware, DLL
	}
	h = le16(h, machine)
	h = le16(h, 1) // sections
	h = le32(h, 0) // time stamp: deterministic output
	h = le32(h, 0) // no symbol table
	h = le32(h, 0)
	h = le16(h, uint16(optSize))
	h = le16(h, characteristics)
	h = optionalHeader(h, opts.PE32Plus, rawSize, imageSize, headers)
	cliDir := len(h) - 16*8 + 14*8
	h = h[:cliDir]
	h = le32(h, textRVA+cliAt)
	h = le32(h, 72)
	h = append(h, make([]byte, 8)...) // directory 15, reserved
	// Section table: .text.
	name := [8]byte{'.', 't', 'e', 'x', 't'}
	h = append(h, name[:]...)
	h = le32(h, uint32(len(text)))
	h = le32(h, textRVA)
	h = le32(h, uint32(rawSize))
	h = le32(h, uint32(headers))
	h = append(h, make([]byte, 12)...) // relocations, line numbers
	h = le32(h, 0x60000020)            // code, execute, read
	copy(out[lfanew:], h)
	copy(out[headers:], text)

	textOff := headers
	l := SealLayout{
		CLIDirectory: lfanew + cliDir,
		CLIHeader:    textOff + cliAt,
		Resources:    textOff + resAt,
		Entry:        -1,
		Payload:      textOff + resAt + 4 + len(res) - payloadLen,
		PayloadLen:   payloadLen,
		Metadata:     textOff + mdAt,
		Tables:       textOff + mdAt + tablesAt,
		Sections:     sectionsAt,
	}
	l.ManifestResourceRow = textOff + mdAt + resRowAt
	if entry >= 0 {
		l.Entry = textOff + resAt + 4 + entry
	}
	return out, l, nil
}

// optionalHeader appends a PE32 or PE32+ optional header with 16 empty
// data directories.
func optionalHeader(h []byte, plus bool, codeSize, imageSize, headers int) []byte {
	magic := uint16(0x10B)
	if plus {
		magic = 0x20B
	}
	h = le16(h, magic)
	h = append(h, 8, 0) // linker version
	h = le32(h, uint32(codeSize))
	h = le32(h, 0) // initialized data
	h = le32(h, 0) // uninitialized data
	h = le32(h, 0) // entry point: none, a resource-only DLL
	h = le32(h, textRVA)
	if plus {
		h = binary64(h, 0x180000000)
	} else {
		h = le32(h, 0) // base of data
		h = le32(h, 0x400000)
	}
	h = le32(h, sectionAlign)
	h = le32(h, fileAlign)
	h = le16(h, 4) // OS version
	h = le16(h, 0)
	h = le32(h, 0) // image version
	h = le16(h, 4) // subsystem version
	h = le16(h, 0)
	h = le32(h, 0) // Win32VersionValue
	h = le32(h, uint32(imageSize))
	h = le32(h, uint32(headers))
	h = le32(h, 0) // checksum
	h = le16(h, 3) // Windows console subsystem
	h = le16(h, 0x8540)
	for range 4 { // stack and heap reserve and commit
		if plus {
			h = binary64(h, 0x100000)
		} else {
			h = le32(h, 0x100000)
		}
	}
	h = le32(h, 0)  // loader flags
	h = le32(h, 16) // data directories
	return append(h, make([]byte, 16*8)...)
}
