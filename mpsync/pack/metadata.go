package pack

import (
	"fmt"
	"math/bits"
)

// This file reads the CLI header and the metadata of a .NET assembly
// (ECMA-335 partition II, sections 24 and 25): the metadata root, its
// streams, and the #~ tables stream as far as the Assembly (0x20) and
// ManifestResource (0x28) tables.

// cliHeader is what the reader uses of the CLI header (II.25.3.3).
type cliHeader struct {
	metadataRVA, metadataSize   uint32
	resourcesRVA, resourcesSize uint32
}

const cliHeaderSize = 72

func readCLIHeader(img *peImage) (cliHeader, error) {
	if img.cliSize < cliHeaderSize {
		return cliHeader{}, malformedf("CLI header directory says %d bytes, a CLI header is %d", img.cliSize, cliHeaderSize)
	}
	b, err := img.slice(img.cliRVA, cliHeaderSize, "CLI header")
	if err != nil {
		return cliHeader{}, err
	}
	h := cliHeader{
		metadataRVA: le32(b, 8), metadataSize: le32(b, 12),
		resourcesRVA: le32(b, 24), resourcesSize: le32(b, 28),
	}
	if h.metadataRVA == 0 || h.metadataSize == 0 {
		return h, malformedf("CLI header at RVA 0x%x has no metadata directory", img.cliRVA)
	}
	return h, nil
}

// metadata is the parsed metadata of an assembly: its heaps and the
// positions of the tables the reader needs.
type metadata struct {
	strings, blob []byte
	wideStrings   bool // #Strings indexes are 4 bytes
	wideGUID      bool
	wideBlob      bool
	rows          [64]uint32
	// tables holds the rows of every table, from the first table on.
	tables []byte
	// start is the offset in tables of each table's first row, for the
	// tables up to and including ManifestResource.
	start [tManifestResource + 1]uint64
}

// readMetadata parses the metadata root (II.24.2.1) at the CLI header's
// metadata directory and its #~, #Strings and #Blob streams.
func readMetadata(img *peImage, h cliHeader) (*metadata, error) {
	root, err := img.slice(h.metadataRVA, h.metadataSize, "metadata")
	if err != nil {
		return nil, err
	}
	streams, err := readStreamHeaders(root, h.metadataRVA)
	if err != nil {
		return nil, err
	}
	md := &metadata{strings: streams["#Strings"], blob: streams["#Blob"]}
	tables, ok := streams["#~"]
	if !ok {
		// #- is the uncompressed form some compilers write; its layout is
		// the same for the tables read here.
		tables, ok = streams["#-"]
	}
	if !ok {
		return nil, malformedf("metadata at RVA 0x%x has no #~ tables stream", h.metadataRVA)
	}
	if err := md.readTablesHeader(tables); err != nil {
		return nil, err
	}
	return md, nil
}

// readStreamHeaders checks the metadata root's signature and returns its
// streams by name, each bounded by the metadata.
func readStreamHeaders(root []byte, rva uint32) (map[string][]byte, error) {
	if len(root) < 16 || string(root[:4]) != "BSJB" {
		return nil, malformedf("no metadata signature BSJB at RVA 0x%x", rva)
	}
	verLen := uint64(le32(root, 12))
	p := 16 + verLen
	if verLen > 255 || p+4 > uint64(len(root)) {
		return nil, malformedf("metadata root at RVA 0x%x: version string of %d bytes runs past the metadata (%d bytes)", rva, verLen, len(root))
	}
	n := int(le16(root, p+2))
	p += 4
	streams := make(map[string][]byte, n)
	for i := range n {
		if p+8 > uint64(len(root)) {
			return nil, malformedf("metadata root at RVA 0x%x: stream header %d at offset %d runs past the metadata", rva, i, p)
		}
		off, size := uint64(le32(root, p)), uint64(le32(root, p+4))
		name, next, err := streamName(root, p+8)
		if err != nil {
			return nil, malformedf("metadata root at RVA 0x%x: stream header %d: %v", rva, i, err)
		}
		if off+size > uint64(len(root)) {
			return nil, malformedf("metadata stream %s at offset %d (%d bytes) runs past the metadata (%d bytes)", name, off, size, len(root))
		}
		streams[name] = root[off : off+size]
		p = next
	}
	return streams, nil
}

// streamName reads a stream header's name: NUL-terminated ASCII, padded to
// four bytes, at most 32 bytes. It returns the offset after the padding.
func streamName(root []byte, p uint64) (string, uint64, error) {
	for i := p; i < uint64(len(root)) && i < p+32; i++ {
		if root[i] == 0 {
			next := (i + 1 + 3) &^ 3
			return string(root[p:i]), next, nil
		}
	}
	return "", 0, fmt.Errorf("stream name at offset %d is not terminated within 32 bytes", p)
}

// Table numbers (II.22) the reader refers to by name.
const (
	tField            = 0x04
	tMethodDef        = 0x06
	tParam            = 0x08
	tEvent            = 0x14
	tProperty         = 0x17
	tModuleRef        = 0x1A
	tAssembly         = 0x20
	tAssemblyRef      = 0x23
	tManifestResource = 0x28
	tGenericParam     = 0x2A
	tTypeDef          = 0x02
)

// Heap size flags of the #~ header (II.24.2.6). extraData is not in
// ECMA-335; the runtime reads it as "four more bytes follow the row counts".
const (
	heapWideStrings = 0x01
	heapWideGUID    = 0x02
	heapWideBlob    = 0x04
	heapExtraData   = 0x40
)

// readTablesHeader reads the #~ header: heap sizes, the present tables and
// their row counts, then the offset of every table up to ManifestResource.
func (md *metadata) readTablesHeader(s []byte) error {
	if len(s) < 24 {
		return malformedf("#~ stream is %d bytes, its header needs 24", len(s))
	}
	heaps := s[6]
	md.wideStrings, md.wideGUID, md.wideBlob = heaps&heapWideStrings != 0, heaps&heapWideGUID != 0, heaps&heapWideBlob != 0
	valid := uint64(le32(s, 8)) | uint64(le32(s, 12))<<32
	p := uint64(24)
	if need := p + 4*uint64(bits.OnesCount64(valid)); need > uint64(len(s)) {
		return malformedf("#~ stream is %d bytes, its %d row counts need %d", len(s), bits.OnesCount64(valid), need)
	}
	for t := range 64 {
		if valid&(1<<t) != 0 {
			md.rows[t] = le32(s, p)
			p += 4
		}
	}
	if heaps&heapExtraData != 0 {
		p += 4
	}
	if p > uint64(len(s)) {
		return malformedf("#~ stream is %d bytes, its header needs %d", len(s), p)
	}
	md.tables = s[p:]
	return md.layOut()
}

// layOut computes where each table up to ManifestResource starts. Every
// table before it must be sized, since rows are stored back to back and a
// row's width depends on heap sizes and on other tables' row counts.
func (md *metadata) layOut() error {
	var off uint64
	for t := 0; t <= tManifestResource; t++ {
		md.start[t] = off
		off += uint64(md.rowSize(t)) * uint64(md.rows[t])
		if off > uint64(len(md.tables)) {
			return malformedf("metadata table 0x%02x (%d rows of %d bytes) ends at offset %d of the #~ tables, which hold %d bytes",
				t, md.rows[t], md.rowSize(t), off, len(md.tables))
		}
	}
	return nil
}

// row returns row i (0-based) of table t as a cursor over its columns.
func (md *metadata) row(t int, i uint32) *rowCursor {
	at := md.start[t] + uint64(i)*uint64(md.rowSize(t))
	return &rowCursor{md: md, b: md.tables[at : at+uint64(md.rowSize(t))]}
}
