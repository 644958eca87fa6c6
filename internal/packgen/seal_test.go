package packgen_test

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/pack"
)

func TestSealOpensWithDebugPE(t *testing.T) {
	doc, err := packgen.Spec{ID: "Contoso.Sealed", Version: pack.MustParseVersion("1.2.3.4"), References: refs(), Rules: 4}.Bytes()
	require.NoError(t, err)
	for _, tt := range []struct {
		name  string
		opts  packgen.SealOptions
		magic uint16
	}{
		{"PE32", packgen.SealOptions{}, 0x10B},
		{"PE32+", packgen.SealOptions{PE32Plus: true}, 0x20B},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mp, l, err := packgen.SealWithLayout(doc, tt.opts)
			require.NoError(t, err)
			f, err := pe.NewFile(bytes.NewReader(mp))
			require.NoError(t, err)
			require.Len(t, f.Sections, 1)
			assert.Equal(t, ".text", f.Sections[0].Name)
			var dir pe.DataDirectory
			switch oh := f.OptionalHeader.(type) {
			case *pe.OptionalHeader32:
				assert.Equal(t, tt.magic, oh.Magic)
				dir = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_COM_DESCRIPTOR]
			case *pe.OptionalHeader64:
				assert.Equal(t, tt.magic, oh.Magic)
				dir = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_COM_DESCRIPTOR]
			default:
				t.Fatalf("optional header %T", oh)
			}
			assert.Equal(t, uint32(72), dir.Size, "the CLI header")
			data, err := f.Sections[0].Data()
			require.NoError(t, err)
			cli := data[dir.VirtualAddress-f.Sections[0].VirtualAddress:]
			assert.Equal(t, uint32(72), binary.LittleEndian.Uint32(cli), "cb of the CLI header debug/pe finds")
			assert.Equal(t, binary.LittleEndian.Uint32(mp[l.CLIDirectory:]), dir.VirtualAddress, "SealLayout.CLIDirectory")
			assert.Equal(t, "BSJB", string(mp[l.Metadata:l.Metadata+4]), "SealLayout.Metadata")
			assert.Equal(t, []byte{0x1F, 0x8B}, mp[l.Payload:l.Payload+2], "SealLayout.Payload is gzip")
			assert.Equal(t, byte(0x20), mp[l.Entry], "the entry is a byte array")

			m, err := pack.ReadManifest(bytes.NewReader(mp))
			require.NoError(t, err)
			assert.Equal(t, "Contoso.Sealed", m.ID)
			assert.Equal(t, pack.SealedYes, m.Sealed)
		})
	}
}

// TestSealResourceNameHash: the name hash Seal stores for ManagementPack
// is the one in Microsoft's DataProtectionManager pack (0x9BDC118F).
func TestSealResourceNameHash(t *testing.T) {
	mp, err := packgen.Seal([]byte("<ManagementPack/>"), packgen.SealOptions{})
	require.NoError(t, err)
	assert.True(t, bytes.Contains(mp, binary.LittleEndian.AppendUint32(nil, 0x9BDC118F)))
}

func TestSealIsDeterministic(t *testing.T) {
	doc := []byte("<ManagementPack><Manifest><Identity><ID>A.B</ID><Version>1.0</Version></Identity></Manifest></ManagementPack>")
	a, err := packgen.Seal(doc, packgen.SealOptions{})
	require.NoError(t, err)
	b, err := packgen.Seal(doc, packgen.SealOptions{})
	require.NoError(t, err)
	assert.Equal(t, a, b)
}

func TestSealRefusesExtraRowsItCannotWrite(t *testing.T) {
	for _, tbl := range []int{0x00, 0x20, 0x28, 0x2A} {
		_, err := packgen.Seal(nil, packgen.SealOptions{ExtraRows: map[int]uint32{tbl: 1}})
		assert.Error(t, err, "table 0x%02x", tbl)
	}
}
