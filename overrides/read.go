package overrides

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"
	"golang.org/x/text/encoding/unicode"

	"mpsync.dev/mpsync/pack"
)

// MaxPackBytes is the largest override pack ReadPack and OpenDocument accept.
// Override packs are a few KB; the limit only guards against reading a
// wrong, huge file into memory.
const MaxPackBytes = 64 << 20

// maxDepth bounds element nesting; management packs nest about ten deep.
const maxDepth = 256

// Fixed element paths, compiled once. They are never built from data.
var (
	pathOverrides     = etree.MustCompilePath("./Monitoring/Overrides")
	pathIdentityVer   = etree.MustCompilePath("./Manifest/Identity/Version")
	pathLanguagePacks = etree.MustCompilePath("./LanguagePacks")
	pathDisplayString = etree.MustCompilePath("./DisplayStrings/DisplayString")
	pathDisplayList   = etree.MustCompilePath("./DisplayStrings")
)

// OtherOverride is an override of a kind this package does not apply
// (MonitorPropertyOverride, DiscoveryPropertyOverride, ...). It is kept so a
// caller can list it; Document keeps its element untouched.
type OtherOverride struct {
	// Type is the element name, such as "DiscoveryPropertyOverride".
	Type string `json:"type"`
	// ID is the element's ID attribute.
	ID string `json:"id"`
}

// Pack is an override management pack as read by [ReadPack]: its manifest,
// its rule overrides and what else it holds. A Pack is immutable.
type Pack struct {
	manifest  pack.Manifest
	overrides []Override
	others    []OtherOverride
	warnings  []Warning
}

// Manifest returns the pack's identity and references.
func (p *Pack) Manifest() pack.Manifest { return p.manifest }

// Ref returns the pack's id and version.
func (p *Pack) Ref() PackRef { return PackRef{ID: p.manifest.ID, Version: p.manifest.Version} }

// Overrides returns the pack's rule overrides in document order.
func (p *Pack) Overrides() []Override { return append([]Override(nil), p.overrides...) }

// Others returns the overrides of other kinds, in document order.
func (p *Pack) Others() []OtherOverride { return append([]OtherOverride(nil), p.others...) }

// Warnings returns the warnings found while reading, such as a Frequency
// below [MinSensibleFrequency].
func (p *Pack) Warnings() []Warning { return append([]Warning(nil), p.warnings...) }

// ReadPack reads a whole management pack from r and returns its rule
// overrides (RulePropertyOverride, RuleConfigurationOverride) with aliases
// resolved through the pack's References. Overrides of other kinds are
// listed in [Pack.Others] and not interpreted.
//
// The input may be UTF-8, with or without a byte-order mark, or UTF-16 with a
// byte-order mark. Sealed packs (override packs are always unsealed XML) and
// bundles are refused with an error wrapping [pack.ErrNotManagementPack]; XML that is not well-formed with one
// wrapping [pack.ErrMalformed]. An override that cannot be used (an Enabled
// value other than true/false, a Frequency that is not a whole number of
// seconds ≥ 1, a missing attribute, an unknown alias, a duplicate id) is
// reported as an [*Error] wrapping [ErrInvalid].
func ReadPack(r io.Reader) (*Pack, error) {
	src, err := parse(r)
	if err != nil {
		return nil, err
	}
	return extract(src.doc.Root(), src.manifest)
}

// parsed is a document read by parse, with what is needed to write it back
// the way it came.
type parsed struct {
	doc      *etree.Document
	manifest pack.Manifest
	enc      encoding
}

// encoding records how the input was encoded, so a document is written back
// the same way.
type encoding struct {
	bom   bool // UTF-8 byte-order mark
	utf16 bool // UTF-16 little endian with byte-order mark
	be    bool // UTF-16 big endian
	crlf  bool // lines end in CR LF
}

func parse(r io.Reader) (parsed, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxPackBytes+1))
	if err != nil {
		return parsed{}, fmt.Errorf("reading override pack: %w", err)
	}
	if len(raw) > MaxPackBytes {
		return parsed{}, fmt.Errorf("%w: override pack is larger than %d bytes", pack.ErrMalformed, MaxPackBytes)
	}
	// pack.ReadManifest accepts sealed packs; an override pack never is
	// one (Operations Manager keeps overrides in unsealed packs), and this
	// reader rewrites the XML it reads.
	if bytes.HasPrefix(raw, []byte("MZ")) {
		return parsed{}, fmt.Errorf("%w: this is a sealed management pack (.mp, a .NET assembly starting with MZ); override packs are unsealed XML", pack.ErrNotManagementPack)
	}
	m, err := pack.ReadManifest(bytes.NewReader(raw))
	if err != nil {
		return parsed{}, err
	}
	text, enc, err := toUTF8(raw)
	if err != nil {
		return parsed{}, fmt.Errorf("%w: pack %s: %w", pack.ErrMalformed, m.ID, err)
	}
	doc := etree.NewDocument()
	doc.ReadSettings.MaxDepth = maxDepth
	doc.ReadSettings.PreserveCData = true
	// The bytes are UTF-8 by now whatever the declaration says.
	doc.ReadSettings.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "utf-16", "utf16", "unicode", "us-ascii", "ascii":
			return in, nil
		}
		return nil, fmt.Errorf("encoding %q is not supported (use UTF-8 or UTF-16)", label)
	}
	if err := doc.ReadFromBytes(text); err != nil {
		return parsed{}, fmt.Errorf("%w: pack %s: %w", pack.ErrMalformed, m.ID, err)
	}
	if doc.Root() == nil || doc.Root().Tag != "ManagementPack" {
		return parsed{}, fmt.Errorf("%w: pack %s: root is not ManagementPack", pack.ErrNotManagementPack, m.ID)
	}
	return parsed{doc: doc, manifest: m, enc: enc}, nil
}

// toUTF8 removes a UTF-8 byte-order mark or transcodes UTF-16 with a
// byte-order mark to UTF-8.
func toUTF8(b []byte) ([]byte, encoding, error) {
	var enc encoding
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		enc.bom = true
		b = b[3:]
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}), bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		enc.utf16 = true
		enc.be = b[0] == 0xFE
		out, err := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(b)
		if err != nil {
			return nil, enc, fmt.Errorf("transcoding UTF-16: %w", err)
		}
		b = out
	}
	if i := bytes.IndexByte(b, '\n'); i > 0 && b[i-1] == '\r' {
		enc.crlf = true
	}
	return b, enc, nil
}

// resolver turns "Alias!Element" names into element ids using a pack's
// References.
type resolver struct {
	packID  string
	aliases map[string]string
}

func newResolver(m pack.Manifest) resolver {
	r := resolver{packID: m.ID, aliases: make(map[string]string, len(m.References))}
	for _, ref := range m.References {
		r.aliases[ref.Alias] = ref.ID
	}
	return r
}

// resolve returns the element id and the id of the pack the alias names
// ("" for a name without alias).
func (r resolver) resolve(name string) (id, packID string, err error) {
	alias, elem, ok := strings.Cut(name, "!")
	if !ok {
		return name, "", nil
	}
	p, found := r.aliases[alias]
	if !found {
		return "", "", fmt.Errorf("alias %q is not declared in the pack's References", alias)
	}
	if elem == "" {
		return "", "", errors.New("nothing follows the alias")
	}
	return elem, p, nil
}

// extract reads the overrides under root.
func extract(root *etree.Element, m pack.Manifest) (*Pack, error) {
	p := &Pack{manifest: m}
	list := root.FindElementPath(pathOverrides)
	if list == nil {
		return p, nil
	}
	res := newResolver(m)
	seen := make(map[string]bool)
	for el := range list.ChildElementsSeq() {
		id := el.SelectAttrValue("ID", "")
		if id == "" {
			return nil, &Error{Pack: m.ID, Err: fmt.Errorf("<%s> has no ID attribute", el.Tag)}
		}
		if seen[id] {
			return nil, &Error{Pack: m.ID, Override: id, Err: errors.New("the id is used twice in the pack")}
		}
		seen[id] = true
		var kind Kind
		switch el.Tag {
		case "RulePropertyOverride":
			kind = RuleProperty
		case "RuleConfigurationOverride":
			kind = RuleConfiguration
		default:
			p.others = append(p.others, OtherOverride{Type: el.Tag, ID: id})
			continue
		}
		o, err := readOverride(el, kind, res, p.Ref())
		if err != nil {
			return nil, err
		}
		w, err := check(o)
		if err != nil {
			return nil, err
		}
		p.warnings = append(p.warnings, w...)
		p.overrides = append(p.overrides, o)
	}
	return p, nil
}

func readOverride(el *etree.Element, kind Kind, res resolver, ref PackRef) (Override, error) {
	o := Override{ID: el.SelectAttrValue("ID", ""), Kind: kind, Pack: ref,
		Comment: el.SelectAttrValue("Comment", ""), ContextInstance: strings.TrimSpace(el.SelectAttrValue("ContextInstance", ""))}
	bad := func(value string, err error) (Override, error) {
		return Override{}, &Error{Pack: ref.ID, Override: o.ID, Value: value, Err: err}
	}
	required := func(attr string) (string, error) {
		v := strings.TrimSpace(el.SelectAttrValue(attr, ""))
		if v == "" {
			return "", fmt.Errorf("<%s> has no %s attribute", el.Tag, attr)
		}
		return v, nil
	}
	rule, err := required("Rule")
	if err != nil {
		return bad("", err)
	}
	if o.Rule, o.RulePack, err = res.resolve(rule); err != nil {
		return bad(rule, fmt.Errorf("Rule: %w", err))
	}
	ctx, err := required("Context")
	if err != nil {
		return bad("", err)
	}
	if o.Context, o.ContextPack, err = res.resolve(ctx); err != nil {
		return bad(ctx, fmt.Errorf("Context: %w", err))
	}
	if enf := el.SelectAttr("Enforced"); enf != nil {
		if o.Enforced, err = parseBool(enf.Value); err != nil {
			return bad(enf.Value, errors.New(`Enforced must be "true" or "false"`))
		}
	}
	if kind == RuleProperty {
		if o.Property, err = required("Property"); err != nil {
			return bad("", err)
		}
	} else {
		if o.Parameter, err = required("Parameter"); err != nil {
			return bad("", err)
		}
		if o.Module, err = required("Module"); err != nil {
			return bad("", err)
		}
	}
	v := el.SelectElement("Value")
	if v == nil {
		return bad("", fmt.Errorf("<%s> has no Value element", el.Tag))
	}
	o.Value = strings.TrimSpace(v.Text())
	return o, nil
}
