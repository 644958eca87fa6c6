package packgen

// This file writes the metadata of a sealed pack's assembly (ECMA-335
// II.24): the root, the #~ tables stream with Module, Assembly and
// ManifestResource rows (and any extra rows asked for), and the heaps.
// Row widths are computed from a transcription of II.22 separate from the
// reader's, so a mistake in one shows up against the other.

// Tables the writer fills.
const (
	tModule           = 0x00
	tAssembly         = 0x20
	tManifestResource = 0x28
)

// codedIndex lists the tables each coded index kind can point into, in tag
// order (II.24.2.6); -1 is an unused tag.
var codedIndex = map[string][]int{
	"TypeDefOrRef":        {0x02, 0x01, 0x1B},
	"HasConstant":         {0x04, 0x08, 0x17},
	"HasCustomAttribute":  {0x06, 0x04, 0x01, 0x02, 0x08, 0x09, 0x0A, 0x00, 0x0E, 0x17, 0x14, 0x11, 0x1A, 0x1B, 0x20, 0x23, 0x26, 0x27, 0x28, 0x2A, 0x2C, 0x2B},
	"HasFieldMarshal":     {0x04, 0x08},
	"HasDeclSecurity":     {0x02, 0x06, 0x20},
	"MemberRefParent":     {0x02, 0x01, 0x1A, 0x06, 0x1B},
	"HasSemantics":        {0x14, 0x17},
	"MethodDefOrRef":      {0x06, 0x0A},
	"MemberForwarded":     {0x04, 0x06},
	"Implementation":      {0x26, 0x23, 0x27},
	"CustomAttributeType": {-1, -1, 0x06, 0x0A, -1},
	"ResolutionScope":     {0x00, 0x1A, 0x23, 0x01},
}

// columns spells each table's columns: "2" and "4" are fixed sizes, "S",
// "G" and "B" heap indexes, "#NN" an index into table 0xNN, and other
// words coded indexes.
var columns = map[int][]string{
	0x00: {"2", "S", "G", "G", "G"},
	0x01: {"ResolutionScope", "S", "S"},
	0x02: {"4", "S", "S", "TypeDefOrRef", "#04", "#06"},
	0x03: {"#04"},
	0x04: {"2", "S", "B"},
	0x05: {"#06"},
	0x06: {"4", "2", "2", "S", "B", "#08"},
	0x07: {"#08"},
	0x08: {"2", "2", "S"},
	0x09: {"#02", "TypeDefOrRef"},
	0x0A: {"MemberRefParent", "S", "B"},
	0x0B: {"2", "HasConstant", "B"},
	0x0C: {"HasCustomAttribute", "CustomAttributeType", "B"},
	0x0D: {"HasFieldMarshal", "B"},
	0x0E: {"2", "HasDeclSecurity", "B"},
	0x0F: {"2", "4", "#02"},
	0x10: {"4", "#04"},
	0x11: {"B"},
	0x12: {"#02", "#14"},
	0x13: {"#14"},
	0x14: {"2", "S", "TypeDefOrRef"},
	0x15: {"#02", "#17"},
	0x16: {"#17"},
	0x17: {"2", "S", "B"},
	0x18: {"2", "#06", "HasSemantics"},
	0x19: {"#02", "MethodDefOrRef", "MethodDefOrRef"},
	0x1A: {"S"},
	0x1B: {"B"},
	0x1C: {"2", "MemberForwarded", "S", "#1A"},
	0x1D: {"4", "#04"},
	0x1E: {"4", "4"},
	0x1F: {"4"},
	0x20: {"4", "2", "2", "2", "2", "4", "B", "S", "S"},
	0x21: {"4"},
	0x22: {"4", "4", "4"},
	0x23: {"2", "2", "2", "2", "4", "B", "S", "S", "B"},
	0x24: {"4", "#23"},
	0x25: {"4", "4", "4", "#23"},
	0x26: {"4", "S", "B"},
	0x27: {"4", "4", "S", "S", "Implementation"},
	0x28: {"4", "4", "S", "Implementation"},
}

// tablesWriter lays out the #~ stream for given row counts.
type tablesWriter struct {
	rows      [64]uint32
	wideHeaps bool
}

func (w *tablesWriter) width(c string) int {
	switch {
	case c == "2":
		return 2
	case c == "4":
		return 4
	case c == "S" || c == "G" || c == "B":
		if w.wideHeaps {
			return 4
		}
		return 2
	case c[0] == '#':
		t := int(hexByte(c[1:]))
		if w.rows[t] > 0xFFFF {
			return 4
		}
		return 2
	}
	tables := codedIndex[c]
	bits := 0
	for 1<<bits < len(tables) {
		bits++
	}
	for _, t := range tables {
		if t >= 0 && w.rows[t] >= 1<<(16-bits) {
			return 4
		}
	}
	return 2
}

// put appends v as the width of column c.
func (w *tablesWriter) put(b []byte, c string, v uint32) []byte {
	if w.width(c) == 2 {
		return le16(b, uint16(v))
	}
	return le32(b, v)
}

func (w *tablesWriter) rowWidth(t int) int {
	n := 0
	for _, c := range columns[t] {
		n += w.width(c)
	}
	return n
}

func hexByte(s string) byte {
	var v byte
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | byte(c-'0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | byte(c-'A'+10)
		}
	}
	return v
}

// heaps collects the #Strings and #Blob heaps.
type heaps struct{ strings, blob []byte }

func newHeaps() *heaps { return &heaps{strings: []byte{0}, blob: []byte{0}} }

func (h *heaps) str(s string) uint32 {
	i := uint32(len(h.strings))
	h.strings = append(append(h.strings, s...), 0)
	return i
}

// blobOf appends b with its compressed length (II.23.2).
func (h *heaps) blobOf(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	i := uint32(len(h.blob))
	switch n := len(b); {
	case n < 0x80:
		h.blob = append(h.blob, byte(n))
	case n < 0x4000:
		h.blob = append(h.blob, byte(n>>8)|0x80, byte(n))
	default:
		h.blob = append(h.blob, byte(n>>24)|0xC0, byte(n>>16), byte(n>>8), byte(n))
	}
	h.blob = append(h.blob, b...)
	return i
}

// metadataBlob is the metadata root with its streams, and the offsets of
// the #~ stream and the ManifestResource row in it.
func metadataBlob(a assembly, opts SealOptions) (md []byte, tablesAt, resRowAt int) {
	h := newHeaps()
	w := &tablesWriter{wideHeaps: opts.WideHeaps}
	for t, n := range opts.ExtraRows {
		w.rows[t] = n
	}
	w.rows[tModule], w.rows[tAssembly], w.rows[tManifestResource] = 1, 1, 1

	var valid uint64
	for t, n := range w.rows {
		if n > 0 {
			valid |= 1 << t
		}
	}
	heapSizes := byte(0)
	if opts.WideHeaps {
		heapSizes = 0x07
	}
	tbl := le32(nil, 0)
	tbl = append(tbl, 2, 0, heapSizes, 1)
	tbl = binary64(tbl, valid)
	tbl = binary64(tbl, 0x000016003301FA00) // "sorted", as compilers write it
	for _, n := range w.rows {
		if n > 0 {
			tbl = le32(tbl, n)
		}
	}
	resRow := 0
	for t := 0; t <= tManifestResource; t++ {
		switch t {
		case tModule:
			tbl = w.put(tbl, "2", 0)
			tbl = w.put(tbl, "S", h.str(a.name+".dll"))
			tbl = w.put(tbl, "G", 1)
			tbl = w.put(tbl, "G", 0)
			tbl = w.put(tbl, "G", 0)
		case tAssembly:
			tbl = w.assemblyRow(tbl, h, a)
		case tManifestResource:
			resRow = len(tbl)
			tbl = w.put(tbl, "4", 0) // offset in the resources directory
			tbl = w.put(tbl, "4", 1) // public
			tbl = w.put(tbl, "S", h.str(a.resource))
			tbl = w.put(tbl, "Implementation", 0) // in this file
		default:
			tbl = append(tbl, make([]byte, w.rowWidth(t)*int(w.rows[t]))...)
		}
	}
	tbl = pad4(tbl)
	streams := []struct {
		name string
		data []byte
	}{
		{"#~", tbl},
		{"#Strings", pad4(h.strings)},
		{"#US", []byte{0, 0, 0, 0}},
		{"#GUID", []byte("packgen sealed!!")},
		{"#Blob", pad4(h.blob)},
	}
	root := []byte("BSJB")
	root = le16(root, 1)
	root = le16(root, 1)
	root = le32(root, 0)
	version := []byte("v2.0.50727\x00\x00")
	root = le32(root, uint32(len(version)))
	root = append(root, version...)
	root = le16(root, 0)
	root = le16(root, uint16(len(streams)))
	hdrLen := len(root)
	for _, s := range streams {
		hdrLen += 8 + len(pad4(append([]byte(s.name), 0)))
	}
	off := hdrLen
	for _, s := range streams {
		root = le32(root, uint32(off))
		root = le32(root, uint32(len(s.data)))
		root = append(root, pad4(append([]byte(s.name), 0))...)
		off += len(s.data)
	}
	tablesAt = len(root)
	for _, s := range streams {
		root = append(root, s.data...)
	}
	return root, tablesAt, tablesAt + resRow
}

func (w *tablesWriter) assemblyRow(b []byte, h *heaps, a assembly) []byte {
	b = w.put(b, "4", 0x8004) // SHA-1
	for _, p := range []uint32{a.version.Major, a.version.Minor, a.version.Build, a.version.Revision} {
		b = w.put(b, "2", p)
	}
	flags := uint32(0)
	if len(a.publicKey) > 0 {
		flags = 1 // PublicKey: the blob is the full key
	}
	b = w.put(b, "4", flags)
	b = w.put(b, "B", h.blobOf(a.publicKey))
	b = w.put(b, "S", h.str(a.name))
	return w.put(b, "S", 0) // culture neutral
}

func binary64(b []byte, v uint64) []byte { return le32(le32(b, uint32(v)), uint32(v>>32)) }

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
