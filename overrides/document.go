package overrides

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/beevik/etree"
	"golang.org/x/text/encoding/unicode"

	"mpsync.dev/mpsync/pack"
)

// Bump says which part of a pack's version [Document] raises the first time
// an opened pack is changed. Operations Manager refuses to import an
// override pack at a lower version than the one imported, so an edited pack
// needs a new version to be told apart.
type Bump int

const (
	// BumpRevision adds one to the fourth part: 1.0.0.4 becomes 1.0.0.5.
	BumpRevision Bump = iota
	// BumpBuild adds one to the third part and zeroes the fourth.
	BumpBuild
	// BumpMinor adds one to the second part and zeroes the rest.
	BumpMinor
	// BumpNone keeps the version; the caller sets it with SetVersion.
	BumpNone
)

func (b Bump) apply(v pack.Version) pack.Version {
	switch b {
	case BumpRevision:
		v.Revision++
	case BumpBuild:
		v.Build, v.Revision = v.Build+1, 0
	case BumpMinor:
		v.Minor, v.Build, v.Revision = v.Minor+1, 0, 0
	}
	return v
}

// Defaults used when the matching [DocumentOptions] field is zero.
const (
	// DefaultLibraryAlias is the alias given to Microsoft.SystemCenter.Library.
	DefaultLibraryAlias = "SC"
	// DefaultLibraryVersion is the minimum version referenced for
	// Microsoft.SystemCenter.Library: the Operations Manager 2012 build.
	DefaultLibraryVersion = "7.0.8433.0"
	// DefaultRulePackAlias is the alias given to the pack holding the rules.
	DefaultRulePackAlias = "Advisor"
	// DefaultRulePackVersion is the minimum version referenced for
	// Microsoft.SystemCenter.Advisor: the Operations Manager 2012 R2 build.
	DefaultRulePackVersion = "7.1.10226.0"
	// DefaultModule is the module id written on Frequency overrides.
	// It is an assumption, not a documented value: the Advisor packs that
	// define the two rules are not public, and no public override pack for
	// them (searched: Microsoft.SystemCenter.Advisor.MPUpdate,
	// GetIntelligencePacksRule) shows the id of the module that declares
	// Frequency. "Scheduler" is the id public packs commonly give a rule's
	// System.Scheduler data source. Set SetOptions.Module when the group's
	// Advisor pack names it otherwise; Resolve does not compare modules.
	DefaultModule = "Scheduler"
	// DefaultLanguage is the language pack display strings are written to.
	DefaultLanguage = "ENU"
)

// DocumentOptions configure [NewPack] and [OpenDocument]. A nil pointer or
// a zero field takes the default named on the field.
type DocumentOptions struct {
	// Library is the reference added for Microsoft.SystemCenter.Library
	// when the pack has none. Default: alias SC, version
	// DefaultLibraryVersion, key token PublicKeyToken.
	Library pack.Reference
	// RulePack is the reference added for the pack that holds the rules
	// when the pack has none. Default: alias Advisor, id AdvisorPackID,
	// version DefaultRulePackVersion, key token PublicKeyToken.
	RulePack pack.Reference
	// Bump is how the version is raised on the first change to an opened
	// pack. Default BumpRevision. Packs made by NewPack keep the version
	// they were given.
	Bump Bump
	// Language is the LanguagePack ID display strings go to. Default ENU.
	Language string
}

func (o *DocumentOptions) withDefaults() DocumentOptions {
	var d DocumentOptions
	if o != nil {
		d = *o
	}
	fill := func(r *pack.Reference, alias, id, version string) {
		if r.ID == "" {
			r.ID = id
		}
		if r.Alias == "" {
			r.Alias = alias
		}
		if r.Version.IsZero() {
			r.Version = pack.MustParseVersion(version)
		}
		if r.PublicKeyToken == "" {
			r.PublicKeyToken = PublicKeyToken
		}
	}
	fill(&d.Library, DefaultLibraryAlias, LibraryPackID, DefaultLibraryVersion)
	fill(&d.RulePack, DefaultRulePackAlias, AdvisorPackID, DefaultRulePackVersion)
	if d.Language == "" {
		d.Language = DefaultLanguage
	}
	return d
}

// SetOptions refine one override written by [Document.SetEnabled] or
// [Document.SetFrequency]. A nil pointer means all defaults.
type SetOptions struct {
	// ID is the override's id. Default: the id of an existing override of
	// the same rule, setting and target in the pack, else
	// "<pack id>.<last part of rule id>.<setting>" (plus ".Instance.<guid>"
	// for an instance override).
	ID string
	// Enforced sets the Enforced attribute.
	Enforced bool
	// ContextInstance targets one instance of the management group class
	// by GUID; empty targets the class.
	ContextInstance string
	// Comment sets the Comment attribute; empty keeps an existing one.
	Comment string
	// Module is the module id of a Frequency override. Default: the
	// existing override's, else DefaultModule.
	Module string
	// DisplayName is the override's display string. Default: a sentence
	// naming the rule and the setting.
	DisplayName string
}

// Document is an override management pack being created or edited. It
// changes only the elements it manages (its overrides, the references and
// display strings they need, the version) and leaves everything else as it
// was read: other overrides, comments, display strings, whitespace, and the
// file's encoding (UTF-8 with or without byte-order mark, UTF-16, CR LF line
// ends). Attribute quoting, character escapes and empty elements (written
// "<x/>", not "<x />") follow etree's writer, so an edited file is equal to
// the original as XML, and byte-equal except in those details.
//
// A Document is not safe for concurrent use.
type Document struct {
	doc      *etree.Document
	manifest pack.Manifest
	enc      encoding
	opts     DocumentOptions
	unit     string // one level of indentation
	bumped   bool
	changed  bool
}

// NewPack starts a new, empty override pack with the given id, display name
// and version, holding the reference to Microsoft.SystemCenter.Library.
// The id must satisfy [pack.CheckID].
func NewPack(id, name string, version pack.Version, opts *DocumentOptions) (*Document, error) {
	if err := pack.CheckID(id); err != nil {
		return nil, fmt.Errorf("new override pack: %w", err)
	}
	if name == "" {
		name = id
	}
	d := &Document{doc: etree.NewDocument(), opts: opts.withDefaults(), unit: "  ", bumped: true, changed: true}
	d.doc.CreateProcInst("xml", `version="1.0" encoding="utf-8"`)
	root := d.doc.CreateElement("ManagementPack")
	root.CreateAttr("ContentReadable", "true")
	root.CreateAttr("SchemaVersion", "2.0")
	root.CreateAttr("OriginalSchemaVersion", "1.1")
	root.CreateAttr("xmlns:xsd", "http://www.w3.org/2001/XMLSchema")
	root.CreateAttr("xmlns:xsl", "http://www.w3.org/1999/XSL/Transform")
	man := root.CreateElement("Manifest")
	ident := man.CreateElement("Identity")
	ident.CreateElement("ID").SetText(id)
	ident.CreateElement("Version").SetText(version.String())
	man.CreateElement("Name").SetText(name)
	man.CreateElement("References")
	root.CreateElement("Monitoring").CreateElement("Overrides")
	lp := root.CreateElement("LanguagePacks").CreateElement("LanguagePack")
	lp.CreateAttr("ID", d.opts.Language)
	lp.CreateAttr("IsDefault", "true")
	ds := lp.CreateElement("DisplayStrings").CreateElement("DisplayString")
	ds.CreateAttr("ElementID", id)
	ds.CreateElement("Name").SetText(name)
	d.doc.Indent(2)
	d.manifest = pack.Manifest{ID: id, Version: version, Name: name, SchemaVersion: "2.0"}
	d.reference(d.opts.Library)
	return d, nil
}

// OpenDocument reads an override pack to edit it. It accepts what
// [ReadPack] accepts and fails where ReadPack fails, so a pack that cannot
// be read is never rewritten.
func OpenDocument(r io.Reader, opts *DocumentOptions) (*Document, error) {
	src, err := parse(r)
	if err != nil {
		return nil, err
	}
	if _, err := extract(src.doc.Root(), src.manifest); err != nil {
		return nil, err
	}
	d := &Document{doc: src.doc, manifest: src.manifest, enc: src.enc, opts: opts.withDefaults(), unit: detectUnit(src.doc.Root())}
	return d, nil
}

// ID returns the pack id.
func (d *Document) ID() string { return d.manifest.ID }

// Version returns the pack version, bumped if the pack was changed.
func (d *Document) Version() pack.Version { return d.manifest.Version }

// Changed reports whether the document differs from what was opened (a
// document made by NewPack is always changed).
func (d *Document) Changed() bool { return d.changed }

// SetVersion sets the pack version explicitly; later changes do not bump it.
func (d *Document) SetVersion(v pack.Version) {
	d.setVersion(v)
	d.bumped, d.changed = true, true
}

// Pack returns the document's current content as a [Pack], as ReadPack
// would read the written file.
func (d *Document) Pack() (*Pack, error) { return extract(d.doc.Root(), d.manifest) }

// SetEnabled writes an Enabled override for rule (its full id), targeted
// at the management group class (or one instance, see SetOptions). An
// existing override of the same rule, setting and target is updated in
// place; otherwise one is added.
func (d *Document) SetEnabled(rule string, enabled bool, opts *SetOptions) (Override, error) {
	o, _, err := d.set(rule, Enabled, strconv.FormatBool(enabled), opts)
	return o, err
}

// SetFrequency writes a Frequency override of seconds for rule (its full
// id), like SetEnabled. seconds must be at least 1; below
// [MinSensibleFrequency] a [Warning] is returned with the override.
func (d *Document) SetFrequency(rule string, seconds int, opts *SetOptions) (Override, []Warning, error) {
	return d.set(rule, Frequency, strconv.Itoa(seconds), opts)
}

// Remove deletes the override with the given id (of any kind) and its
// display strings. It reports whether there was one.
func (d *Document) Remove(overrideID string) bool {
	list := d.doc.Root().FindElementPath(pathOverrides)
	if list == nil {
		return false
	}
	for el := range list.ChildElementsSeq() {
		if el.SelectAttrValue("ID", "") == overrideID {
			d.touch()
			removeIndented(el)
			d.removeDisplayStrings(overrideID)
			return true
		}
	}
	return false
}

// WriteTo writes the pack in the encoding it was read in (UTF-8 for a new
// pack).
func (d *Document) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	if _, err := d.doc.WriteTo(&buf); err != nil {
		return 0, fmt.Errorf("writing override pack %s: %w", d.manifest.ID, err)
	}
	out := buf.Bytes()
	if d.enc.crlf {
		out = bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n"))
	}
	switch {
	case d.enc.utf16:
		order := unicode.LittleEndian
		if d.enc.be {
			order = unicode.BigEndian
		}
		b, err := unicode.UTF16(order, unicode.UseBOM).NewEncoder().Bytes(out)
		if err != nil {
			return 0, fmt.Errorf("writing override pack %s: encoding UTF-16: %w", d.manifest.ID, err)
		}
		out = b
	case d.enc.bom:
		out = append([]byte{0xEF, 0xBB, 0xBF}, out...)
	}
	n, err := w.Write(out)
	if err != nil {
		return int64(n), fmt.Errorf("writing override pack %s: %w", d.manifest.ID, err)
	}
	return int64(n), nil
}

func (d *Document) set(rule string, setting Setting, value string, opts *SetOptions) (Override, []Warning, error) {
	var so SetOptions
	if opts != nil {
		so = *opts
	}
	if err := pack.CheckID(rule); err != nil {
		return Override{}, nil, &Error{Pack: d.manifest.ID, Value: rule, Err: fmt.Errorf("rule id: %w", err)}
	}
	so.ContextInstance = strings.TrimSpace(so.ContextInstance)
	probe := Override{ID: so.ID, Kind: setting.Kind(), Rule: rule, Value: value, Pack: PackRef{ID: d.manifest.ID, Version: d.manifest.Version}}
	if setting == Enabled {
		probe.Property = string(setting)
	} else {
		probe.Parameter = string(setting)
	}
	warnings, err := check(probe)
	if err != nil {
		return Override{}, nil, err
	}
	el, err := d.find(rule, setting, so)
	if err != nil {
		return Override{}, nil, err
	}
	newID := ""
	if el == nil {
		// Settle the new element's id before changing anything, so a
		// failure leaves the document as it was.
		if newID, err = d.newID(rule, setting, so); err != nil {
			return Override{}, nil, err
		}
	}
	d.touch()
	if el == nil {
		el = d.create(rule, setting, newID, so)
	} else {
		// Updating in place: aim it at what was asked for, as a new one
		// would be (an element named by so.ID may have targeted another
		// class or instance).
		d.retarget(el, so)
	}
	el.CreateAttr("Enforced", strconv.FormatBool(so.Enforced))
	if so.Comment != "" {
		el.CreateAttr("Comment", so.Comment)
	}
	if setting != Enabled && so.Module != "" {
		el.CreateAttr("Module", so.Module)
	}
	el.SelectElement("Value").SetText(value)
	id := el.SelectAttrValue("ID", "")
	name := so.DisplayName
	if name == "" {
		name = fmt.Sprintf("%s override for rule %s", setting, rule)
	}
	d.setDisplayString(id, name)
	p, err := d.Pack()
	if err != nil {
		return Override{}, nil, err
	}
	for _, o := range p.overrides {
		if o.ID == id {
			for i := range warnings {
				warnings[i].Override = id
				warnings[i].Pack = d.manifest.ID
			}
			return o, warnings, nil
		}
	}
	return Override{}, nil, &Error{Pack: d.manifest.ID, Override: id, Err: errors.New("override written but not found when read back")}
}

// find returns the override element to update: the one named by so.ID, or
// one of the same rule, setting and target.
func (d *Document) find(rule string, setting Setting, so SetOptions) (*etree.Element, error) {
	list := d.doc.Root().FindElementPath(pathOverrides)
	if list == nil {
		return nil, nil
	}
	p, err := d.Pack()
	if err != nil {
		return nil, err
	}
	for _, o := range p.overrides {
		match := false
		switch {
		case so.ID != "":
			if o.ID != so.ID {
				continue
			}
			if o.Rule != rule || o.Setting() != setting || o.Kind != setting.Kind() {
				return nil, &Error{Pack: d.manifest.ID, Override: so.ID, Err: fmt.Errorf("id already used by a %s override of rule %s", o.Setting(), o.Rule)}
			}
			match = true
		default:
			sc, _ := Target{}.Scope(o)
			match = o.Rule == rule && o.Setting() == setting && o.Kind == setting.Kind() &&
				(sc == ScopeClass || sc == ScopeInstance) && strings.EqualFold(o.ContextInstance, so.ContextInstance)
		}
		if match {
			for el := range list.ChildElementsSeq() {
				if el.SelectAttrValue("ID", "") == o.ID {
					return el, nil
				}
			}
		}
	}
	if so.ID != "" {
		for _, o := range p.others {
			if o.ID == so.ID {
				return nil, &Error{Pack: d.manifest.ID, Override: so.ID, Err: fmt.Errorf("id already used by a %s", o.Type)}
			}
		}
	}
	return nil, nil
}

// newID returns the id of a new override element: so.ID, or one derived
// from the pack, rule, setting and instance, made unique in the pack with a
// numeric suffix (an element of another target may hold the derived id).
func (d *Document) newID(rule string, setting Setting, so SetOptions) (string, error) {
	p, err := d.Pack()
	if err != nil {
		return "", err
	}
	taken := map[string]bool{}
	for _, id := range p.ids() {
		taken[id] = true
	}
	id := so.ID
	if id == "" {
		last := rule[strings.LastIndexByte(rule, '.')+1:]
		base := d.manifest.ID + "." + last + "." + string(setting)
		if so.ContextInstance != "" {
			base += ".Instance." + strings.ReplaceAll(so.ContextInstance, "-", "")
		}
		id = base
		for i := 2; taken[id]; i++ {
			id = base + "." + strconv.Itoa(i)
		}
	}
	if err := pack.CheckID(id); err != nil {
		return "", &Error{Pack: d.manifest.ID, Override: id, Err: err}
	}
	if taken[id] {
		return "", &Error{Pack: d.manifest.ID, Override: id, Err: errors.New("the id is already used in the pack")}
	}
	return id, nil
}

// retarget points an existing override element at the management group
// class, or at one instance of it, as so asks.
func (d *Document) retarget(el *etree.Element, so SetOptions) {
	el.CreateAttr("Context", d.reference(d.opts.Library)+"!"+ManagementGroupClass)
	if so.ContextInstance != "" {
		el.CreateAttr("ContextInstance", so.ContextInstance)
	} else {
		el.RemoveAttr("ContextInstance")
	}
}

func (d *Document) create(rule string, setting Setting, id string, so SetOptions) *etree.Element {
	lib := d.reference(d.opts.Library)
	rp := d.reference(d.opts.RulePack)
	el := etree.NewElement(setting.Kind().String())
	el.CreateAttr("ID", id)
	el.CreateAttr("Context", lib+"!"+ManagementGroupClass)
	if so.ContextInstance != "" {
		el.CreateAttr("ContextInstance", so.ContextInstance)
	}
	el.CreateAttr("Enforced", "false")
	el.CreateAttr("Rule", rp+"!"+rule)
	if setting == Enabled {
		el.CreateAttr("Property", string(setting))
	} else {
		el.CreateAttr("Parameter", string(setting))
		el.CreateAttr("Module", DefaultModule)
	}
	el.CreateElement("Value")
	list := d.ensure(d.doc.Root(), "Monitoring", monitoringFollowers)
	list = d.ensure(list, "Overrides", nil)
	d.insert(list, el, nil)
	return el
}

// Elements that follow Monitoring and LanguagePacks in a ManagementPack, in
// schema order; a created element goes before the first of them present.
var (
	monitoringFollowers    = []string{"Templates", "PresentationTypes", "Presentation", "Reporting", "LanguagePacks", "Resources", "Extensions"}
	languagePacksFollowers = []string{"Resources", "Extensions"}
)

// ensure returns parent's child element named tag, creating it before the
// first of followers present (or at the end).
func (d *Document) ensure(parent *etree.Element, tag string, followers []string) *etree.Element {
	if el := parent.SelectElement(tag); el != nil {
		return el
	}
	var before *etree.Element
	for c := range parent.ChildElementsSeq() {
		for _, f := range followers {
			if c.Tag == f {
				before = c
				break
			}
		}
		if before != nil {
			break
		}
	}
	el := etree.NewElement(tag)
	d.insert(parent, el, before)
	return el
}

// reference returns the alias of the reference to ref.ID, adding ref (with
// an alias made unique) when the pack has none.
func (d *Document) reference(ref pack.Reference) string {
	if r, ok := d.manifest.Reference(ref.ID); ok {
		return r.Alias
	}
	alias := ref.Alias
	used := func(a string) bool {
		for _, r := range d.manifest.References {
			if r.Alias == a {
				return true
			}
		}
		return false
	}
	for i := 2; used(alias); i++ {
		alias = ref.Alias + strconv.Itoa(i)
	}
	ref.Alias = alias
	man := d.doc.Root().SelectElement("Manifest")
	refs := man.SelectElement("References")
	if refs == nil {
		refs = etree.NewElement("References")
		d.insert(man, refs, nil)
	}
	el := etree.NewElement("Reference")
	el.CreateAttr("Alias", alias)
	el.CreateElement("ID").SetText(ref.ID)
	el.CreateElement("Version").SetText(ref.Version.String())
	el.CreateElement("PublicKeyToken").SetText(ref.PublicKeyToken)
	d.insert(refs, el, nil)
	d.manifest.References = append(d.manifest.References, ref)
	return alias
}

// touch records a change, bumping the version the first time.
func (d *Document) touch() {
	d.changed = true
	if !d.bumped {
		d.bumped = true
		d.setVersion(d.opts.Bump.apply(d.manifest.Version))
	}
}

func (d *Document) setVersion(v pack.Version) {
	d.manifest.Version = v
	if el := d.doc.Root().FindElementPath(pathIdentityVer); el != nil {
		el.SetText(v.String())
	}
}

// languagePack returns the LanguagePack with the configured ID, creating
// it (and LanguagePacks) when missing.
func (d *Document) languagePack() *etree.Element {
	lps := d.ensure(d.doc.Root(), "LanguagePacks", languagePacksFollowers)
	for lp := range lps.SelectElementsSeq("LanguagePack") {
		if lp.SelectAttrValue("ID", "") == d.opts.Language {
			return lp
		}
	}
	lp := etree.NewElement("LanguagePack")
	lp.CreateAttr("ID", d.opts.Language)
	if lps.SelectElement("LanguagePack") == nil {
		lp.CreateAttr("IsDefault", "true")
	} else {
		lp.CreateAttr("IsDefault", "false")
	}
	d.insert(lps, lp, nil)
	return lp
}

func (d *Document) setDisplayString(elementID, name string) {
	lp := d.languagePack()
	for ds := range lp.FindElementsPathSeq(pathDisplayString) {
		if ds.SelectAttrValue("ElementID", "") == elementID {
			n := ds.SelectElement("Name")
			if n == nil {
				n = etree.NewElement("Name")
				d.insert(ds, n, nil)
			}
			n.SetText(name)
			return
		}
	}
	list := lp.FindElementPath(pathDisplayList)
	if list == nil {
		list = etree.NewElement("DisplayStrings")
		d.insert(lp, list, nil)
	}
	ds := etree.NewElement("DisplayString")
	ds.CreateAttr("ElementID", elementID)
	ds.CreateElement("Name").SetText(name)
	d.insert(list, ds, nil)
}

func (d *Document) removeDisplayStrings(elementID string) {
	lps := d.doc.Root().FindElementPath(pathLanguagePacks)
	if lps == nil {
		return
	}
	for lp := range lps.SelectElementsSeq("LanguagePack") {
		for _, ds := range lp.FindElementsPath(pathDisplayString) {
			if ds.SelectAttrValue("ElementID", "") == elementID {
				removeIndented(ds)
			}
		}
	}
}

// detectUnit guesses one level of indentation from the whitespace before
// the root's first child element; two spaces when there is none.
func detectUnit(root *etree.Element) string {
	for _, t := range root.Child {
		cd, ok := t.(*etree.CharData)
		if !ok {
			if _, isEl := t.(*etree.Element); isEl {
				break
			}
			continue
		}
		ws := cd.Data
		if i := strings.LastIndexByte(ws, '\n'); i >= 0 && strings.TrimSpace(ws) == "" && len(ws) > i+1 {
			return ws[i+1:]
		}
	}
	return "  "
}

func depthOf(e *etree.Element) int {
	n := 0
	for p := e.Parent(); p != nil && p.Tag != ""; p = p.Parent() {
		n++
	}
	return n
}

func isSpace(t etree.Token) bool {
	cd, ok := t.(*etree.CharData)
	return ok && !cd.IsCData() && strings.TrimSpace(cd.Data) == ""
}

func (d *Document) indentString(level int) string { return "\n" + strings.Repeat(d.unit, level) }

// insert adds child to parent before the element before (at the end when
// nil), with the indentation of its siblings, and indents child's own
// content.
func (d *Document) insert(parent, child, before *etree.Element) {
	level := depthOf(parent) + 1
	d.indentTree(child, level)
	ind := d.indentString(level)
	if before != nil {
		i := before.Index()
		parent.InsertChildAt(i, child)
		parent.InsertChildAt(i+1, etree.NewText(ind))
		return
	}
	n := len(parent.Child)
	if n > 0 && isSpace(parent.Child[n-1]) && len(parent.ChildElements()) > 0 {
		parent.InsertChildAt(n-1, etree.NewText(ind))
		parent.InsertChildAt(n, child)
		return
	}
	if n > 0 && isSpace(parent.Child[n-1]) {
		// Only whitespace inside: replace it.
		parent.RemoveChildAt(n - 1)
	}
	parent.AddChild(etree.NewText(ind))
	parent.AddChild(child)
	parent.AddChild(etree.NewText(d.indentString(level - 1)))
}

// indentTree indents the content of an element made by this package, which
// holds no whitespace yet, for an element at the given level.
func (d *Document) indentTree(e *etree.Element, level int) {
	if len(e.ChildElements()) == 0 {
		return
	}
	var kids []etree.Token
	for _, t := range e.Child {
		if !isSpace(t) {
			kids = append(kids, t)
		}
	}
	for len(e.Child) > 0 {
		e.RemoveChildAt(0)
	}
	for _, t := range kids {
		e.AddChild(etree.NewText(d.indentString(level + 1)))
		e.AddChild(t)
		if c, ok := t.(*etree.Element); ok {
			d.indentTree(c, level+1)
		}
	}
	e.AddChild(etree.NewText(d.indentString(level)))
}

// removeIndented removes e and the whitespace that indented it.
func removeIndented(e *etree.Element) {
	parent := e.Parent()
	i := e.Index()
	if i > 0 && isSpace(parent.Child[i-1]) {
		parent.RemoveChildAt(i - 1)
	}
	e.Remove()
}
