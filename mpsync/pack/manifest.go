package pack

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// ErrNotManagementPack is wrapped by errors for input that is not a
// management pack the reader accepts: a bundle (.mpb), a PE file that is
// not a .NET assembly or holds no pack, another XML document, or text in an
// encoding the reader does not accept.
var ErrNotManagementPack = errors.New("not a management pack")

// ErrMalformed is wrapped by errors for a management pack whose XML is not
// well-formed or breaks the reader's limits, and for a sealed pack whose
// PE, metadata, resources or compressed data are corrupt.
var ErrMalformed = errors.New("malformed management pack")

// Reference is one entry of a manifest's References: a pack this pack uses,
// by the alias its elements are named with.
type Reference struct {
	// Alias is the Alias attribute: the prefix ("SC" in "SC!Element") the
	// pack's elements use to name elements of the referenced pack.
	Alias string `json:"alias"`
	// ID is the referenced pack's id.
	ID string `json:"id"`
	// Version is the least version of the referenced pack that satisfies
	// the reference.
	Version Version `json:"version"`
	// PublicKeyToken is the key token of the referenced sealed pack, when
	// given.
	PublicKeyToken string `json:"publicKeyToken,omitempty"`
}

// Manifest is the identity of a management pack and what it references: all
// the engine needs to diff and order packs.
type Manifest struct {
	// ID is Manifest/Identity/ID, the pack id, as written: white space
	// around it is refused.
	ID string `json:"id"`
	// Version is Manifest/Identity/Version.
	Version Version `json:"version"`
	// Name is Manifest/Name, the display name; it may be empty.
	Name string `json:"name,omitempty"`
	// References are Manifest/References, in document order.
	References []Reference `json:"references,omitempty"`
	// SchemaVersion is the root's SchemaVersion attribute ("1.0", "2.0").
	SchemaVersion string `json:"schemaVersion,omitempty"`
	// OriginalSchemaVersion is the root's OriginalSchemaVersion attribute.
	OriginalSchemaVersion string `json:"originalSchemaVersion,omitempty"`
	// ContentReadable is the root's ContentReadable attribute.
	ContentReadable string `json:"contentReadable,omitempty"`
	// Sealed is SealedYes for a sealed pack (.mp) and SealedUnknown for XML
	// read by this package: an XML document does not say whether it was
	// exported from a sealed pack.
	Sealed Sealed `json:"sealed"`
	// PublicKeyToken is the public key token of a sealed pack's assembly
	// (the last eight bytes of the SHA-1 of its public key, reversed, in
	// lower-case hex, as in a Reference's PublicKeyToken); empty for XML
	// and for an assembly without a public key.
	PublicKeyToken string `json:"publicKeyToken,omitempty"`
}

// Sealed says whether a pack is sealed (signed), as far as is known.
type Sealed int

const (
	// SealedUnknown means the source does not say; XML files are in this state.
	SealedUnknown Sealed = iota
	// SealedNo means the pack is known to be unsealed.
	SealedNo
	// SealedYes means the pack is known to be sealed.
	SealedYes
)

// String returns "unknown", "no" or "yes".
func (s Sealed) String() string {
	switch s {
	case SealedNo:
		return "no"
	case SealedYes:
		return "yes"
	}
	return "unknown"
}

// MarshalText implements [encoding.TextMarshaler].
func (s Sealed) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler].
func (s *Sealed) UnmarshalText(b []byte) error {
	switch string(b) {
	case "unknown", "":
		*s = SealedUnknown
	case "no":
		*s = SealedNo
	case "yes":
		*s = SealedYes
	default:
		return fmt.Errorf("sealed: %q is not unknown, no or yes", b)
	}
	return nil
}

// Reference returns the manifest's reference with the given pack id.
func (m Manifest) Reference(id string) (Reference, bool) {
	for _, r := range m.References {
		if r.ID == id {
			return r, true
		}
	}
	return Reference{}, false
}

// manifestReadLimit bounds how much ReadManifest reads before </Manifest>: a
// manifest is a few KB even in packs of tens of MB.
const manifestReadLimit = 4 << 20

// ReadManifest reads a pack's manifest from r and stops at </Manifest>.
//
// It accepts both forms a pack comes in, told apart by their first bytes:
//
//   - XML: UTF-8 with or without a byte-order mark, or UTF-16 (little or big
//     endian) with a byte-order mark. ReadManifest does not read the rest of
//     the document, so its cost does not grow with the pack's size (it
//     reads at most a few KB past </Manifest>, the decoders' buffers).
//   - A sealed pack (.mp, a .NET assembly starting with "MZ"): the file is
//     read into memory, up to the 64 MiB of [DefaultLimits], since finding
//     the XML needs random access; the XML inside (gzip-compressed UTF-16 in
//     Microsoft's packs) is decompressed only up to </Manifest>. The
//     manifest has Sealed set to [SealedYes] and the assembly's
//     PublicKeyToken.
//
// It refuses bundles (.mpb), PE files that are not .NET assemblies or hold
// no pack, other XML documents and text in other encodings with an error
// wrapping [ErrNotManagementPack], and DTDs, XML errors, a corrupt sealed
// pack, a manifest that does not start within 4 MiB of XML or breaks the
// depth and attribute limits of [DefaultLimits] with an error wrapping
// [ErrMalformed]. Use [Validate] to check a whole document.
func ReadManifest(r io.Reader) (Manifest, error) {
	return read(r, Expect{}, DefaultLimits(), false)
}

// read reads a pack in either form; whole reads and checks the whole
// document (Validate), otherwise it stops at </Manifest> (ReadManifest).
func read(r io.Reader, want Expect, lim Limits, whole bool) (Manifest, error) {
	br := bufio.NewReaderSize(r, 4096)
	readText := func(r io.Reader, desc string) (Manifest, error) { return readXML(r, desc, want, lim, whole) }
	if head, _ := br.Peek(2); isSealed(head) {
		return readSealed(br, lim, readText)
	}
	return readText(br, "")
}

// readSealed reads a sealed pack into memory, finds its XML and reads that
// with readText (desc names the XML in errors).
func readSealed(r io.Reader, lim Limits, readText func(r io.Reader, desc string) (Manifest, error)) (Manifest, error) {
	b, err := readAtMost(r, lim.MaxBytes)
	if err != nil {
		return Manifest{}, err
	}
	sp, err := openSealed(b)
	if err != nil {
		return Manifest{}, err
	}
	xr, err := sp.xmlReader()
	if err != nil {
		return Manifest{}, err
	}
	m, err := readText(xr, "the decompressed XML")
	m.Sealed, m.PublicKeyToken = SealedYes, sp.token
	if err != nil {
		return m, fmt.Errorf("sealed pack %s: %w", sp.where, err)
	}
	return m, nil
}

// readXML reads an XML pack from r. desc names the XML in size errors;
// empty means the input itself.
func readXML(r io.Reader, desc string, want Expect, lim Limits, whole bool) (Manifest, error) {
	cr := &countingReader{r: r, limit: lim.MaxBytes, desc: desc}
	if !whole {
		cr.limit, cr.what = manifestReadLimit, "no </Manifest>"
	}
	dec, err := newDecoder(cr)
	if err != nil {
		return Manifest{}, err
	}
	m, err := readManifestWith(dec, lim)
	if err != nil {
		return m, cr.explain(err)
	}
	if !whole {
		if err := noSecondManifest(dec); err != nil {
			return m, cr.explain(fmt.Errorf("pack %s: %w", m.ID, err))
		}
		return m, nil
	}
	if err := checkIdentity(m, want); err != nil {
		return m, err
	}
	// readManifestWith stopped after </Manifest>; the root is still open.
	if err := drain(dec, 1, lim); err != nil {
		return m, cr.explain(fmt.Errorf("pack %s: %w", m.ID, err))
	}
	return m, nil
}

// newDecoder sniffs the first bytes of r, refuses binary containers and
// unsupported encodings, and returns a decoder that sees UTF-8.
func newDecoder(r io.Reader) (*xml.Decoder, error) {
	src, err := sniff(r)
	if err != nil {
		return nil, err
	}
	return decoderOn(src), nil
}

// sniff reads the first bytes of r, refuses binary containers and
// unsupported encodings, and returns r as UTF-8: a UTF-8 byte-order mark
// dropped, UTF-16 (with its byte-order mark) transcoded and checked for
// lone surrogates.
func sniff(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 4096)
	head, _ := br.Peek(4)
	var src io.Reader = br
	switch {
	case isSealed(head):
		// Only XML inside a sealed pack gets here: the file itself was
		// sniffed by read.
		return nil, fmt.Errorf("%w: a .NET assembly (starting with MZ) where XML was expected", ErrNotManagementPack)
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return nil, fmt.Errorf("%w: this is a management pack bundle (.mpb, an OLE compound document starting with D0 CF 11 E0); extract its packs first", ErrNotManagementPack)
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = br.Discard(3)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		// ExpectBOM reads the byte-order mark, picks the endianness it
		// names and drops it.
		src = transform.NewReader(&utf16Check{r: br}, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder())
	case len(head) >= 2 && (head[0] == 0 || head[1] == 0):
		return nil, fmt.Errorf("%w: UTF-16 or UTF-32 text without a byte-order mark; save it as UTF-8 or with a byte-order mark", ErrNotManagementPack)
	}
	return src, nil
}

// decoderOn returns the strict decoder for the UTF-8 text sniff returned.
func decoderOn(src io.Reader) *xml.Decoder {
	dec := xml.NewDecoder(src)
	dec.Strict = true
	// The bytes reaching the decoder are UTF-8 whatever the declaration says
	// (a UTF-16 file declares encoding="utf-16"); accept UTF-8 aliases and
	// UTF-16, since the transcoding above already happened, and nothing else.
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "utf-16", "utf16", "unicode", "us-ascii", "ascii":
			return in, nil
		}
		return nil, fmt.Errorf("%w: declared encoding %q is not supported (use UTF-8 or UTF-16)", ErrNotManagementPack, label)
	}
	return dec
}

// manifestText collects the text of the manifest fields read by
// readManifestWith.
type manifestText struct {
	id, version, name string
	refs              []refText
}

type refText struct {
	alias, id, version, token string
}

// readManifestWith reads up to the end of </Manifest>, enforcing the depth
// and attribute limits of lim on every element it meets.
func readManifestWith(dec *xml.Decoder, lim Limits) (Manifest, error) {
	var (
		m       Manifest
		mt      manifestText
		path    []string // open elements below the root
		sawRoot bool
		text    strings.Builder
		seen    = map[string]bool{}
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if !sawRoot {
				return m, fmt.Errorf("%w: no root element", ErrNotManagementPack)
			}
			return m, fmt.Errorf("%w: document ends before </Manifest>", ErrMalformed)
		}
		if err != nil {
			return m, wrapSyntax(err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return m, fmt.Errorf("%w: DTD or entity declarations are not accepted (line %d)", ErrMalformed, line(dec))
		case xml.CharData:
			if !sawRoot {
				if len(bytes.TrimSpace(t)) > 0 {
					return m, fmt.Errorf("%w: text before the root element", ErrMalformed)
				}
				continue
			}
			text.Write(t)
		case xml.StartElement:
			if len(t.Attr) > lim.MaxAttrs {
				return m, fmt.Errorf("%w: <%s> at line %d has %d attributes, limit %d", ErrMalformed, t.Name.Local, line(dec), len(t.Attr), lim.MaxAttrs)
			}
			if !sawRoot {
				if t.Name.Local != "ManagementPack" {
					return m, fmt.Errorf("%w: root element is <%s>, want <ManagementPack>", ErrNotManagementPack, t.Name.Local)
				}
				sawRoot = true
				readRootAttrs(&m, t.Attr)
				continue
			}
			if len(path)+2 > lim.MaxDepth {
				return m, fmt.Errorf("%w: elements nest deeper than %d at <%s>, line %d", ErrMalformed, lim.MaxDepth, t.Name.Local, line(dec))
			}
			if len(path) == 0 && t.Name.Local != "Manifest" {
				return m, fmt.Errorf("%w: <%s> comes before <Manifest>; the manifest must be the first element", ErrMalformed, t.Name.Local)
			}
			path = append(path, t.Name.Local)
			if key, ok := singleField(path, len(mt.refs)); ok {
				// Regression (issue 15, point 6): a second <ID> (or
				// <Identity>, <Version>...) silently replaced the first.
				if seen[key] {
					return m, fmt.Errorf("%w: a second <%s> in <%s> at line %d; the manifest must declare it once", ErrMalformed, t.Name.Local, path[len(path)-2], line(dec))
				}
				seen[key] = true
			}
			text.Reset()
			if len(path) == 3 && path[1] == "References" && t.Name.Local == "Reference" {
				var alias string
				for _, a := range t.Attr {
					if a.Name.Local == "Alias" {
						alias = a.Value
					}
				}
				mt.refs = append(mt.refs, refText{alias: alias})
			}
		case xml.EndElement:
			if len(path) == 0 {
				return m, fmt.Errorf("%w: <ManagementPack> has no <Manifest>", ErrMalformed)
			}
			collect(&mt, path, text.String())
			text.Reset()
			path = path[:len(path)-1]
			if len(path) == 0 {
				return fillManifest(m, mt)
			}
		}
	}
}

// singleField returns the key of a manifest element that may appear only
// once (path starts at "Manifest"; refs counts the references opened so
// far), and whether path is one.
func singleField(path []string, refs int) (string, bool) {
	switch {
	case len(path) == 2 && (path[1] == "Identity" || path[1] == "Name" || path[1] == "References"):
		return path[1], true
	case len(path) == 3 && path[1] == "Identity" && (path[2] == "ID" || path[2] == "Version"):
		return "Identity/" + path[2], true
	case len(path) == 4 && path[1] == "References" && path[2] == "Reference" &&
		(path[3] == "ID" || path[3] == "Version" || path[3] == "PublicKeyToken"):
		return fmt.Sprintf("Reference %d/%s", refs, path[3]), true
	}
	return "", false
}

// noSecondManifest reads on from </Manifest> to the next element of the
// root and refuses a second <Manifest>, which a reader stopping at the
// first would not see. It reads a few tokens: what the root holds next
// (TypeDefinitions, Monitoring...) is not read past its start tag. Other
// problems are left to Validate.
//
// Regression (issue 15, point 6): a pack with two <Manifest> elements was
// accepted, as whichever the reader met first.
func noSecondManifest(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "Manifest" {
				return fmt.Errorf("%w: a second <Manifest> at line %d; a pack has one", ErrMalformed, line(dec))
			}
			return nil
		case xml.EndElement:
			return nil
		}
	}
}

// collect stores the text of a closed manifest field; path starts at
// "Manifest".
func collect(mt *manifestText, path []string, s string) {
	switch {
	case len(path) == 3 && path[1] == "Identity" && path[2] == "ID":
		mt.id = s
	case len(path) == 3 && path[1] == "Identity" && path[2] == "Version":
		mt.version = s
	case len(path) == 2 && path[1] == "Name":
		mt.name = s
	case len(path) == 4 && path[1] == "References" && path[2] == "Reference" && len(mt.refs) > 0:
		r := &mt.refs[len(mt.refs)-1]
		switch path[3] {
		case "ID":
			r.id = s
		case "Version":
			r.version = s
		case "PublicKeyToken":
			r.token = s
		}
	}
}

func readRootAttrs(m *Manifest, attrs []xml.Attr) {
	for _, a := range attrs {
		switch a.Name.Local {
		case "SchemaVersion":
			m.SchemaVersion = a.Value
		case "OriginalSchemaVersion":
			m.OriginalSchemaVersion = a.Value
		case "ContentReadable":
			m.ContentReadable = a.Value
		}
	}
}

// spaced reports text with white space around it.
func spaced(s string) bool { return s != "" && strings.TrimSpace(s) != s }

// fillManifest checks the manifest's text and fills m.
//
// Ids and versions are taken as written: white space around the pack's
// ID or Version, or a reference's, is refused, not trimmed. Operations
// Manager's schema allows only A-Z a-z 0-9 . _ in an id (and four
// dot-separated numbers in a version), and wants the id to be the file's
// name, so it refuses such a pack; trimming would let two different files
// claim the same identity (issue 15, point 6). The display name and a
// reference's PublicKeyToken are trimmed.
func fillManifest(m Manifest, mt manifestText) (Manifest, error) {
	m.ID = mt.id
	m.Name = strings.TrimSpace(mt.name)
	if strings.TrimSpace(m.ID) == "" {
		return m, fmt.Errorf("%w: Manifest/Identity/ID is missing or empty", ErrMalformed)
	}
	if spaced(m.ID) {
		return m, fmt.Errorf("%w: Manifest/Identity/ID %q has white space around it (an id holds only A-Z a-z 0-9 . _ -)", ErrMalformed, m.ID)
	}
	if spaced(mt.version) {
		return m, fmt.Errorf("%w: pack %s: Manifest/Identity/Version %q has white space around it", ErrMalformed, m.ID, mt.version)
	}
	v, err := ParseVersion(mt.version)
	if err != nil {
		return m, fmt.Errorf("%w: pack %s: Manifest/Identity/Version: %w", ErrMalformed, m.ID, err)
	}
	m.Version = v
	for i, r := range mt.refs {
		id := r.id
		if strings.TrimSpace(id) == "" {
			return m, fmt.Errorf("%w: pack %s: reference %d (alias %q) has no ID", ErrMalformed, m.ID, i+1, r.alias)
		}
		if spaced(id) || spaced(r.version) {
			return m, fmt.Errorf("%w: pack %s: reference %d (alias %q): ID %q or Version %q has white space around it", ErrMalformed, m.ID, i+1, r.alias, id, r.version)
		}
		rv, err := ParseVersion(r.version)
		if err != nil {
			return m, fmt.Errorf("%w: pack %s: reference %d (%s): %w", ErrMalformed, m.ID, i+1, id, err)
		}
		m.References = append(m.References, Reference{
			Alias: r.alias, ID: id, Version: rv, PublicKeyToken: strings.TrimSpace(r.token),
		})
	}
	return m, nil
}

// wrapSyntax marks XML syntax and encoding errors as ErrMalformed, keeping
// the line number encoding/xml reports.
func wrapSyntax(err error) error {
	if errors.Is(err, ErrNotManagementPack) || errors.Is(err, ErrMalformed) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}
