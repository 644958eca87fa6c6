package pack_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/pack"
)

const dpmPack = "Microsoft.SystemCenter.DataProtectionManager.2012.Library.mp"

// microsoftToken is the public key token of Microsoft's Operations
// Manager packs, as their references name it.
const microsoftToken = "31bf3856ad364e35"

func TestCorpusSealed(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(corpusDir(t), dpmPack))
	require.NoError(t, err)
	m, err := pack.ReadManifest(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, "Microsoft.SystemCenter.DataProtectionManager.2012.Library", m.ID)
	assert.Equal(t, "4.2.1276.0", m.Version.String())
	assert.Equal(t, pack.SealedYes, m.Sealed)
	assert.Equal(t, microsoftToken, m.PublicKeyToken)
	var ids []string
	for _, r := range m.References {
		ids = append(ids, r.Alias+"="+r.ID+"@"+r.Version.String())
		assert.Equal(t, m.PublicKeyToken, r.PublicKeyToken, "Microsoft's pack references Microsoft's packs, signed with the same key")
	}
	assert.Equal(t, []string{
		"SC=Microsoft.SystemCenter.Library@6.1.7221.0", "Windows=Microsoft.Windows.Library@6.1.7221.0",
		"Health=System.Health.Library@6.1.7221.0", "System=System.Library@6.1.7221.0",
	}, ids)

	v, err := pack.Validate(bytes.NewReader(b), pack.Expect{ID: m.ID, Version: m.Version}, pack.Limits{})
	require.NoError(t, err)
	assert.Equal(t, m, v)
	_, err = pack.Validate(bytes.NewReader(b), pack.Expect{ID: m.ID, Version: pack.MustParseVersion("4.2.1277.0")}, pack.Limits{})
	assert.ErrorIs(t, err, pack.ErrIdentity)
}

// TestCorpusSealedMatchesSeal checks that packgen.Seal lays a pack out as
// the real sample does: the same resource and entry names, type code and
// compressed UTF-16 without byte-order mark.
func TestCorpusSealedMatchesSeal(t *testing.T) {
	real, err := os.ReadFile(filepath.Join(corpusDir(t), dpmPack))
	require.NoError(t, err)
	doc, err := packgen.Spec{ID: "Contoso.Sealed", Version: pack.MustParseVersion("1.0.0.0")}.Bytes()
	require.NoError(t, err)
	built, err := packgen.Seal(doc, packgen.SealOptions{})
	require.NoError(t, err)
	for _, marker := range [][]byte{
		[]byte("MPResources.resources\x00"),
		{0xCE, 0xCA, 0xEF, 0xBE},
		[]byte("System.Resources.ResourceReader, mscorlib, Version=2.0.0.0"),
		append([]byte{28}, utf16leNoBOM("ManagementPack")...),
		[]byte("BSJB"),
	} {
		assert.True(t, bytes.Contains(real, marker), "the sample holds %q", marker)
		assert.True(t, bytes.Contains(built, marker), "the built pack holds %q", marker)
	}
}

func utf16leNoBOM(s string) []byte {
	var b []byte
	for _, r := range s {
		b = binary.LittleEndian.AppendUint16(b, uint16(r))
	}
	return b
}

// sealedDoc is the XML the built sealed packs carry.
func sealedDoc(t testing.TB, rules int) []byte {
	t.Helper()
	doc, err := packgen.Spec{
		ID: "Contoso.Sealed", Version: pack.MustParseVersion("3.1.4.15"), Name: "Contoso Sealed – Überwachung",
		References: []pack.Reference{
			{Alias: "SC", ID: "Microsoft.SystemCenter.Library", Version: pack.MustParseVersion("7.0.8433.0"), PublicKeyToken: microsoftToken},
			{Alias: "System", ID: "System.Library", Version: pack.MustParseVersion("7.5.8501.0"), PublicKeyToken: microsoftToken},
		},
		Rules: rules,
	}.Bytes()
	require.NoError(t, err)
	return doc
}

// tokenOf computes a public key token the documented way, independently of
// the package: SHA-1, last eight bytes, reversed.
func tokenOf(key []byte) string {
	sum := sha1.Sum(key)
	tok := slices.Clone(sum[12:])
	slices.Reverse(tok)
	return hex.EncodeToString(tok)
}

func TestSealedRoundTrip(t *testing.T) {
	doc := sealedDoc(t, 5)
	want, err := pack.ReadManifest(bytes.NewReader(doc))
	require.NoError(t, err)
	utf16doc, err := packgen.Spec{ID: "Contoso.Sealed", Version: pack.MustParseVersion("3.1.4.15"), Name: want.Name,
		References: want.References, Rules: 5, Encoding: packgen.UTF16LE}.Bytes()
	require.NoError(t, err)
	otherKey := bytes.Repeat([]byte{0x5A, 0xA5}, 80)
	tests := []struct {
		name  string
		doc   []byte
		opts  packgen.SealOptions
		token string
	}{
		{"as Microsoft's tools write it", doc, packgen.SealOptions{}, tokenOf(packgen.DefaultPublicKey)},
		{"PE32+", doc, packgen.SealOptions{PE32Plus: true}, tokenOf(packgen.DefaultPublicKey)},
		{"four-byte heap indexes", doc, packgen.SealOptions{WideHeaps: true}, tokenOf(packgen.DefaultPublicKey)},
		{"rows in every table before ManifestResource", doc, packgen.SealOptions{ExtraRows: everyTable(3)}, tokenOf(packgen.DefaultPublicKey)},
		{"wide table and coded indexes", doc, packgen.SealOptions{ExtraRows: map[int]uint32{0x01: 70_000, 0x02: 3, 0x06: 5, 0x0A: 4, 0x0C: 9, 0x23: 2, 0x26: 70_000, 0x27: 1}}, tokenOf(packgen.DefaultPublicKey)},
		{"coded index widened by one row", doc, packgen.SealOptions{ExtraRows: map[int]uint32{0x26: 1 << 14}}, tokenOf(packgen.DefaultPublicKey)},
		{"coded index just narrow", doc, packgen.SealOptions{ExtraRows: map[int]uint32{0x26: 1<<14 - 1}}, tokenOf(packgen.DefaultPublicKey)},
		{"another key", doc, packgen.SealOptions{PublicKey: otherKey}, tokenOf(otherKey)},
		{"unsigned assembly", doc, packgen.SealOptions{Unsigned: true}, ""},
		{"UTF-8 kept", doc, packgen.SealOptions{KeepEncoding: true}, tokenOf(packgen.DefaultPublicKey)},
		{"UTF-16 with BOM kept", utf16doc, packgen.SealOptions{KeepEncoding: true}, tokenOf(packgen.DefaultPublicKey)},
		{"UTF-16 with BOM re-encoded", utf16doc, packgen.SealOptions{}, tokenOf(packgen.DefaultPublicKey)},
		{"uncompressed", doc, packgen.SealOptions{Uncompressed: true}, tokenOf(packgen.DefaultPublicKey)},
		{"resource named ManagementPack", doc, packgen.SealOptions{Direct: true, ResourceName: "ManagementPack"}, tokenOf(packgen.DefaultPublicKey)},
		{"resource named Contoso.ManagementPack", doc, packgen.SealOptions{Direct: true, ResourceName: "Contoso.ManagementPack", Uncompressed: true}, tokenOf(packgen.DefaultPublicKey)},
		{"other resource file name", doc, packgen.SealOptions{ResourceName: "Contoso.Sealed.resources"}, tokenOf(packgen.DefaultPublicKey)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp, err := packgen.Seal(tt.doc, tt.opts)
			require.NoError(t, err)
			require.Equal(t, "MZ", string(mp[:2]))
			m, err := pack.ReadManifest(bytes.NewReader(mp))
			require.NoError(t, err)
			expect := want
			expect.Sealed, expect.PublicKeyToken = pack.SealedYes, tt.token
			assert.Equal(t, expect, m)
			v, err := pack.Validate(bytes.NewReader(mp), pack.Expect{ID: want.ID, Version: want.Version}, pack.Limits{})
			require.NoError(t, err)
			assert.Equal(t, expect, v)
		})
	}
}

// everyTable has n rows in every table Seal can add rows to.
func everyTable(n uint32) map[int]uint32 {
	m := map[int]uint32{}
	for t := 0x01; t <= 0x27; t++ {
		if t != 0x20 {
			m[t] = n
		}
	}
	return m
}

// TestSealedAssemblyNameDoesNotMatter: the identity comes from the XML;
// the assembly's name is not checked against it.
func TestSealedAssemblyNameDoesNotMatter(t *testing.T) {
	mp, err := packgen.Seal(sealedDoc(t, 1), packgen.SealOptions{AssemblyName: "Something.Else"})
	require.NoError(t, err)
	m, err := pack.ReadManifest(bytes.NewReader(mp))
	require.NoError(t, err)
	assert.Equal(t, "Contoso.Sealed", m.ID)
}

// mutation changes a built sealed pack at the offsets its layout gives.
type mutation func(b []byte, l packgen.SealLayout)

func put32(off int, v uint32) mutation {
	return func(b []byte, _ packgen.SealLayout) { binary.LittleEndian.PutUint32(b[off:], v) }
}

func at(where func(packgen.SealLayout) int, delta int, v uint32) mutation {
	return func(b []byte, l packgen.SealLayout) { binary.LittleEndian.PutUint32(b[where(l)+delta:], v) }
}

func TestSealedHostile(t *testing.T) {
	doc := sealedDoc(t, 200) // large enough that ReadManifest stops early
	cliDir := func(l packgen.SealLayout) int { return l.CLIDirectory }
	cli := func(l packgen.SealLayout) int { return l.CLIHeader }
	res := func(l packgen.SealLayout) int { return l.Resources }
	resRow := func(l packgen.SealLayout) int { return l.ManifestResourceRow }
	entry := func(l packgen.SealLayout) int { return l.Entry }
	sections := func(l packgen.SealLayout) int { return l.Sections }
	tables := func(l packgen.SealLayout) int { return l.Tables }
	tests := []struct {
		name   string
		opts   packgen.SealOptions
		mutate mutation
		// manifest is what ReadManifest must return; nil means it succeeds.
		manifest, validate error
		msg                string // substring of the Validate error
	}{
		{"e_lfanew past the end", packgen.SealOptions{}, put32(0x3C, 0xFFFFFF00), pack.ErrMalformed, pack.ErrMalformed, "e_lfanew at offset 0x3c points to 0xffffff00"},
		{"no PE signature", packgen.SealOptions{}, put32(0x80, 0x12345678), pack.ErrMalformed, pack.ErrMalformed, "no PE signature at offset 0x80"},
		{"bad optional header magic", packgen.SealOptions{}, func(b []byte, _ packgen.SealLayout) { b[0x98] = 0x99 }, pack.ErrMalformed, pack.ErrMalformed, "magic 0x199"},
		{"no CLI header: not a .NET assembly", packgen.SealOptions{}, at(cliDir, 0, 0), pack.ErrNotManagementPack, pack.ErrNotManagementPack, "CLI header directory (data directory 14, at offset 0x168) is empty: not a .NET assembly"},
		{"too few data directories", packgen.SealOptions{}, at(cliDir, -14*8-4, 6), pack.ErrNotManagementPack, pack.ErrNotManagementPack, "it has 6 data directories"},
		{"CLI header outside the file", packgen.SealOptions{}, at(cliDir, 0, 0x7FFF0000), pack.ErrMalformed, pack.ErrMalformed, "CLI header at RVA 0x7fff0000 (72 bytes) lies outside the data of every section"},
		{"CLI header directory too small", packgen.SealOptions{}, at(cliDir, 4, 8), pack.ErrMalformed, pack.ErrMalformed, "CLI header directory says 8 bytes"},
		{"section past the end of the file", packgen.SealOptions{}, at(sections, 16, 0x10000000), pack.ErrMalformed, pack.ErrMalformed, `section ".text" (header at 0x178) has raw data at 0x200..0x10000200, past the end`},
		{"metadata outside every section", packgen.SealOptions{}, at(cli, 8, 0x40000000), pack.ErrMalformed, pack.ErrMalformed, "metadata at RVA 0x40000000"},
		{"metadata size lies", packgen.SealOptions{}, at(cli, 12, 0x00FFFFFF), pack.ErrMalformed, pack.ErrMalformed, "runs past the end of section \".text\""},
		{"no BSJB", packgen.SealOptions{}, func(b []byte, l packgen.SealLayout) { copy(b[l.Metadata:], "XXXX") }, pack.ErrMalformed, pack.ErrMalformed, "no metadata signature BSJB"},
		{"row count lies", packgen.SealOptions{}, at(tables, 24, 0x0FFFFFFF), pack.ErrMalformed, pack.ErrMalformed, "metadata table 0x00 (268435455 rows of 10 bytes)"},
		{"resources directory outside every section", packgen.SealOptions{}, at(cli, 24, 0x00900000), pack.ErrMalformed, pack.ErrMalformed, "resources directory of the CLI header at RVA 0x900000"},
		{"resources directory past the end of the file", packgen.SealOptions{}, at(cli, 28, 0x7FFFFFFF), pack.ErrMalformed, pack.ErrMalformed, "resources directory of the CLI header at RVA 0x2048 (2147483647 bytes) runs past the end"},
		{"resource length lies", packgen.SealOptions{}, at(res, 0, 0x7FFFFFF0), pack.ErrMalformed, pack.ErrMalformed, "resource MPResources.resources (ManifestResource row 1) at offset 0 declares 2147483632 bytes, past the resources directory"},
		{"resource offset lies", packgen.SealOptions{}, at(resRow, 0, 1<<30), pack.ErrMalformed, pack.ErrMalformed, "at offset 1073741824 is past the resources directory"},
		{"entry length lies", packgen.SealOptions{}, at(entry, 1, 0x7FFFFFFF), pack.ErrMalformed, pack.ErrMalformed, "resource MPResources.resources: entry ManagementPack of 2147483647 bytes"},
		{"entry of another type", packgen.SealOptions{}, func(b []byte, l packgen.SealLayout) { b[l.Entry] = 0x05 }, pack.ErrMalformed, pack.ErrMalformed, "entry ManagementPack has type code 0x5"},
		{".resources version 1", packgen.SealOptions{}, func(b []byte, l packgen.SealLayout) {
			n := int(binary.LittleEndian.Uint32(b[l.Resources+4+8:]))
			binary.LittleEndian.PutUint32(b[l.Resources+4+12+n:], 1)
		}, pack.ErrMalformed, pack.ErrMalformed, "format version 1 is not supported"},
		{".resources entry count lies", packgen.SealOptions{}, func(b []byte, l packgen.SealLayout) {
			n := int(binary.LittleEndian.Uint32(b[l.Resources+4+8:]))
			binary.LittleEndian.PutUint32(b[l.Resources+4+16+n:], 0x10000000)
		}, pack.ErrMalformed, pack.ErrMalformed, "268435456 entries need"},
		{"no ManagementPack entry", packgen.SealOptions{}, func(b []byte, l packgen.SealLayout) {
			i := bytes.Index(b, utf16leNoBOM("ManagementPack"))
			b[i] = 'X'
		}, pack.ErrNotManagementPack, pack.ErrNotManagementPack, "no embedded resource holds a ManagementPack entry (resources: MPResources.resources)"},
		{"no pack resource", packgen.SealOptions{Direct: true, ResourceName: "Images.bin"}, nil, pack.ErrNotManagementPack, pack.ErrNotManagementPack, "(resources: Images.bin)"},
		{"no resources at all", packgen.SealOptions{}, at(tables, 32, 0), pack.ErrNotManagementPack, pack.ErrNotManagementPack, "resources: none"},
		{"corrupt deflate data", packgen.SealOptions{}, func(b []byte, l packgen.SealLayout) {
			for i := l.Payload + 10; i < l.Payload+l.PayloadLen-8; i++ {
				b[i] = 0xFF
			}
		}, pack.ErrMalformed, pack.ErrMalformed, "sealed pack resource MPResources.resources entry ManagementPack: malformed management pack: gzip: flate: corrupt input"},
		{"gzip checksum wrong", packgen.SealOptions{}, func(b []byte, l packgen.SealLayout) { b[l.Payload+l.PayloadLen-8] ^= 0xFF }, nil, pack.ErrMalformed, "gzip: gzip: invalid checksum"},
		{"gzip header broken", packgen.SealOptions{}, func(b []byte, l packgen.SealLayout) { b[l.Payload+2] = 7 }, pack.ErrMalformed, pack.ErrMalformed, "gzip header"},
		{"not XML inside", packgen.SealOptions{Payload: []byte("hello, world")}, nil, pack.ErrMalformed, pack.ErrMalformed, "sealed pack resource MPResources.resources entry ManagementPack: malformed management pack: text before the root element"},
		{"a sealed pack inside a sealed pack", packgen.SealOptions{Payload: []byte("MZ\x90\x00")}, nil, pack.ErrNotManagementPack, pack.ErrNotManagementPack, "a .NET assembly (starting with MZ) where XML was expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp, l, err := packgen.SealWithLayout(doc, tt.opts)
			require.NoError(t, err)
			if tt.mutate != nil {
				tt.mutate(mp, l)
			}
			_, err = pack.ReadManifest(bytes.NewReader(mp))
			if tt.manifest == nil {
				assert.NoError(t, err, "ReadManifest")
			} else {
				assert.ErrorIs(t, err, tt.manifest, "ReadManifest")
			}
			_, err = pack.Validate(bytes.NewReader(mp), pack.Expect{}, pack.Limits{})
			require.ErrorIs(t, err, tt.validate, "Validate")
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

// TestSealedTruncated cuts a built pack at every offset in its headers and
// metadata and at many in its payload: each is refused as malformed.
func TestSealedTruncated(t *testing.T) {
	mp, l, err := packgen.SealWithLayout(sealedDoc(t, 3), packgen.SealOptions{})
	require.NoError(t, err)
	for n := 2; n < len(mp); n++ {
		if n > l.Payload+64 && n < l.Payload+l.PayloadLen-64 && n%97 != 0 {
			continue // inside the compressed data, sample
		}
		_, err := pack.Validate(bytes.NewReader(mp[:n]), pack.Expect{}, pack.Limits{})
		require.ErrorIs(t, err, pack.ErrMalformed, "cut at %d of %d", n, len(mp))
		_, err = pack.ReadManifest(bytes.NewReader(mp[:n]))
		require.Error(t, err, "cut at %d of %d", n, len(mp))
	}
}

// bomb returns a sealed pack whose payload decompresses to prefix followed
// by filler repeated up to total bytes. It is built as gzip members of one
// 1 MiB chunk each, concatenated (gzip readers read a multi-member stream
// as one): 1 GiB costs about 1 MB and milliseconds to build.
func bomb(t *testing.T, prefix, filler string, total int) []byte {
	t.Helper()
	chunk := bytes.Repeat([]byte(filler), (1<<20)/len(filler))
	var member bytes.Buffer
	zw, err := gzip.NewWriterLevel(&member, gzip.BestCompression)
	require.NoError(t, err)
	_, err = zw.Write(chunk)
	require.NoError(t, err)
	require.NoError(t, zw.Close())

	var payload bytes.Buffer
	zw = gzip.NewWriter(&payload)
	_, err = zw.Write([]byte(prefix))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	for range total / len(chunk) {
		payload.Write(member.Bytes())
	}
	mp, err := packgen.Seal(nil, packgen.SealOptions{Payload: payload.Bytes()})
	require.NoError(t, err)
	return mp
}

// peakHeap runs f and returns the most heap memory in use while it ran,
// above what was in use before, sampled every millisecond.
func peakHeap(f func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if v := read(); v > peak {
				peak = v
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	if peak < base {
		return 0
	}
	return peak - base
}

func TestSealedGzipBomb(t *testing.T) {
	const gib = 1 << 30
	const head = `<ManagementPack><Manifest><Identity><ID>Contoso.Bomb</ID><Version>1.0.0.0</Version></Identity></Manifest><Monitoring>`
	tests := []struct {
		name     string
		mp       []byte
		manifest error // nil: ReadManifest succeeds (the bomb is after the manifest)
		lim      pack.Limits
		msg      string
	}{
		{"1 GiB of zeros", bomb(t, "", "\x00", gib), pack.ErrNotManagementPack, pack.Limits{}, "without a byte-order mark"},
		{"1 GiB of space before the root", bomb(t, "", " ", gib), pack.ErrMalformed, pack.Limits{MaxBytes: 8 << 20}, "the decompressed XML is larger than 8388608 bytes"},
		{"1 GiB of elements after the manifest", bomb(t, head, "<a/>", gib), nil, pack.Limits{MaxBytes: 8 << 20}, "the decompressed XML is larger than 8388608 bytes"},
		{"1 GiB of space inside the manifest", bomb(t, "<ManagementPack><Manifest>", " ", gib), pack.ErrMalformed, pack.Limits{MaxBytes: 8 << 20}, "the decompressed XML is larger than 8388608 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Less(t, len(tt.mp), 2<<20, "the bomb is small")
			var errM, errV error
			peak := peakHeap(func() {
				_, errM = pack.ReadManifest(bytes.NewReader(tt.mp))
				_, errV = pack.Validate(bytes.NewReader(tt.mp), pack.Expect{}, tt.lim)
			})
			if tt.manifest == nil {
				assert.NoError(t, errM)
			} else {
				assert.ErrorIs(t, errM, tt.manifest)
			}
			require.Error(t, errV)
			assert.Contains(t, errV.Error(), tt.msg)
			assert.Contains(t, errV.Error(), "sealed pack resource MPResources.resources entry ManagementPack")
			// 1 GiB decompressed; the limits let at most 8 MiB (Validate)
			// or 4 MiB (ReadManifest) of XML through, which the decoder
			// may hold as one text token.
			assert.Less(t, peak, uint64(48<<20), "peak heap growth")
		})
	}
}

func TestSealedTooLarge(t *testing.T) {
	mp, err := packgen.Seal(sealedDoc(t, 50), packgen.SealOptions{Uncompressed: true})
	require.NoError(t, err)
	_, err = pack.Validate(bytes.NewReader(mp), pack.Expect{}, pack.Limits{MaxBytes: int64(len(mp) - 1)})
	require.ErrorIs(t, err, pack.ErrMalformed)
	assert.Contains(t, err.Error(), "sealed pack is larger than")
	_, err = pack.Validate(bytes.NewReader(mp), pack.Expect{}, pack.Limits{MaxBytes: int64(len(mp))})
	assert.NoError(t, err, "exactly at the limit")
}

func TestSealedLimitsApplyInside(t *testing.T) {
	doc := strings.Replace(string(sealedDoc(t, 1)), "<Monitoring>", "<Monitoring>"+deep(40), 1)
	mp, err := packgen.Seal([]byte(doc), packgen.SealOptions{})
	require.NoError(t, err)
	_, err = pack.Validate(bytes.NewReader(mp), pack.Expect{}, pack.Limits{MaxDepth: 16})
	require.ErrorIs(t, err, pack.ErrMalformed)
	assert.Contains(t, err.Error(), "nest deeper than 16")
	_, err = pack.Validate(bytes.NewReader(mp), pack.Expect{}, pack.Limits{})
	assert.NoError(t, err)
}

func FuzzReadSealed(f *testing.F) {
	doc, err := packgen.Spec{ID: "Contoso.Fuzz", Version: pack.MustParseVersion("1.0.0.0")}.Bytes()
	if err != nil {
		f.Fatal(err)
	}
	for _, o := range []packgen.SealOptions{{}, {Direct: true, ResourceName: "ManagementPack", Uncompressed: true}, {WideHeaps: true, PE32Plus: true}} {
		mp, err := packgen.Seal(doc, o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(mp)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := pack.Limits{MaxBytes: 1 << 20, MaxDepth: 32, MaxAttrs: 16}
		m, err := pack.Validate(bytes.NewReader(b), pack.Expect{}, lim)
		if err != nil {
			if !errorsIsOne(err, pack.ErrMalformed, pack.ErrNotManagementPack) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrNotManagementPack", err)
			}
			return
		}
		r, err := pack.ReadManifest(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("Validate accepted what ReadManifest refuses: %v", err)
		}
		if r.ID != m.ID || r.Version != m.Version || r.PublicKeyToken != m.PublicKeyToken || r.Sealed != m.Sealed {
			t.Fatalf("Validate read %+v, ReadManifest read %+v", m, r)
		}
	})
}

func errorsIsOne(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
