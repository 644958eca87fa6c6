package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// Pack returns a small, valid management pack (UTF-8 XML) declaring id and
// version, named id + " (storetest)", referencing refs in order. It panics
// on a version that does not parse, which is a bug in the calling test.
func Pack(id, version string, refs ...pack.Reference) []byte {
	return build(id, version, refs, 0)
}

// PaddedPack is [Pack] with rules added until the document is at least size
// bytes long, for tests and benchmarks of large packs.
func PaddedPack(id, version string, size int) []byte {
	return build(id, version, nil, size)
}

// Request returns an ImportRequest for data that expects id, version, the
// exact size and SHA-256 of data, and records workspace provenance.
func Request(id, version string, data []byte) storage.ImportRequest {
	sum := sha256.Sum256(data)
	return storage.ImportRequest{
		ID:      id,
		Version: pack.MustParseVersion(version),
		SHA256:  hex.EncodeToString(sum[:]),
		Size:    int64(len(data)),
		Provenance: storage.Provenance{
			Owner:       storage.OwnerWorkspace,
			WorkspaceID: "storetest-workspace",
			Rule:        "Microsoft.SystemCenter.Advisor.MPUpdate",
		},
	}
}

func build(id, version string, refs []pack.Reference, size int) []byte {
	pack.MustParseVersion(version)
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n")
	b.WriteString("<ManagementPack ContentReadable=\"true\" SchemaVersion=\"2.0\" OriginalSchemaVersion=\"1.1\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\n")
	b.WriteString("  <Manifest>\n    <Identity>\n      <ID>")
	esc(&b, id)
	b.WriteString("</ID>\n      <Version>")
	esc(&b, version)
	b.WriteString("</Version>\n    </Identity>\n    <Name>")
	esc(&b, id+" (storetest)")
	b.WriteString("</Name>\n")
	if len(refs) > 0 {
		b.WriteString("    <References>\n")
		for _, r := range refs {
			b.WriteString("      <Reference Alias=\"")
			esc(&b, r.Alias)
			b.WriteString("\">\n        <ID>")
			esc(&b, r.ID)
			b.WriteString("</ID>\n        <Version>")
			esc(&b, r.Version.String())
			b.WriteString("</Version>\n")
			if r.PublicKeyToken != "" {
				b.WriteString("        <PublicKeyToken>")
				esc(&b, r.PublicKeyToken)
				b.WriteString("</PublicKeyToken>\n")
			}
			b.WriteString("      </Reference>\n")
		}
		b.WriteString("    </References>\n")
	}
	b.WriteString("  </Manifest>\n  <Monitoring>\n    <Rules>\n")
	for n := 1; b.Len() < size; n++ {
		fmt.Fprintf(&b, "      <Rule ID=\"%s.Rule%d\" Enabled=\"true\" Target=\"SC!Microsoft.SystemCenter.ManagementGroup\" ConfirmDelivery=\"false\" Remotable=\"true\" Priority=\"Normal\" DiscardLevel=\"100\">\n", xmlText(id), n)
		b.WriteString("        <Category>Custom</Category>\n        <DataSources>\n")
		fmt.Fprintf(&b, "          <DataSource ID=\"Scheduler\" TypeID=\"System!System.Scheduler\"><Scheduler><SimpleReccuringSchedule><Interval Unit=\"Seconds\">%d</Interval></SimpleReccuringSchedule><ExcludeDates /></Scheduler></DataSource>\n", 300+n)
		b.WriteString("        </DataSources>\n        <WriteActions>\n          <WriteAction ID=\"Log\" TypeID=\"System!System.Event.GenericDataMapper\" />\n        </WriteActions>\n      </Rule>\n")
	}
	b.WriteString("    </Rules>\n  </Monitoring>\n</ManagementPack>\n")
	return b.Bytes()
}

func esc(b *bytes.Buffer, s string) { _ = xml.EscapeText(b, []byte(s)) }

func xmlText(s string) string {
	var b bytes.Buffer
	esc(&b, s)
	return b.String()
}
