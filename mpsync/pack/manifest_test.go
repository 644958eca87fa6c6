package pack_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/unicode"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/pack"
)

// repoRoot is the module root, relative to this package's directory, where
// go test runs.
const repoRoot = "../.."

// corpusDir returns ../shared/mp-corpus next to the repository, or skips the
// test when it is absent.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(repoRoot, "..", "shared", "mp-corpus")
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.md")); err != nil {
		t.Skipf("mp-corpus not present at %s: %v", dir, err)
	}
	return dir
}

const sampleManifest = `<Manifest>
    <Identity>
      <ID>Contoso.Sample</ID>
      <Version>1.0.3.0</Version>
    </Identity>
    <Name>Contoso Überwachung</Name>
    <References>
      <Reference Alias="SC">
        <ID>Microsoft.SystemCenter.Library</ID>
        <Version>7.0.8433.0</Version>
        <PublicKeyToken>31bf3856ad364e35</PublicKeyToken>
      </Reference>
      <Reference Alias="System">
        <!-- comments may appear anywhere -->
        <ID>System.Library</ID>
        <Version>7.5.8501.0</Version>
      </Reference>
    </References>
  </Manifest>`

// sampleDoc is a small pack around sampleManifest; rest goes after the
// manifest, inside the root.
func sampleDoc(decl, rest string) string {
	return `<?xml version="1.0" encoding="` + decl + `"?>
<!-- a sample -->
<ManagementPack ContentReadable="true" SchemaVersion="2.0" OriginalSchemaVersion="1.1">
  ` + sampleManifest + `
  ` + rest + `
</ManagementPack>
`
}

var sampleWant = pack.Manifest{
	ID:      "Contoso.Sample",
	Version: pack.Version{Major: 1, Minor: 0, Build: 3},
	Name:    "Contoso Überwachung",
	References: []pack.Reference{
		{Alias: "SC", ID: "Microsoft.SystemCenter.Library", Version: pack.MustParseVersion("7.0.8433.0"), PublicKeyToken: "31bf3856ad364e35"},
		{Alias: "System", ID: "System.Library", Version: pack.MustParseVersion("7.5.8501.0")},
	},
	SchemaVersion:         "2.0",
	OriginalSchemaVersion: "1.1",
	ContentReadable:       "true",
}

func utf16(t testing.TB, order unicode.Endianness, s string) []byte {
	t.Helper()
	b, err := unicode.UTF16(order, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
	require.NoError(t, err)
	return b
}

func TestReadManifestEncodings(t *testing.T) {
	rest := `<Monitoring><Rules><Rule ID="R" Enabled="true"><![CDATA[ x < y ]]></Rule></Rules></Monitoring>`
	tests := []struct {
		name string
		doc  []byte
	}{
		{"UTF-8", []byte(sampleDoc("utf-8", rest))},
		{"UTF-8 no declaration", []byte(strings.TrimPrefix(sampleDoc("utf-8", rest), `<?xml version="1.0" encoding="utf-8"?>`))},
		{"UTF-8 with BOM", append([]byte{0xEF, 0xBB, 0xBF}, sampleDoc("utf-8", rest)...)},
		{"UTF-8 CRLF", []byte(strings.ReplaceAll(sampleDoc("UTF-8", rest), "\n", "\r\n"))},
		{"UTF-16LE with BOM", utf16(t, unicode.LittleEndian, sampleDoc("utf-16", rest))},
		{"UTF-16BE with BOM", utf16(t, unicode.BigEndian, sampleDoc("utf-16", rest))},
		{"UTF-16LE declaring unicode", utf16(t, unicode.LittleEndian, sampleDoc("unicode", rest))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := pack.ReadManifest(bytes.NewReader(tt.doc))
			require.NoError(t, err)
			assert.Equal(t, sampleWant, m)

			v, err := pack.Validate(bytes.NewReader(tt.doc), pack.Expect{ID: "Contoso.Sample", Version: sampleWant.Version}, pack.Limits{})
			require.NoError(t, err)
			assert.Equal(t, sampleWant, v)
		})
	}
}

// deep nests n elements.
func deep(n int) string {
	return strings.Repeat("<D>", n) + strings.Repeat("</D>", n)
}

// utf16Units is doc as UTF-16LE with a BOM and the given code units put
// into the display name.
func utf16Units(t *testing.T, doc string, units ...uint16) []byte {
	t.Helper()
	b := utf16(t, unicode.LittleEndian, strings.Replace(doc, "Überwachung", "Überwachung@", 1))
	at := bytes.Index(b, []byte{'@', 0})
	require.Positive(t, at)
	var mid []byte
	for _, u := range units {
		mid = append(mid, byte(u), byte(u>>8))
	}
	return append(append(append([]byte(nil), b[:at]...), mid...), b[at+2:]...)
}

// utf16Tail is doc as UTF-16LE with a BOM and the given code units at the
// end.
func utf16Tail(t *testing.T, doc string, units ...uint16) []byte {
	t.Helper()
	b := utf16(t, unicode.LittleEndian, doc)
	for _, u := range units {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func manyAttrs(n int) string {
	var b strings.Builder
	b.WriteString("<Rule")
	for i := range n {
		fmt.Fprintf(&b, ` a%d="x"`, i)
	}
	b.WriteString("/>")
	return b.String()
}

func TestReadErrors(t *testing.T) {
	good := sampleDoc("utf-8", "<Monitoring/>")
	noBOM16 := utf16(t, unicode.LittleEndian, good)[2:]
	tests := []struct {
		name string
		doc  []byte
		lim  pack.Limits
		// manifest is the sentinel ReadManifest must return; nil means it
		// succeeds (the fault is after </Manifest>).
		manifest error
		// validate is the sentinel Validate must return.
		validate error
		msg      string // substring of the Validate error
	}{
		{"empty", nil, pack.Limits{}, pack.ErrNotManagementPack, pack.ErrNotManagementPack, "no root element"},
		{"only a comment", []byte("<!-- nothing -->"), pack.Limits{}, pack.ErrNotManagementPack, pack.ErrNotManagementPack, "no root element"},
		{"UTF-16 without BOM", noBOM16, pack.Limits{}, pack.ErrNotManagementPack, pack.ErrNotManagementPack, "without a byte-order mark"},
		{"UTF-16BE without BOM", utf16(t, unicode.BigEndian, good)[2:], pack.Limits{}, pack.ErrNotManagementPack, pack.ErrNotManagementPack, "without a byte-order mark"},
		{"declared windows-1252", []byte(sampleDoc("windows-1252", "")), pack.Limits{}, pack.ErrNotManagementPack, pack.ErrNotManagementPack, `declared encoding "windows-1252" is not supported`},
		{"declared iso-8859-1", []byte(sampleDoc("ISO-8859-1", "")), pack.Limits{}, pack.ErrNotManagementPack, pack.ErrNotManagementPack, `"ISO-8859-1"`},
		{"DTD", []byte(`<?xml version="1.0"?><!DOCTYPE ManagementPack [<!ENTITY a "b">]><ManagementPack><Manifest/></ManagementPack>`), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "DTD or entity declarations are not accepted"},
		{"DTD after manifest", []byte(sampleDoc("utf-8", "") + `<!DOCTYPE x>`), pack.Limits{}, nil, pack.ErrMalformed, "DTD"},
		{"undeclared entity", []byte(strings.Replace(good, "Contoso Überwachung", "&lol;", 1)), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "lol"},
		{"sealed pack without a PE header", append([]byte("MZ\x90\x00\x03"), make([]byte, 100)...), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "sealed pack: no PE signature at offset 0x0"},
		{"bundle", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 100)...), pack.Limits{}, pack.ErrNotManagementPack, pack.ErrNotManagementPack, "bundle (.mpb"},
		{"wrong root", []byte(`<?xml version="1.0"?><DataSourceModuleType ID="x"><Configuration/></DataSourceModuleType>`), pack.Limits{}, pack.ErrNotManagementPack, pack.ErrNotManagementPack, "root element is <DataSourceModuleType>, want <ManagementPack>"},
		{"text before root", []byte("hello <ManagementPack/>"), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "text before the root element"},
		{"element before manifest", []byte(`<ManagementPack><TypeDefinitions/>` + sampleManifest + `</ManagementPack>`), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "<TypeDefinitions> comes before <Manifest>"},
		{"root without manifest", []byte(`<ManagementPack SchemaVersion="2.0"></ManagementPack>`), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "<ManagementPack> has no <Manifest>"},
		{"truncated in manifest", []byte(good[:strings.Index(good, "<References>")]), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "unexpected EOF"},
		{"truncated after manifest", []byte(good[:len(good)-20]), pack.Limits{}, nil, pack.ErrMalformed, "pack Contoso.Sample"},
		{"unclosed tag", []byte(strings.Replace(good, "</Identity>", "", 1)), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "Identity"},
		{"second root", []byte(good + "<ManagementPack/>"), pack.Limits{}, nil, pack.ErrMalformed, "a second root element <ManagementPack>"},
		{"text after root", []byte(good + "trailing"), pack.Limits{}, nil, pack.ErrMalformed, "text after the root element"},
		{"too deep", []byte(sampleDoc("utf-8", deep(20))), pack.Limits{MaxDepth: 10}, nil, pack.ErrMalformed, "nest deeper than 10"},
		{"too deep by default", []byte(sampleDoc("utf-8", deep(300))), pack.Limits{}, nil, pack.ErrMalformed, "nest deeper than 256"},
		{"too deep inside manifest", []byte(strings.Replace(good, "<Name>", deep(300)+"<Name>", 1)), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "nest deeper than 256"},
		{"too many attributes", []byte(sampleDoc("utf-8", manyAttrs(20))), pack.Limits{MaxAttrs: 10}, nil, pack.ErrMalformed, "<Rule> at line 23 has 20 attributes, limit 10"},
		{"too many attributes on root", []byte(strings.Replace(good, "<ManagementPack", manyAttrs(300)[:len(manyAttrs(300))-2]+"><X/></Rule><ManagementPack", 1)), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "has 300 attributes, limit 256"},
		{"too large", []byte(sampleDoc("utf-8", strings.Repeat("<!-- padding -->", 1000))), pack.Limits{MaxBytes: 4096}, nil, pack.ErrMalformed, "document is larger than 4096 bytes"},
		{"missing id", []byte(strings.Replace(good, "<ID>Contoso.Sample</ID>", "", 1)), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "Manifest/Identity/ID is missing"},
		{"bad version", []byte(strings.Replace(good, "1.0.3.0", "1.0.x.0", 1)), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "pack Contoso.Sample: Manifest/Identity/Version"},
		{"two-part reference version is fine", []byte(strings.Replace(good, "7.5.8501.0", "7.5", 1)), pack.Limits{}, nil, nil, ""},
		{"reference without id", []byte(strings.Replace(good, "<ID>System.Library</ID>", "", 1)), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, `reference 2 (alias "System") has no ID`},
		// Regression (issue 15, point 6): white space around an id or a
		// version, two manifests and duplicated manifest fields were
		// accepted.
		{"space around the id", []byte(strings.Replace(good, "<ID>Contoso.Sample</ID>", "<ID> Contoso.Sample\n</ID>", 1)), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, `Manifest/Identity/ID " Contoso.Sample\n" has white space around it`},
		{"space around the version", []byte(strings.Replace(good, "<Version>1.0.3.0</Version>", "<Version>1.0.3.0 </Version>", 1)), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "Manifest/Identity/Version"},
		{"space around a reference id", []byte(strings.Replace(good, "<ID>System.Library</ID>", "<ID> System.Library </ID>", 1)), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, `reference 2 (alias "System"): ID " System.Library "`},
		{"second manifest", []byte(sampleDoc("utf-8", strings.Replace(sampleManifest, "Contoso.Sample", "Contoso.Other", 1))), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "a second <Manifest>"},
		{"second manifest after other elements", []byte(sampleDoc("utf-8", "<Monitoring/>"+sampleManifest)), pack.Limits{}, nil, pack.ErrMalformed, "a second <Manifest>"},
		{"second id", []byte(strings.Replace(good, "<ID>Contoso.Sample</ID>", "<ID>Contoso.Sample</ID><ID>Contoso.Other</ID>", 1)), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "a second <ID> in <Identity>"},
		{"second identity", []byte(strings.Replace(good, "<Name>", "<Identity><ID>X</ID><Version>9.0.0.0</Version></Identity><Name>", 1)), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "a second <Identity> in <Manifest>"},
		{"second reference version", []byte(strings.Replace(good, "<Version>7.5.8501.0</Version>", "<Version>7.5.8501.0</Version><Version>1.0.0.0</Version>", 1)), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "a second <Version> in <Reference>"},
		{"utf-16 lone high surrogate", utf16Units(t, good, 0xD800, 'x'), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "lone high surrogate"},
		{"utf-16 lone low surrogate", utf16Units(t, good, 0xDC00), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "lone low surrogate"},
		{"utf-16 high surrogate at the end", utf16Tail(t, good, 0xD800), pack.Limits{}, nil, pack.ErrMalformed, "lone high surrogate"},
		{"utf-16 odd length", append(utf16(t, unicode.LittleEndian, good), 'x'), pack.Limits{}, nil, pack.ErrMalformed, "odd byte"},
		{"utf-16 surrogate pair is fine", utf16(t, unicode.LittleEndian, strings.Replace(good, "Überwachung", "Überwachung 𝄞", 1)), pack.Limits{}, nil, nil, ""},
		{"reference version overflow", []byte(strings.Replace(good, "7.5.8501.0", "7.5.8501.2147483648", 1)), pack.Limits{}, pack.ErrMalformed, pack.ErrMalformed, "pack Contoso.Sample: reference 2 (System.Library)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pack.ReadManifest(bytes.NewReader(tt.doc))
			if tt.manifest == nil {
				assert.NoError(t, err, "ReadManifest")
			} else {
				assert.ErrorIs(t, err, tt.manifest, "ReadManifest")
			}
			_, err = pack.Validate(bytes.NewReader(tt.doc), pack.Expect{}, tt.lim)
			if tt.validate == nil {
				assert.NoError(t, err, "Validate")
				return
			}
			require.ErrorIs(t, err, tt.validate, "Validate")
			assert.Contains(t, err.Error(), tt.msg)
			other := pack.ErrMalformed
			if tt.validate == pack.ErrMalformed {
				other = pack.ErrNotManagementPack
			}
			assert.NotErrorIs(t, err, other, "one sentinel per error")
		})
	}
}

func TestValidateIdentity(t *testing.T) {
	doc := []byte(sampleDoc("utf-8", ""))
	tests := []struct {
		name   string
		expect pack.Expect
		msg    string // empty: no error
	}{
		{"nothing expected", pack.Expect{}, ""},
		{"id matches", pack.Expect{ID: "Contoso.Sample"}, ""},
		{"id and version match", pack.Expect{ID: "Contoso.Sample", Version: pack.MustParseVersion("1.0.3")}, ""},
		{"other id", pack.Expect{ID: "Contoso.Other"}, "document declares Contoso.Sample 1.0.3.0, expected Contoso.Other"},
		{"other version", pack.Expect{ID: "Contoso.Sample", Version: pack.MustParseVersion("1.0.4.0")}, "expected version 1.0.4.0"},
		{"id case differs", pack.Expect{ID: "contoso.sample"}, "expected contoso.sample"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := pack.Validate(bytes.NewReader(doc), tt.expect, pack.Limits{})
			assert.Equal(t, "Contoso.Sample", m.ID, "the manifest is returned either way")
			if tt.msg == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, pack.ErrIdentity)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestDefaultLimits(t *testing.T) {
	assert.Equal(t, pack.Limits{MaxBytes: 64 << 20, MaxDepth: 256, MaxAttrs: 256}, pack.DefaultLimits())
}

// boundedReader serves a prefix, then an endless stream of filler, and
// counts what it served. It fails the test when more than max bytes are read.
type boundedReader struct {
	t      *testing.T
	prefix []byte
	filler []byte
	served int
	max    int
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.served >= b.max {
		b.t.Errorf("read past %d bytes", b.max)
		return 0, errors.New("boundedReader: read past the allowed point")
	}
	n := 0
	for n < len(p) && b.served < b.max {
		var src []byte
		if b.served < len(b.prefix) {
			src = b.prefix[b.served:]
		} else {
			off := (b.served - len(b.prefix)) % len(b.filler)
			src = b.filler[off:]
		}
		k := copy(p[n:], src)
		if rem := b.max - b.served; k > rem {
			k = rem
		}
		n += k
		b.served += k
	}
	return n, nil
}

// TestReadManifestStopsAtManifest serves a manifest followed by "many MB" of
// rules (up to 64 MiB are available) and checks that ReadManifest reads no
// more than the manifest plus the decoders' buffers.
func TestReadManifestStopsAtManifest(t *testing.T) {
	const slack = 64 << 10 // bufio and transform buffers are 4 KiB each; allow plenty
	rule := []byte(`<Rule ID="Filler" Enabled="true"><![CDATA[ padding padding padding ]]></Rule>` + "\n")
	tests := []struct {
		name   string
		prefix []byte
	}{
		{"UTF-8", []byte(`<?xml version="1.0" encoding="utf-8"?><ManagementPack>` + sampleManifest + `<Monitoring><Rules>`)},
		{"UTF-16LE", utf16(t, unicode.LittleEndian, `<?xml version="1.0" encoding="utf-16"?><ManagementPack>`+sampleManifest+`<Monitoring><Rules>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			filler := rule
			if tt.name == "UTF-16LE" {
				filler = utf16(t, unicode.LittleEndian, string(rule))[2:]
			}
			r := &boundedReader{t: t, prefix: tt.prefix, filler: filler, max: 64 << 20}
			m, err := pack.ReadManifest(r)
			require.NoError(t, err)
			assert.Equal(t, "Contoso.Sample", m.ID)
			assert.LessOrEqual(t, r.served, len(tt.prefix)+slack, "bytes read")
		})
	}
}

// TestReadManifestGeneratedSizes reads packs of growing size through a
// counting reader: the bytes read stay the same.
func TestReadManifestGeneratedSizes(t *testing.T) {
	var first int
	for i, size := range []int{50 << 10, 1 << 20, 8 << 20} {
		b, err := packgen.Spec{ID: "Contoso.Sized", TargetSize: size}.Bytes()
		require.NoError(t, err)
		r := &boundedReader{t: t, prefix: b, filler: []byte(" "), max: len(b)}
		_, err = pack.ReadManifest(r)
		require.NoError(t, err)
		if i == 0 {
			first = r.served
			continue
		}
		assert.Equal(t, first, r.served, "bytes read for a %d-byte pack", size)
	}
}

func TestReadManifestNoManifestWithinLimit(t *testing.T) {
	doc := `<ManagementPack><!--` + strings.Repeat("x", 5<<20) + `--><Manifest/></ManagementPack>`
	_, err := pack.ReadManifest(strings.NewReader(doc))
	require.ErrorIs(t, err, pack.ErrMalformed)
	assert.Contains(t, err.Error(), "no </Manifest> within the first 4194304 bytes")
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestReadErrorPropagates(t *testing.T) {
	boom := errors.New("disk gone")
	r := io.MultiReader(strings.NewReader(`<ManagementPack><Manifest>`), failingReader{boom})
	_, err := pack.ReadManifest(r)
	assert.ErrorIs(t, err, boom)
	r = io.MultiReader(strings.NewReader(sampleDoc("utf-8", "")[:300]), failingReader{boom})
	_, err = pack.Validate(r, pack.Expect{}, pack.Limits{})
	assert.ErrorIs(t, err, boom)
}

func TestManifestReference(t *testing.T) {
	r, ok := sampleWant.Reference("System.Library")
	assert.True(t, ok)
	assert.Equal(t, "System", r.Alias)
	_, ok = sampleWant.Reference("Nope")
	assert.False(t, ok)
}

func TestSealedText(t *testing.T) {
	for _, s := range []pack.Sealed{pack.SealedUnknown, pack.SealedNo, pack.SealedYes} {
		b, err := s.MarshalText()
		require.NoError(t, err)
		var back pack.Sealed
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, s, back)
	}
	var s pack.Sealed
	assert.Error(t, s.UnmarshalText([]byte("maybe")))
}

func TestTestdataPacks(t *testing.T) {
	dir := filepath.Join(repoRoot, "testdata", "packs")
	tests := []struct {
		file    string
		id      string
		version string
		refs    int
		err     error
	}{
		{"base.xml", "Contoso.Base", "1.0.0.0", 2, nil},
		{"with-references.xml", "Contoso.Monitoring", "2.1.0.3", 3, nil},
		{"utf8-bom.xml", "Contoso.Windows.Export", "3.2.100.7", 1, nil},
		{"utf16le-bom.xml", "Contoso.Windows.Export", "3.2.100.7", 1, nil},
		{"malformed-unclosed.xml", "", "", 0, pack.ErrMalformed},
		{"malformed-dtd.xml", "", "", 0, pack.ErrMalformed},
		{"wrong-root.xml", "", "", 0, pack.ErrNotManagementPack},
		{"bad-version.xml", "", "", 0, pack.ErrInvalidVersion},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tt.file))
			require.NoError(t, err)
			m, err := pack.Validate(bytes.NewReader(b), pack.Expect{}, pack.Limits{})
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				_, err = pack.ReadManifest(bytes.NewReader(b))
				assert.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.id, m.ID)
			assert.Equal(t, tt.version, m.Version.String())
			assert.Len(t, m.References, tt.refs)
		})
	}
	a, err := os.ReadFile(filepath.Join(dir, "utf8-bom.xml"))
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, "utf16le-bom.xml"))
	require.NoError(t, err)
	require.Equal(t, []byte{0xFF, 0xFE}, b[:2])
	ma, err := pack.ReadManifest(bytes.NewReader(a))
	require.NoError(t, err)
	mb, err := pack.ReadManifest(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, ma, mb)
	assert.Equal(t, "Contoso Überwachung – Export", mb.Name)
}
