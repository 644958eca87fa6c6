package pack_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"
	"golang.org/x/text/encoding/unicode"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/pack"
)

// benchPack generates a pack of at least size bytes with 20 references.
func benchPack(b *testing.B, size int) []byte {
	b.Helper()
	spec := packgen.Spec{ID: "Contoso.Bench", Version: pack.MustParseVersion("1.0.0.0"), TargetSize: size}
	for i := range 20 {
		spec.References = append(spec.References, pack.Reference{
			Alias: "Ref" + string(rune('A'+i)), ID: "Contoso.Library" + string(rune('A'+i)), Version: pack.MustParseVersion("7.0.8433.0"),
		})
	}
	doc, err := spec.Bytes()
	if err != nil {
		b.Fatal(err)
	}
	return doc
}

// BenchmarkReadManifest reads only the manifest: the cost must not grow
// with the pack's size.
func BenchmarkReadManifest(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"50KB", 50 << 10}, {"5MB", 5 << 20}, {"50MB", 50 << 20}} {
		b.Run(size.name, func(b *testing.B) {
			doc := benchPack(b, size.n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pack.ReadManifest(bytes.NewReader(doc)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseWhole5MB parses a 5 MB pack completely, for comparison
// with ReadManifest and Validate.
func BenchmarkParseWhole5MB(b *testing.B) {
	doc := benchPack(b, 5<<20)
	b.Run("etree", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			d := etree.NewDocument()
			if _, err := d.ReadFrom(bytes.NewReader(doc)); err != nil {
				b.Fatal(err)
			}
			if d.FindElement("/ManagementPack/Manifest/Identity/ID") == nil {
				b.Fatal("no ID")
			}
		}
	})
	b.Run("xml.Token", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			dec := xml.NewDecoder(bytes.NewReader(doc))
			for {
				_, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("xml.Unmarshal", func(b *testing.B) {
		type rule struct {
			ID       string `xml:"ID,attr"`
			Interval int    `xml:"DataSources>DataSource>IntervalSeconds"`
		}
		type mp struct {
			ID    string `xml:"Manifest>Identity>ID"`
			Rules []rule `xml:"Monitoring>Rules>Rule"`
		}
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			var m mp
			if err := xml.Unmarshal(doc, &m); err != nil {
				b.Fatal(err)
			}
			if m.ID == "" || len(m.Rules) == 0 {
				b.Fatal("nothing read")
			}
		}
	})
}

// BenchmarkValidate5MB checks a whole 5 MB pack with the default limits:
// "scan" is Validate (the manifest by encoding/xml, the document by
// scanDocument), "decoder" the same check with encoding/xml reading the
// whole document (Validate before).
func BenchmarkValidate5MB(b *testing.B) {
	doc := benchPack(b, 5<<20)
	for _, v := range []struct {
		name string
		f    func(io.Reader, pack.Expect, pack.Limits) (pack.Manifest, error)
	}{{"scan", pack.Validate}, {"decoder", pack.ValidateByDecoder}} {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.f(bytes.NewReader(doc), pack.Expect{ID: "Contoso.Bench"}, pack.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPackgen5MB is the cost of generating the benchmark input.
func BenchmarkPackgen5MB(b *testing.B) {
	spec := packgen.Spec{ID: "Contoso.Bench", TargetSize: 5 << 20}
	b.SetBytes(5 << 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := spec.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadManifestSealed reads the manifest of sealed packs (.mp)
// built by packgen.Seal from the same generated XML: the file is read into
// memory whole, the XML is decompressed only up to </Manifest>.
func BenchmarkReadManifestSealed(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"50KB", 50 << 10}, {"5MB", 5 << 20}} {
		b.Run(size.name, func(b *testing.B) {
			mp, err := packgen.Seal(benchPack(b, size.n), packgen.SealOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(mp)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pack.ReadManifest(bytes.NewReader(mp)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("corpus-DPM", func(b *testing.B) {
		mp, err := os.ReadFile(filepath.Join(corpusDir(b), dpmPack))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(mp)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pack.ReadManifest(bytes.NewReader(mp)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkValidateSealed5MB checks a whole sealed pack whose XML is 5 MB
// (UTF-16 inside, as Microsoft's tools write it; a 207 KB file): "scan" is
// Validate (decompressed, transcoded and scanned as it streams), "decoder"
// encoding/xml over the whole XML (Validate before). MB/s are of the XML,
// 5 MB of UTF-8 (10 MB of UTF-16).
func BenchmarkValidateSealed5MB(b *testing.B) {
	doc := benchPack(b, 5<<20)
	mp, err := packgen.Seal(doc, packgen.SealOptions{})
	if err != nil {
		b.Fatal(err)
	}
	benchValidate(b, mp, int64(len(doc)))
}

// BenchmarkValidateUTF16_5MB checks a whole 5 MB pack saved as UTF-16LE
// with a byte-order mark (10 MB); MB/s are of the 5 MB of UTF-8 text.
func BenchmarkValidateUTF16_5MB(b *testing.B) {
	doc := benchPack(b, 5<<20)
	benchValidate(b, utf16(b, unicode.LittleEndian, string(doc)), int64(len(doc)))
}

func benchValidate(b *testing.B, in []byte, size int64) {
	for _, v := range []struct {
		name string
		f    func(io.Reader, pack.Expect, pack.Limits) (pack.Manifest, error)
	}{{"scan", pack.Validate}, {"decoder", pack.ValidateByDecoder}} {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.f(bytes.NewReader(in), pack.Expect{ID: "Contoso.Bench"}, pack.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
