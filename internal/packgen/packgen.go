package packgen

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"mpsync.dev/mpsync/pack"
)

// Encoding is the character encoding of a generated pack.
type Encoding int

const (
	// UTF8 is UTF-8 without a byte-order mark, the zero value.
	UTF8 Encoding = iota
	// UTF8BOM is UTF-8 starting with the byte-order mark EF BB BF.
	UTF8BOM
	// UTF16LE is little-endian UTF-16 starting with the byte-order mark FF FE,
	// as Windows tools write it.
	UTF16LE
	// UTF16BE is big-endian UTF-16 starting with the byte-order mark FE FF.
	UTF16BE
)

// String returns "UTF-8", "UTF-8+BOM", "UTF-16LE" or "UTF-16BE".
func (e Encoding) String() string {
	switch e {
	case UTF8:
		return "UTF-8"
	case UTF8BOM:
		return "UTF-8+BOM"
	case UTF16LE:
		return "UTF-16LE"
	case UTF16BE:
		return "UTF-16BE"
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

// Spec describes a management pack to generate.
type Spec struct {
	// ID is the pack id, Manifest/Identity/ID; it must pass pack.CheckID.
	ID string
	// Version is Manifest/Identity/Version.
	Version pack.Version
	// Name is Manifest/Name; empty means ID.
	Name string
	// References are written in order to Manifest/References. An empty Alias
	// becomes "Ref1", "Ref2", ... by position. The first reference's alias
	// prefixes the rules' Target, as in real packs.
	References []pack.Reference
	// Rules is how many rules to write at least.
	Rules int
	// TargetSize is the least size of the output in bytes, in its encoding;
	// rules are added until it is reached. Zero means no padding.
	TargetSize int
	// Encoding is the output encoding; the zero value is UTF-8 without a BOM.
	Encoding Encoding
}

// Bytes returns the generated document. It is [Spec.WriteTo] into memory.
func (s Spec) Bytes() ([]byte, error) {
	var buf bytes.Buffer
	if s.TargetSize > 0 {
		buf.Grow(s.TargetSize + 4096)
	}
	if _, err := s.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteTo writes the generated document to w, streaming: memory use does not
// grow with TargetSize. It returns the number of bytes written to w. It
// fails without writing anything when the Spec is invalid, and otherwise
// only when w fails.
func (s Spec) WriteTo(w io.Writer) (int64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	var (
		dst   io.Writer = bw
		tw    *transform.Writer
		unit  = 1 // bytes per ASCII character in the output
		start = 0 // bytes of byte-order mark
	)
	switch s.Encoding {
	case UTF8BOM:
		if _, err := bw.Write([]byte{0xEF, 0xBB, 0xBF}); err != nil {
			return cw.n, err
		}
		start = 3
	case UTF16LE, UTF16BE:
		order := unicode.LittleEndian
		if s.Encoding == UTF16BE {
			order = unicode.BigEndian
		}
		tw = transform.NewWriter(bw, unicode.UTF16(order, unicode.UseBOM).NewEncoder())
		dst = tw
		unit, start = 2, 2
	}
	g := &gen{w: dst, unit: unit, n: int64(start), spec: s}
	g.document()
	if g.err == nil && tw != nil {
		g.err = tw.Close()
	}
	if g.err == nil {
		g.err = bw.Flush()
	}
	return cw.n, g.err
}

// check reports what makes s impossible to generate.
func (s Spec) check() error {
	if err := pack.CheckID(s.ID); err != nil {
		return fmt.Errorf("packgen: Spec.ID: %w", err)
	}
	for i, r := range s.References {
		if err := pack.CheckID(r.ID); err != nil {
			return fmt.Errorf("packgen: pack %s: Spec.References[%d].ID: %w", s.ID, i, err)
		}
	}
	switch {
	case s.Rules < 0:
		return fmt.Errorf("packgen: pack %s: Spec.Rules is %d, want >= 0", s.ID, s.Rules)
	case s.TargetSize < 0:
		return fmt.Errorf("packgen: pack %s: Spec.TargetSize is %d, want >= 0", s.ID, s.TargetSize)
	case s.Encoding < UTF8 || s.Encoding > UTF16BE:
		return fmt.Errorf("packgen: pack %s: Spec.Encoding %v is not one of UTF8, UTF8BOM, UTF16LE, UTF16BE", s.ID, s.Encoding)
	}
	return nil
}

// gen writes one document and counts its size in output bytes. The first
// write error sticks and stops further writes.
type gen struct {
	w    io.Writer
	unit int   // output bytes per ASCII byte (1 or 2)
	n    int64 // output bytes so far, byte-order mark included
	err  error
	spec Spec
}

// put writes s and counts its encoded size.
func (g *gen) put(s string) {
	if g.err != nil {
		return
	}
	_, g.err = io.WriteString(g.w, s)
	g.n += g.size(s)
}

func (g *gen) putf(format string, args ...any) { g.put(fmt.Sprintf(format, args...)) }

// size is the encoded size of s in the output.
func (g *gen) size(s string) int64 {
	if g.unit == 1 {
		return int64(len(s))
	}
	n := int64(0)
	for _, r := range s {
		if r >= 0x10000 && r != utf8.RuneError {
			n += 4
		} else {
			n += 2
		}
	}
	return n
}

// esc escapes s for text and attribute values.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (g *gen) document() {
	s := g.spec
	name := s.Name
	if name == "" {
		name = s.ID
	}
	decl := "utf-8"
	if g.unit == 2 {
		decl = "utf-16"
	}
	g.putf("<?xml version=\"1.0\" encoding=\"%s\"?>\n", decl)
	g.put("<ManagementPack ContentReadable=\"true\" SchemaVersion=\"2.0\" OriginalSchemaVersion=\"1.1\"" +
		" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">\n")
	g.put("  <Manifest>\n    <Identity>\n")
	g.putf("      <ID>%s</ID>\n      <Version>%s</Version>\n", esc(s.ID), s.Version)
	g.putf("    </Identity>\n    <Name>%s</Name>\n", esc(name))
	g.put("    <References>\n")
	prefix := ""
	for i, r := range s.References {
		alias := r.Alias
		if alias == "" {
			alias = fmt.Sprintf("Ref%d", i+1)
		}
		if i == 0 {
			prefix = alias + "!"
		}
		g.putf("      <Reference Alias=\"%s\">\n        <ID>%s</ID>\n        <Version>%s</Version>\n", esc(alias), esc(r.ID), r.Version)
		if r.PublicKeyToken != "" {
			g.putf("        <PublicKeyToken>%s</PublicKeyToken>\n", esc(r.PublicKeyToken))
		}
		g.put("      </Reference>\n")
	}
	g.put("    </References>\n  </Manifest>\n")
	g.typeDefinitions()
	g.put("  <Monitoring>\n    <Rules>\n")

	// Everything after the rules: the language pack (one display string per
	// rule, counted as rules are written) and the closing tags.
	const closeRules = "    </Rules>\n  </Monitoring>\n"
	const closeDoc = "      </DisplayStrings>\n    </LanguagePack>\n  </LanguagePacks>\n</ManagementPack>\n"
	tail := g.size(closeRules) + g.size(g.packDisplayString(name)) + g.size(closeDoc)
	target := int64(s.TargetSize)
	rules := 0
	for g.err == nil && (rules < s.Rules || g.n+tail < target) {
		rules++
		g.put(g.rule(rules, prefix))
		tail += g.size(g.ruleDisplayString(rules))
	}
	g.put(closeRules)
	g.put(g.packDisplayString(name))
	for i := 1; i <= rules && g.err == nil; i++ {
		g.put(g.ruleDisplayString(i))
	}
	g.put(closeDoc)
}

func (g *gen) typeDefinitions() {
	id := esc(g.spec.ID)
	g.put("  <TypeDefinitions>\n    <ModuleTypes>\n")
	g.putf("      <DataSourceModuleType ID=\"%s.TimedScript.DataSource\" Accessibility=\"Internal\" Batching=\"false\">\n", id)
	g.put(`        <Configuration>
          <xsd:element minOccurs="1" name="IntervalSeconds" type="xsd:integer" />
          <xsd:element minOccurs="0" name="SyncTime" type="xsd:string" />
          <xsd:element minOccurs="1" name="TimeoutSeconds" type="xsd:integer" />
        </Configuration>
        <OverrideableParameters>
          <OverrideableParameter ID="IntervalSeconds" Selector="$Config/IntervalSeconds$" ParameterType="int" />
          <OverrideableParameter ID="TimeoutSeconds" Selector="$Config/TimeoutSeconds$" ParameterType="int" />
        </OverrideableParameters>
        <ModuleImplementation Isolation="Any">
          <Composite>
            <MemberModules>
              <DataSource ID="Scheduler" TypeID="System!System.Scheduler">
                <Scheduler>
                  <SimpleReccuringSchedule>
                    <Interval Unit="Seconds">$Config/IntervalSeconds$</Interval>
                    <SyncTime>$Config/SyncTime$</SyncTime>
                  </SimpleReccuringSchedule>
                  <ExcludeDates />
                </Scheduler>
              </DataSource>
            </MemberModules>
            <Composition>
              <Node ID="Scheduler" />
            </Composition>
          </Composite>
        </ModuleImplementation>
        <OutputType>System!System.TriggerData</OutputType>
      </DataSourceModuleType>
    </ModuleTypes>
  </TypeDefinitions>
`)
}

// ruleID is the id of the i-th rule.
func (g *gen) ruleID(i int) string { return fmt.Sprintf("%s.Rule%05d", g.spec.ID, i) }

// rule returns the i-th rule: a timed script collecting a property bag,
// with its VBScript in CDATA. Intervals, timeouts and script details vary
// with i so rules are not byte-identical.
func (g *gen) rule(i int, prefix string) string {
	id := esc(g.ruleID(i))
	interval := []int{300, 900, 3600, 14400, 43200}[i%5]
	return fmt.Sprintf(`      <Rule ID="%[1]s" Enabled="%[2]t" Target="%[3]sMicrosoft.SystemCenter.ManagementGroup" ConfirmDelivery="false" Remotable="true" Priority="Normal" DiscardLevel="100">
        <Category>Custom</Category>
        <DataSources>
          <DataSource ID="DS" TypeID="Windows!Microsoft.Windows.TimedScript.PropertyBagProvider">
            <IntervalSeconds>%[4]d</IntervalSeconds>
            <SyncTime />
            <ScriptName>Check%05[5]d.vbs</ScriptName>
            <Arguments>-instance %[5]d</Arguments>
            <ScriptBody><![CDATA[' Check %[5]d: reports how long the last run of step %[5]d took.
Option Explicit
Dim oAPI, oBag, oArgs, nElapsed, sState
Set oAPI = CreateObject("MOM.ScriptAPI")
Set oArgs = WScript.Arguments
nElapsed = %[6]d
If nElapsed > %[7]d Then
  sState = "Warning"
Else
  sState = "Healthy"
End If
Set oBag = oAPI.CreatePropertyBag()
Call oBag.AddValue("Instance", "%[5]d")
Call oBag.AddValue("ElapsedMs", nElapsed)
Call oBag.AddValue("State", sState)
Call oAPI.Return(oBag)
]]></ScriptBody>
            <TimeoutSeconds>%[8]d</TimeoutSeconds>
          </DataSource>
        </DataSources>
        <WriteActions>
          <WriteAction ID="WriteToDB" TypeID="%[3]sMicrosoft.SystemCenter.CollectPerformanceData" />
        </WriteActions>
      </Rule>
`, id, i%7 != 0, esc(prefix), interval, i, (i*7919)%100000, 1000+i%9000, 60+i%240)
}

// packDisplayString opens the language pack and names the pack itself.
func (g *gen) packDisplayString(name string) string {
	return fmt.Sprintf(`  <LanguagePacks>
    <LanguagePack ID="ENU" IsDefault="true">
      <DisplayStrings>
        <DisplayString ElementID="%s">
          <Name>%s</Name>
          <Description>Generated for tests: rules that collect timing data from scripts.</Description>
        </DisplayString>
`, esc(g.spec.ID), esc(name))
}

// ruleDisplayString is the English name and description of the i-th rule.
func (g *gen) ruleDisplayString(i int) string {
	return fmt.Sprintf(`        <DisplayString ElementID="%s">
          <Name>Check %d elapsed time</Name>
          <Description>Runs check script %d on schedule and collects how long it took, in milliseconds.</Description>
        </DisplayString>
`, esc(g.ruleID(i)), i, i)
}

// countWriter counts the bytes written to w.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n += int64(k)
	return k, err
}
