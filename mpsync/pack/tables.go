package pack

// This file describes the columns of the metadata tables 0x00 to 0x28
// (ECMA-335 II.22) so that their row sizes can be computed. A row's width
// depends on the heap index sizes and on the row counts of the tables its
// indexes point into (II.24.2.6), so every table stored before
// ManifestResource must be described, even those the reader never reads.

// colKind is the kind of a column.
type colKind uint8

const (
	colFixed  colKind = iota // n bytes
	colString                // index into #Strings
	colGUID                  // index into #GUID
	colBlob                  // index into #Blob
	colTable                 // index into table n
	colCoded                 // coded index of kind n
)

// col is one column: its kind and a size, table or coded index kind.
type col struct {
	kind colKind
	n    int
}

var (
	u16  = col{colFixed, 2}
	u32  = col{colFixed, 4}
	str  = col{colString, 0}
	guid = col{colGUID, 0}
	blob = col{colBlob, 0}
)

func idx(table int) col  { return col{colTable, table} }
func coded(kind int) col { return col{colCoded, kind} }

// Coded index kinds (II.24.2.6).
const (
	ciTypeDefOrRef = iota
	ciHasConstant
	ciHasCustomAttribute
	ciHasFieldMarshal
	ciHasDeclSecurity
	ciMemberRefParent
	ciHasSemantics
	ciMethodDefOrRef
	ciMemberForwarded
	ciImplementation
	ciCustomAttributeType
	ciResolutionScope
	ciTypeOrMethodDef
)

// none marks a tag value no table uses (CustomAttributeType's 0, 1 and 4).
const none = -1

// codedTables lists, for each coded index kind, the tables its tags name in
// tag order; the tag takes as many bits as the list needs.
var codedTables = [...][]int{
	ciTypeDefOrRef:        {0x02, 0x01, 0x1B},
	ciHasConstant:         {0x04, 0x08, 0x17},
	ciHasCustomAttribute:  {0x06, 0x04, 0x01, 0x02, 0x08, 0x09, 0x0A, 0x00, 0x0E, 0x17, 0x14, 0x11, 0x1A, 0x1B, 0x20, 0x23, 0x26, 0x27, 0x28, 0x2A, 0x2C, 0x2B},
	ciHasFieldMarshal:     {0x04, 0x08},
	ciHasDeclSecurity:     {0x02, 0x06, 0x20},
	ciMemberRefParent:     {0x02, 0x01, 0x1A, 0x06, 0x1B},
	ciHasSemantics:        {0x14, 0x17},
	ciMethodDefOrRef:      {0x06, 0x0A},
	ciMemberForwarded:     {0x04, 0x06},
	ciImplementation:      {0x26, 0x23, 0x27},
	ciCustomAttributeType: {none, none, 0x06, 0x0A, none},
	ciResolutionScope:     {0x00, 0x1A, 0x23, 0x01},
	ciTypeOrMethodDef:     {0x02, 0x06},
}

// schema lists the columns of tables 0x00 to 0x28, by table number.
var schema = [tManifestResource + 1][]col{
	0x00: {u16, str, guid, guid, guid},                                         // Module
	0x01: {coded(ciResolutionScope), str, str},                                 // TypeRef
	0x02: {u32, str, str, coded(ciTypeDefOrRef), idx(tField), idx(tMethodDef)}, // TypeDef
	0x03: {idx(tField)},                                                        // FieldPtr
	0x04: {u16, str, blob},                                                     // Field
	0x05: {idx(tMethodDef)},                                                    // MethodPtr
	0x06: {u32, u16, u16, str, blob, idx(tParam)},                              // MethodDef
	0x07: {idx(tParam)},                                                        // ParamPtr
	0x08: {u16, u16, str},                                                      // Param
	0x09: {idx(tTypeDef), coded(ciTypeDefOrRef)},                               // InterfaceImpl
	0x0A: {coded(ciMemberRefParent), str, blob},                                // MemberRef
	0x0B: {u16, coded(ciHasConstant), blob},                                    // Constant (type byte + padding)
	0x0C: {coded(ciHasCustomAttribute), coded(ciCustomAttributeType), blob},    // CustomAttribute
	0x0D: {coded(ciHasFieldMarshal), blob},                                     // FieldMarshal
	0x0E: {u16, coded(ciHasDeclSecurity), blob},                                // DeclSecurity
	0x0F: {u16, u32, idx(tTypeDef)},                                            // ClassLayout
	0x10: {u32, idx(tField)},                                                   // FieldLayout
	0x11: {blob},                                                               // StandAloneSig
	0x12: {idx(tTypeDef), idx(tEvent)},                                         // EventMap
	0x13: {idx(tEvent)},                                                        // EventPtr
	0x14: {u16, str, coded(ciTypeDefOrRef)},                                    // Event
	0x15: {idx(tTypeDef), idx(tProperty)},                                      // PropertyMap
	0x16: {idx(tProperty)},                                                     // PropertyPtr
	0x17: {u16, str, blob},                                                     // Property
	0x18: {u16, idx(tMethodDef), coded(ciHasSemantics)},                        // MethodSemantics
	0x19: {idx(tTypeDef), coded(ciMethodDefOrRef), coded(ciMethodDefOrRef)},    // MethodImpl
	0x1A: {str},                                                                // ModuleRef
	0x1B: {blob},                                                               // TypeSpec
	0x1C: {u16, coded(ciMemberForwarded), str, idx(tModuleRef)},                // ImplMap
	0x1D: {u32, idx(tField)},                                                   // FieldRVA
	0x1E: {u32, u32},                                                           // EncLog
	0x1F: {u32},                                                                // EncMap
	0x20: {u32, u16, u16, u16, u16, u32, blob, str, str},                       // Assembly
	0x21: {u32},                                                                // AssemblyProcessor
	0x22: {u32, u32, u32},                                                      // AssemblyOS
	0x23: {u16, u16, u16, u16, u32, blob, str, str, blob},                      // AssemblyRef
	0x24: {u32, idx(tAssemblyRef)},                                             // AssemblyRefProcessor
	0x25: {u32, u32, u32, idx(tAssemblyRef)},                                   // AssemblyRefOS
	0x26: {u32, str, blob},                                                     // File
	0x27: {u32, u32, str, str, coded(ciImplementation)},                        // ExportedType
	0x28: {u32, u32, str, coded(ciImplementation)},                             // ManifestResource
}

// colSize is the width in bytes of c in this metadata.
func (md *metadata) colSize(c col) int {
	switch c.kind {
	case colFixed:
		return c.n
	case colString:
		return wide(md.wideStrings)
	case colGUID:
		return wide(md.wideGUID)
	case colBlob:
		return wide(md.wideBlob)
	case colTable:
		return wide(md.rows[c.n] > 0xFFFF)
	}
	tables := codedTables[c.n]
	tagBits := 0
	for 1<<tagBits < len(tables) {
		tagBits++
	}
	for _, t := range tables {
		if t != none && md.rows[t] >= 1<<(16-tagBits) {
			return 4
		}
	}
	return 2
}

func wide(w bool) int {
	if w {
		return 4
	}
	return 2
}

// rowSize is the width in bytes of a row of table t.
func (md *metadata) rowSize(t int) int {
	n := 0
	for _, c := range schema[t] {
		n += md.colSize(c)
	}
	return n
}

// rowCursor reads a row's columns in order.
type rowCursor struct {
	md *metadata
	b  []byte
}

// next returns the value of the next column, of kind c.
func (r *rowCursor) next(c col) uint32 {
	n := r.md.colSize(c)
	var v uint32
	if n == 2 {
		v = uint32(le16(r.b, 0))
	} else {
		v = le32(r.b, 0)
	}
	r.b = r.b[n:]
	return v
}
