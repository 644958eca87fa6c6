package pack_test

import (
	"bytes"
	"math/rand/v2"
	"testing"
	u16 "unicode/utf16"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/pack"
)

// scanSnippets are what mutations insert: every construct the scanner
// decides on, right and wrong.
var scanSnippets = []string{
	"<", ">", "&", "&amp;", "&lt;", "&gt;", "&apos;", "&quot;", "&bogus;", "&Amp;", "&;", "&#", "&#;", "&#x;", "&#0;", "&#9;",
	"&#32;", "&#x20;", "&#xD800;", "&#x10FFFF;", "&#x110000;", "&#99999999999999999999;", "&#xFFFE;", "&#65", "&lt",
	"]]>", "]]", "]", "<!--", "-->", "--", "<!-- c -->", "<!-- a -- b -->", "<!--->", "<![CDATA[", "<![CDATA[x]]>",
	"<![CDATA[ ]]>", "<![CDAT", "<?xml version=\"1.0\"?>", "<?xml version=\"1.1\"?>", "<?xml encoding=\"latin1\"?>",
	"<?xml encoding='UTF-16'?>", "<?pi data?>", "<?1pi?>", "<??>", "<!DOCTYPE x>", "<!ENTITY e 'x'>", "<!x>",
	"\x00", "\x01", "\x0B", "\x7F", "\xC3", "\xC3\xA9", "\xE2\x80\xA8", "\xEF\xBF\xBE", "\xEF\xBF\xBD", "\xF4\x90\x80\x80",
	"\xED\xA0\x80", "\u00A0", "\u3000", "\r\n", "\r", "\t", " ",
	"<a/>", "<a>", "</a>", "<a></a>", "<a:b/>", "<a:b:c/>", "<:a/>", "<a:/>", "<1a/>", "<é/>", "<a\u00B7b/>", "<a\u0300/>",
	"<a b='1'/>", "<a b=\"1\"c='2'/>", "<a b=1/>", "<a b/>", "<a b='<'/>", "<a b='&amp;'/>", "<a b='&x;'/>", "<a b='\x01'/>",
	"<a b = '1' />", "<a /b>", "</a b>", "</ a>", "</>", "<>", "'", "\"", "=", "/", "x",
	"<ManagementPack>", "</ManagementPack>", "<Manifest>", "</Manifest>", "</Monitoring>",
}

// mutate returns doc with one to three random edits: a snippet inserted, a
// range deleted, or a byte replaced.
func mutate(rnd *rand.Rand, doc []byte) []byte {
	out := bytes.Clone(doc)
	for range 1 + rnd.IntN(3) {
		at := rnd.IntN(len(out) + 1)
		switch rnd.IntN(4) {
		case 0, 1:
			sn := scanSnippets[rnd.IntN(len(scanSnippets))]
			out = append(out[:at], append([]byte(sn), out[at:]...)...)
		case 2:
			if at < len(out) {
				end := min(len(out), at+1+rnd.IntN(20))
				out = append(out[:at], out[end:]...)
			}
		case 3:
			if at < len(out) {
				out[at] = byte(rnd.IntN(256))
			}
		}
	}
	return out
}

// TestValidateMatchesDecoder checks Validate (the manifest by encoding/xml,
// the whole document by scanDocument) against the decoder reading the whole
// document, over random edits of generated packs: both accept or both
// refuse, and what they accept has the same manifest.
func TestValidateMatchesDecoder(t *testing.T) {
	var docs [][]byte
	for i, size := range []int{2 << 10, 16 << 10} {
		spec := packgen.Spec{ID: "Contoso.Scan", Version: pack.MustParseVersion("1.0.0.0"), TargetSize: size + i}
		for j := range 3 {
			spec.References = append(spec.References, pack.Reference{Alias: "R" + string(rune('A'+j)), ID: "Contoso.Lib" + string(rune('A'+j)), Version: pack.MustParseVersion("1.0.0.0")})
		}
		doc, err := spec.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc, append([]byte("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<!-- head -->"), doc[bytes.IndexByte(doc, '>')+1:]...))
	}
	lims := []pack.Limits{{}, {MaxDepth: 6, MaxAttrs: 3}, {MaxBytes: 4 << 10}}
	rnd := rand.New(rand.NewPCG(12, 60))
	n := 30_000
	if testing.Short() {
		n = 3_000
	}
	accepted := 0
	for i := range n {
		doc := docs[rnd.IntN(len(docs))]
		if i%10 != 0 {
			// Mutations after the manifest, where scanDocument decides
			// alone, most of the time.
			end := bytes.Index(doc, []byte("</Manifest>")) + len("</Manifest>")
			doc = append(bytes.Clone(doc[:end]), mutate(rnd, doc[end:])...)
		} else {
			doc = mutate(rnd, doc)
		}
		lim := lims[rnd.IntN(len(lims))]
		got, gotErr := pack.Validate(bytes.NewReader(doc), pack.Expect{}, lim)
		want, wantErr := pack.ValidateByDecoder(bytes.NewReader(doc), pack.Expect{}, lim)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("case %d: Validate: %v; the decoder: %v\n%q", i, gotErr, wantErr, tail(doc))
		}
		if gotErr == nil {
			accepted++
			if got.ID != want.ID || got.Version != want.Version || len(got.References) != len(want.References) {
				t.Fatalf("case %d: manifests differ: %+v and %+v", i, got, want)
			}
		}
	}
	if accepted < n/20 || accepted > n-n/20 {
		t.Fatalf("%d of %d accepted: the mutations do not exercise both sides", accepted, n)
	}
	t.Logf("%d of %d accepted", accepted, n)
}

func tail(doc []byte) []byte {
	if i := bytes.Index(doc, []byte("</Manifest>")); i >= 0 {
		return doc[i:]
	}
	return doc
}

// FuzzValidateMatchesDecoder is TestValidateMatchesDecoder's comparison
// for go test -fuzz.
func FuzzValidateMatchesDecoder(f *testing.F) {
	spec := packgen.Spec{ID: "Contoso.Scan", Version: pack.MustParseVersion("1.0.0.0"), TargetSize: 2 << 10}
	doc, err := spec.Bytes()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc)
	end := bytes.Index(doc, []byte("</Manifest>")) + len("</Manifest>")
	for _, sn := range scanSnippets {
		f.Add(append(append(bytes.Clone(doc[:end]), sn...), doc[end:]...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := pack.Limits{MaxBytes: 1 << 20, MaxDepth: 32, MaxAttrs: 16}
		_, gotErr := pack.Validate(bytes.NewReader(b), pack.Expect{}, lim)
		_, wantErr := pack.ValidateByDecoder(bytes.NewReader(b), pack.Expect{}, lim)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("Validate: %v; the decoder: %v", gotErr, wantErr)
		}
	})
}

// toUTF16 returns doc as UTF-16 with a byte-order mark (invalid UTF-8
// becomes U+FFFD).
func toUTF16(doc []byte, big bool) []byte {
	out := []byte{0xFF, 0xFE}
	if big {
		out = []byte{0xFE, 0xFF}
	}
	for _, u := range u16.Encode([]rune(string(doc))) {
		if big {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

// TestValidateMatchesDecoderUTF16AndSealed is TestValidateMatchesDecoder
// for the forms Validate once left to the decoder: UTF-16 in either byte
// order (edited before transcoding, and as UTF-16 bytes, which makes lone
// surrogates and odd lengths), and sealed packs (.mp) of edited XML. Both
// must accept and refuse the same documents with the same manifest, and a
// sealed pack must say so in its manifest.
func TestValidateMatchesDecoderUTF16AndSealed(t *testing.T) {
	spec := packgen.Spec{ID: "Contoso.Scan16", Version: pack.MustParseVersion("1.0.0.0"), TargetSize: 6 << 10,
		References: []pack.Reference{{Alias: "RA", ID: "Contoso.LibA", Version: pack.MustParseVersion("1.0.0.0")}}}
	doc, err := spec.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	end := bytes.Index(doc, []byte("</Manifest>")) + len("</Manifest>")
	lims := []pack.Limits{{}, {MaxDepth: 6, MaxAttrs: 3}, {MaxBytes: 8 << 10}}
	rnd := rand.New(rand.NewPCG(16, 61))
	n := 3_000
	if testing.Short() {
		n = 600
	}
	accepted := map[string]int{}
	for i := range n {
		edited := append(bytes.Clone(doc[:end]), mutate(rnd, doc[end:])...)
		if i%10 == 0 {
			edited = mutate(rnd, doc)
		}
		if i%5 == 0 {
			edited = bytes.Clone(doc) // some unedited: the accepting side
		}
		var in []byte
		form := ""
		switch i % 4 {
		case 0:
			form, in = "UTF-16LE", toUTF16(edited, false)
		case 1:
			form, in = "UTF-16BE", toUTF16(edited, true)
		case 2:
			form = "UTF-16 bytes edited"
			in = toUTF16(doc, i%8 == 2)
			in = append(bytes.Clone(in[:2*end]), mutate(rnd, in[2*end:])...)
		case 3:
			form = "sealed"
			if in, err = packgen.Seal(edited, packgen.SealOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		lim := lims[rnd.IntN(len(lims))]
		if form == "sealed" && lim.MaxBytes != 0 {
			lim.MaxBytes = 64 << 10 // the sealed file is larger than its XML's limit would allow
		}
		got, gotErr := pack.Validate(bytes.NewReader(in), pack.Expect{}, lim)
		want, wantErr := pack.ValidateByDecoder(bytes.NewReader(in), pack.Expect{}, lim)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("case %d (%s): Validate: %v; the decoder: %v", i, form, gotErr, wantErr)
		}
		if gotErr == nil {
			accepted[form]++
			if got.ID != want.ID || got.Version != want.Version || len(got.References) != len(want.References) || got.Sealed != want.Sealed {
				t.Fatalf("case %d (%s): manifests differ: %+v and %+v", i, form, got, want)
			}
			if (form == "sealed") != (got.Sealed == pack.SealedYes) {
				t.Fatalf("case %d (%s): Sealed = %v", i, form, got.Sealed)
			}
		}
	}
	for _, form := range []string{"UTF-16LE", "UTF-16BE", "UTF-16 bytes edited", "sealed"} {
		if k := accepted[form]; k == 0 || k >= n/4 {
			t.Errorf("%s: %d of %d accepted: the edits do not exercise both sides", form, k, n/4)
		}
	}
	t.Logf("accepted: %v", accepted)
}
