package pack

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression (review): ManifestResource rows at distinct offsets whose
// .resources files overlap and share one entry table made findPackResource
// walk every entry once per row: rows x entries, minutes for a pack of a few
// hundred KB. The entries looked at now share one budget bounded by the
// resources directory's size, and such a pack is refused as malformed.
func TestOverlappingResourcesAreRefused(t *testing.T) {
	for _, sz := range []struct{ R, C int }{{64, 1024}, {512, 8192}} {
		R, C := sz.R, sz.C
		P := 16 * R
		total := P + 12 + 8*C + 4 + 3 + 4
		dir := make([]byte, total)
		le := binary.LittleEndian
		for k := 0; k < R; k++ {
			o := 16 * k
			le.PutUint32(dir[o:], uint32(total-(o+4)))
			le.PutUint32(dir[o+4:], resourcesMagic)
			le.PutUint32(dir[o+8:], 1)
			le.PutUint32(dir[o+12:], uint32(16*(R-k)-16)) // skip to the shared header at P
		}
		le.PutUint32(dir[P:], 2)
		le.PutUint32(dir[P+4:], uint32(C))
		names := P + 12 + 8*C + 4
		dir[names], dir[names+1] = 2, 'y'
		img := &peImage{data: dir, sections: []peSection{{name: ".text", va: 0x1000, vsize: uint32(len(dir)), rawSize: uint32(len(dir))}}}
		cli := cliHeader{resourcesRVA: 0x1000, resourcesSize: uint32(len(dir))}
		md := &metadata{strings: []byte("\x00x\x00")}
		md.rows[tManifestResource] = uint32(R)
		md.tables = make([]byte, 12*R)
		for k := 0; k < R; k++ {
			le.PutUint32(md.tables[12*k:], uint32(16*k))
			le.PutUint16(md.tables[12*k+8:], 1)
		}
		if err := md.layOut(); err != nil {
			t.Fatal(err)
		}
		_, err := findPackResource(img, cli, md)
		require.ErrorIs(t, err, ErrMalformed, "%d rows x %d entries", R, C)
		assert.Contains(t, err.Error(), "resources overlap")
	}
}
