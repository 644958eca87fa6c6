package packgen

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"unicode/utf16"

	"golang.org/x/text/encoding/unicode"

	"mpsync.dev/mpsync/pack"
)

// SealOptions says how [Seal] lays out a sealed pack. The zero value gives
// the layout of Microsoft's sealed packs (as read from
// Microsoft.SystemCenter.DataProtectionManager.2012.Library.mp): a PE32
// DLL whose single manifest resource MPResources.resources is a .resources
// file with one byte-array entry, ManagementPack, holding the pack's XML as
// UTF-16LE without a byte-order mark or XML declaration, gzip-compressed.
type SealOptions struct {
	// AssemblyName is the Assembly table's Name; empty means the pack id
	// (as in Microsoft's packs), or "Packgen.Sealed" when the XML has none.
	AssemblyName string
	// PublicKey is the Assembly table's PublicKey blob; nil means
	// [DefaultPublicKey]. The pack's token is derived from it.
	PublicKey []byte
	// Unsigned leaves the Assembly's PublicKey empty, so the pack has no
	// token.
	Unsigned bool
	// ResourceName is the manifest resource's name; empty means
	// "MPResources.resources".
	ResourceName string
	// Direct stores the payload as the manifest resource itself, without
	// a .resources file around it (name the resource "ManagementPack").
	Direct bool
	// KeepEncoding compresses the XML as given instead of converting it to
	// UTF-16LE without a byte-order mark.
	KeepEncoding bool
	// Uncompressed stores the XML without gzip.
	Uncompressed bool
	// Payload, when not nil, is stored as the entry's bytes as is, instead
	// of the XML: for hostile inputs such as compression bombs.
	Payload []byte
	// PE32Plus writes a PE32+ (64-bit) optional header instead of PE32.
	PE32Plus bool
	// WideHeaps makes every #Strings, #GUID and #Blob index four bytes.
	WideHeaps bool
	// ExtraRows adds all-zero rows to metadata tables 0x01 to 0x27 (not
	// the Assembly table, 0x20), by table number, so that readers must
	// size the tables stored before ManifestResource; 70,000 rows of a
	// table make the indexes and coded indexes into it four bytes.
	ExtraRows map[int]uint32
}

// DefaultPublicKey is the public key [Seal] signs packs with unless told
// otherwise: 160 bytes in the shape of a .NET RSA public key blob. It is
// made up; no private key belongs to it.
var DefaultPublicKey = func() []byte {
	k := []byte{0x00, 0x24, 0x00, 0x00, 0x04, 0x80, 0x00, 0x00, 0x94, 0x00, 0x00, 0x00, 0x06, 0x02, 0x00, 0x00,
		0x00, 0x24, 0x00, 0x00, 'R', 'S', 'A', '1', 0x00, 0x04, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00}
	for i := len(k); i < 160; i++ {
		k = append(k, byte(i*37+11))
	}
	return k
}()

// SealLayout gives the file offsets of the parts of a sealed pack Seal
// wrote, so tests can corrupt each one.
type SealLayout struct {
	// CLIDirectory is data directory 14 (RVA and size) in the optional header.
	CLIDirectory int
	// CLIHeader is the CLI header.
	CLIHeader int
	// Resources is the CLI header's resources directory: the resource's
	// four-byte length, then its data.
	Resources int
	// Entry is the ManagementPack entry's value in the .resources file: its
	// type code, four-byte length and bytes (-1 with Direct).
	Entry int
	// Payload and PayloadLen are the stored (compressed) XML.
	Payload, PayloadLen int
	// Metadata is the metadata root (BSJB).
	Metadata int
	// Tables is the #~ stream; ManifestResourceRow is the resource's row in it.
	Tables, ManifestResourceRow int
	// Sections is the section table; the file has one section, .text.
	Sections int
}

// Seal returns xml wrapped as a sealed management pack (.mp): a minimal but
// valid .NET assembly as [SealOptions] describes. xml is not checked, so
// broken packs can be sealed too.
func Seal(xml []byte, opts SealOptions) ([]byte, error) {
	b, _, err := SealWithLayout(xml, opts)
	return b, err
}

// SealWithLayout is [Seal] that also says where each part was written.
func SealWithLayout(xml []byte, opts SealOptions) ([]byte, SealLayout, error) {
	for t := range opts.ExtraRows {
		if t < 0x01 || t > 0x27 || t == 0x20 {
			return nil, SealLayout{}, fmt.Errorf("packgen: SealOptions.ExtraRows: table 0x%02x is not one of 0x01..0x27 but 0x20", t)
		}
	}
	payload, err := sealPayload(xml, opts)
	if err != nil {
		return nil, SealLayout{}, err
	}
	res, entry := payload, -1
	if !opts.Direct {
		res, entry = resourcesFile(payload)
	}
	asm := assemblyFor(xml, opts)
	return writePE(asm, res, entry, len(payload), opts)
}

// assembly is what the Assembly table says.
type assembly struct {
	name      string
	version   pack.Version
	publicKey []byte
	resource  string
}

func assemblyFor(xml []byte, opts SealOptions) assembly {
	a := assembly{name: opts.AssemblyName, publicKey: opts.PublicKey, resource: opts.ResourceName}
	if m, err := pack.ReadManifest(bytes.NewReader(xml)); err == nil {
		a.version = m.Version
		if a.name == "" {
			a.name = m.ID
		}
	}
	if a.name == "" {
		a.name = "Packgen.Sealed"
	}
	if a.publicKey == nil {
		a.publicKey = DefaultPublicKey
	}
	if opts.Unsigned {
		a.publicKey = nil
	}
	if a.resource == "" {
		a.resource = "MPResources.resources"
	}
	return a
}

// sealPayload is the entry's bytes: the XML, re-encoded and compressed as
// the options say.
func sealPayload(xml []byte, opts SealOptions) ([]byte, error) {
	if opts.Payload != nil {
		return opts.Payload, nil
	}
	doc := xml
	if !opts.KeepEncoding {
		var err error
		if doc, err = toUTF16NoBOM(xml); err != nil {
			return nil, err
		}
	}
	if opts.Uncompressed {
		return doc, nil
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(doc); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// toUTF16NoBOM re-encodes a UTF-8 or UTF-16 (with BOM) document as
// UTF-16LE without a byte-order mark and drops its XML declaration, which
// is how Microsoft's tools store a sealed pack's XML.
func toUTF16NoBOM(xml []byte) ([]byte, error) {
	text := xml
	if bytes.HasPrefix(xml, []byte{0xFF, 0xFE}) || bytes.HasPrefix(xml, []byte{0xFE, 0xFF}) {
		dec := unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()
		var err error
		if text, err = dec.Bytes(xml); err != nil {
			return nil, fmt.Errorf("packgen: Seal: UTF-16 input: %w", err)
		}
	}
	text = bytes.TrimPrefix(text, []byte{0xEF, 0xBB, 0xBF})
	if bytes.HasPrefix(text, []byte("<?xml")) {
		if end := bytes.Index(text, []byte("?>")); end >= 0 {
			text = bytes.TrimLeft(text[end+2:], " \r\n\t")
		}
	}
	var out []byte
	for _, u := range utf16.Encode([]rune(string(text))) {
		out = binary.LittleEndian.AppendUint16(out, u)
	}
	return out, nil
}
