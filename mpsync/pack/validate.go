package pack

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// Limits bound what [Validate] accepts. A zero field takes the default shown.
type Limits struct {
	// MaxBytes is the largest document accepted; default 64 MiB.
	MaxBytes int64
	// MaxDepth is the deepest element nesting accepted; default 256.
	MaxDepth int
	// MaxAttrs is the most attributes one element may carry; default 256.
	MaxAttrs int
}

// DefaultLimits are the limits used when a [Limits] field is zero.
func DefaultLimits() Limits { return Limits{MaxBytes: 64 << 20, MaxDepth: 256, MaxAttrs: 256} }

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxAttrs <= 0 {
		l.MaxAttrs = d.MaxAttrs
	}
	return l
}

// Expect is the identity a caller expects a document to declare. Empty or
// zero fields are not checked.
type Expect struct {
	// ID is the pack id the document must declare in Manifest/Identity/ID.
	ID string
	// Version is the version the document must declare; the zero Version
	// is not checked.
	Version Version
}

// Validate reads a whole management pack from r and checks that it is
// well-formed XML within lim (size, element depth, attributes per element),
// declares no DTD or entities, has a ManagementPack root whose first element
// is a valid Manifest, and declares the identity in want. It returns the
// manifest. It accepts XML and sealed packs (.mp) as [ReadManifest] does; a
// sealed pack is read into memory up to lim.MaxBytes, its XML is
// decompressed as it is checked and is held to lim.MaxBytes too, so a
// compression bomb is refused after at most that many bytes. Errors wrap
// [ErrMalformed], [ErrNotManagementPack] or, for an identity other than
// want, [ErrIdentity].
//
// Every form is read once, as it streams: the manifest with encoding/xml
// (as ReadManifest reads it), then the whole document, from the bytes kept
// of the manifest's part and then the rest, by a scanner that accepts
// exactly what encoding/xml's strict decoder accepts but several times
// faster (see scanDocument). UTF-16 text is transcoded to UTF-8 on the way
// (both readers see the same UTF-8, as the decoder always did), a sealed
// pack's XML is scanned as it is decompressed, and only a manifest longer
// than 4 MiB leaves the rest of the document to encoding/xml.
func Validate(r io.Reader, want Expect, lim Limits) (Manifest, error) {
	lim = lim.withDefaults()
	br := bufio.NewReaderSize(r, 4096)
	scan := func(r io.Reader, desc string) (Manifest, error) { return validateXML(r, desc, want, lim) }
	if head, _ := br.Peek(2); isSealed(head) {
		return readSealed(br, lim, scan)
	}
	return scan(br, "")
}

// validateXML is Validate for XML text in any encoding sniff accepts; desc
// names the text in size errors (empty: the input itself).
func validateXML(r io.Reader, desc string, want Expect, lim Limits) (Manifest, error) {
	cr := &countingReader{r: r, limit: lim.MaxBytes, desc: desc}
	src, err := sniff(cr)
	if err != nil {
		return Manifest{}, err
	}
	tee := &headTee{r: src}
	dec := decoderOn(tee)
	m, err := readManifestWith(dec, lim)
	if err != nil {
		return m, cr.explain(err)
	}
	if err := checkIdentity(m, want); err != nil {
		return m, err
	}
	if tee.over {
		// Too much kept to scan again: the decoder goes on.
		if err := drain(dec, 1, lim); err != nil {
			return m, cr.explain(fmt.Errorf("pack %s: %w", m.ID, err))
		}
		return m, nil
	}
	kept := tee.stop()
	if err := scanDocument(io.MultiReader(bytes.NewReader(kept), src), lim); err != nil {
		return m, cr.explain(fmt.Errorf("pack %s: %w", m.ID, err))
	}
	return m, nil
}

// headTeeMax bounds the bytes headTee keeps: a manifest is a few KB.
const headTeeMax = 4 << 20

// headTee keeps the bytes read through it, up to headTeeMax, until stop:
// the UTF-8 the decoder read (and buffered) while reading the manifest.
type headTee struct {
	r       io.Reader
	buf     []byte
	over    bool
	stopped bool
}

func (t *headTee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if !t.stopped && !t.over {
		if len(t.buf)+n > headTeeMax {
			t.over, t.buf = true, nil
		} else {
			t.buf = append(t.buf, p[:n]...)
		}
	}
	return n, err
}

func (t *headTee) stop() []byte {
	t.stopped = true
	b := t.buf
	t.buf = nil
	return b
}

// ErrIdentity is wrapped when a document declares another id or version than
// the one expected.
var ErrIdentity = errors.New("management pack identity differs from the expected one")

func checkIdentity(m Manifest, want Expect) error {
	if want.ID != "" && m.ID != want.ID {
		return fmt.Errorf("%w: document declares %s %s, expected %s", ErrIdentity, m.ID, m.Version, want.ID)
	}
	if !want.Version.IsZero() && m.Version != want.Version {
		return fmt.Errorf("%w: document declares %s %s, expected version %s", ErrIdentity, m.ID, m.Version, want.Version)
	}
	return nil
}

// drain reads the rest of the document, enforcing the limits, and checks
// that nothing but comments and space follow the root.
func drain(dec *xml.Decoder, depth int, lim Limits) error {
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if depth != 0 {
				return fmt.Errorf("%w: document ends inside an element", ErrMalformed)
			}
			return nil
		}
		if err != nil {
			return wrapSyntax(err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return fmt.Errorf("%w: DTD or entity declarations are not accepted (line %d)", ErrMalformed, line(dec))
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%w: text after the root element at line %d", ErrMalformed, line(dec))
			}
		case xml.StartElement:
			depth++
			if depth == 1 {
				return fmt.Errorf("%w: a second root element <%s> at line %d", ErrMalformed, t.Name.Local, line(dec))
			}
			if depth == 2 && t.Name.Local == "Manifest" {
				// Regression (issue 15, point 6): a second manifest
				// was accepted.
				return fmt.Errorf("%w: a second <Manifest> at line %d; a pack has one", ErrMalformed, line(dec))
			}
			if depth > lim.MaxDepth {
				return fmt.Errorf("%w: elements nest deeper than %d at <%s>, line %d", ErrMalformed, lim.MaxDepth, t.Name.Local, line(dec))
			}
			if len(t.Attr) > lim.MaxAttrs {
				return fmt.Errorf("%w: <%s> at line %d has %d attributes, limit %d", ErrMalformed, t.Name.Local, line(dec), len(t.Attr), lim.MaxAttrs)
			}
		case xml.EndElement:
			depth--
		}
	}
}

func line(dec *xml.Decoder) int {
	l, _ := dec.InputPos()
	return l
}

// countingReader stops a document at its size limit and remembers that it
// did, so the error says "too large" rather than "unexpected EOF".
type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
	over  bool
	// what describes the limit in errors; "document" when empty.
	what string
	// desc names what is read, when it is not the input itself.
	desc string
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		// Read one more byte to tell "exactly at the limit" from "over it".
		var one [1]byte
		if k, _ := io.ReadFull(c.r, one[:]); k > 0 {
			c.over = true
			return 0, c.overError()
		}
		return 0, io.EOF
	}
	if rem := c.limit - c.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}

func (c *countingReader) overError() error {
	in := ""
	if c.desc != "" {
		in = " in " + c.desc
	}
	if c.what != "" {
		return fmt.Errorf("%w: %s within the first %d bytes%s", ErrMalformed, c.what, c.limit, in)
	}
	if c.desc != "" {
		return fmt.Errorf("%w: %s is larger than %d bytes", ErrMalformed, c.desc, c.limit)
	}
	return fmt.Errorf("%w: document is larger than %d bytes", ErrMalformed, c.limit)
}

// explain replaces err by the size-limit error when the limit was hit: the
// XML decoder reports it as a syntax error otherwise.
func (c *countingReader) explain(err error) error {
	if c.over {
		return c.overError()
	}
	return err
}
