package pack

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// scanDocument checks that the UTF-8 document in r is well-formed XML as
// encoding/xml's strict Decoder.Token sees it, under the rules [Validate]
// adds (no DTD or other directive, nothing but space and comments outside
// the root, one root, lim's depth and attributes per element). It accepts
// and refuses what that decoder and drain accept and refuse (a fuzz test
// compares them), without building tokens: encoding/xml reads a byte at a
// time through an interface and allocates every name and attribute, which
// holds a whole-document check to about 30 MB/s; this runs several times
// faster. Errors wrap [ErrMalformed] (or [ErrNotManagementPack] for a
// declared encoding other than UTF-8 and UTF-16) and name the line.
func scanDocument(r io.Reader, lim Limits) error {
	s := &scanner{r: bufio.NewReaderSize(r, 64<<10), lim: lim, line: 1, names: map[string]string{}}
	if head, err := s.r.Peek(3); err == nil && string(head) == "\xEF\xBB\xBF" {
		_, _ = s.r.Discard(3)
	}
	return s.document()
}

type scanner struct {
	r        *bufio.Reader
	lim      Limits
	line     int
	stack    []string // names of the open elements, as written
	rootDone bool     // the root element closed
	manifest bool     // a <Manifest> child of the root was seen
	err      error    // a read error other than io.EOF
	name     []byte
	// names interns element names (a pack repeats a few hundred), so an
	// element costs no allocation; at most maxInterned are kept.
	names map[string]string
}

const maxInterned = 4096

// intern returns b as a string, the same string for the same bytes.
func (s *scanner) intern(b []byte) string {
	if v, ok := s.names[string(b)]; ok {
		return v
	}
	v := string(b)
	if len(s.names) < maxInterned {
		s.names[v] = v
	}
	return v
}

// errEOF stands for an unexpected end of the document inside a token.
var errEOF = errors.New("unexpected EOF")

func (s *scanner) syntax(msg string) error {
	return fmt.Errorf("%w: XML syntax error on line %d: %s", ErrMalformed, s.line, msg)
}

// fail turns a failed read into the error to return.
func (s *scanner) fail() error {
	if s.err != nil {
		return s.err
	}
	return s.syntax("unexpected EOF")
}

func (s *scanner) getc() (byte, bool) {
	b, err := s.r.ReadByte()
	if err != nil {
		if err != io.EOF {
			s.err = err
		}
		return 0, false
	}
	if b == '\n' {
		s.line++
	}
	return b, true
}

func (s *scanner) ungetc(b byte) {
	_ = s.r.UnreadByte()
	if b == '\n' {
		s.line--
	}
}

func (s *scanner) document() error {
	for {
		b, ok := s.getc()
		if !ok {
			if s.err != nil {
				return s.err
			}
			if len(s.stack) > 0 {
				return s.syntax("unexpected EOF")
			}
			return nil
		}
		if b != '<' {
			s.ungetc(b)
			nonSpace, err := s.text(-1, false)
			if err != nil {
				return err
			}
			if len(s.stack) == 0 && nonSpace {
				if s.rootDone {
					return fmt.Errorf("%w: text after the root element at line %d", ErrMalformed, s.line)
				}
				return fmt.Errorf("%w: text before the root element", ErrMalformed)
			}
			continue
		}
		if err := s.markup(); err != nil {
			return err
		}
	}
}

// markup reads what follows a '<'.
func (s *scanner) markup() error {
	b, ok := s.getc()
	if !ok {
		return s.fail()
	}
	switch b {
	case '/':
		nb, err := s.nsname("expected element name after </")
		if err != nil {
			return err
		}
		n := len(s.stack)
		match := n > 0 && s.stack[n-1] == string(nb)
		name := ""
		if !match {
			name = string(nb)
		}
		s.space()
		if b, ok = s.getc(); !ok {
			return s.fail()
		}
		if b != '>' {
			if match {
				name = s.stack[n-1]
			}
			return s.syntax("invalid characters between </" + name + " and >")
		}
		if n == 0 {
			return s.syntax("unexpected end element </" + name + ">")
		}
		if !match {
			return s.syntax("element <" + s.stack[n-1] + "> closed by </" + name + ">")
		}
		s.stack = s.stack[:n-1]
		if n == 1 {
			s.rootDone = true
		}
		return nil
	case '?':
		return s.procInst()
	case '!':
		if b, ok = s.getc(); !ok {
			return s.fail()
		}
		switch b {
		case '-':
			return s.comment()
		case '[':
			for i := range 6 {
				if b, ok = s.getc(); !ok {
					return s.fail()
				}
				if b != "CDATA["[i] {
					return s.syntax("invalid <![ sequence")
				}
			}
			nonSpace, err := s.text(-1, true)
			if err != nil {
				return err
			}
			if len(s.stack) == 0 && nonSpace {
				return fmt.Errorf("%w: text outside the root element at line %d", ErrMalformed, s.line)
			}
			return nil
		}
		return fmt.Errorf("%w: DTD or entity declarations are not accepted (line %d)", ErrMalformed, s.line)
	}
	s.ungetc(b)
	return s.startTag()
}

func (s *scanner) startTag() error {
	nb, err := s.nsname("expected element name after <")
	if err != nil {
		return err
	}
	name := s.intern(nb)
	attrs, empty := 0, false
	for {
		s.space()
		b, ok := s.getc()
		if !ok {
			return s.fail()
		}
		if b == '/' {
			if b, ok = s.getc(); !ok {
				return s.fail()
			}
			if b != '>' {
				return s.syntax("expected /> in element")
			}
			empty = true
			break
		}
		if b == '>' {
			break
		}
		s.ungetc(b)
		if _, err := s.nsname("expected attribute name in element"); err != nil {
			return err
		}
		s.space()
		if b, ok = s.getc(); !ok {
			return s.fail()
		}
		if b != '=' {
			return s.syntax("attribute name without = in element")
		}
		s.space()
		if b, ok = s.getc(); !ok {
			return s.fail()
		}
		if b != '"' && b != '\'' {
			return s.syntax("unquoted or missing attribute value in element")
		}
		if _, err := s.text(int(b), false); err != nil {
			return err
		}
		attrs++
	}
	if s.rootDone && len(s.stack) == 0 {
		return fmt.Errorf("%w: a second root element <%s> at line %d", ErrMalformed, localName(name), s.line)
	}
	if len(s.stack) == 1 && localName(name) == "Manifest" {
		if s.manifest {
			return fmt.Errorf("%w: a second <Manifest> at line %d; a pack has one", ErrMalformed, s.line)
		}
		s.manifest = true
	}
	if len(s.stack)+1 > s.lim.MaxDepth {
		return fmt.Errorf("%w: elements nest deeper than %d at <%s>, line %d", ErrMalformed, s.lim.MaxDepth, localName(name), s.line)
	}
	if attrs > s.lim.MaxAttrs {
		return fmt.Errorf("%w: <%s> at line %d has %d attributes, limit %d", ErrMalformed, localName(name), s.line, attrs, s.lim.MaxAttrs)
	}
	if !empty {
		s.stack = append(s.stack, name)
	} else if len(s.stack) == 0 {
		s.rootDone = true
	}
	return nil
}

func localName(name string) string {
	if space, local, ok := strings.Cut(name, ":"); ok && space != "" && local != "" {
		return local
	}
	return name
}

// comment reads a comment after "<!-".
func (s *scanner) comment() error {
	b, ok := s.getc()
	if !ok {
		return s.fail()
	}
	if b != '-' {
		return s.syntax("invalid sequence <!- not part of <!--")
	}
	var b0, b1 byte
	for {
		if b, ok = s.getc(); !ok {
			return s.fail()
		}
		if b0 == '-' && b1 == '-' {
			if b != '>' {
				return s.syntax(`invalid sequence "--" not allowed in comments`)
			}
			return nil
		}
		b0, b1 = b1, b
	}
}

// procInst reads a processing instruction after "<?".
func (s *scanner) procInst() error {
	target, ok := s.readName()
	if !ok {
		if s.err != nil {
			return s.err
		}
		return s.syntax("expected target name after <?")
	}
	if !validName(target) {
		return s.syntax("invalid XML name: " + string(target))
	}
	isXML := string(target) == "xml"
	s.space()
	var data []byte
	var b0 byte
	for {
		b, ok := s.getc()
		if !ok {
			return s.fail()
		}
		if isXML {
			data = append(data, b)
		}
		if b0 == '?' && b == '>' {
			break
		}
		b0 = b
	}
	if !isXML {
		return nil
	}
	content := string(data[:len(data)-2])
	if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
		return fmt.Errorf("%w: xml: unsupported version %q; only version 1.0 is supported", ErrMalformed, ver)
	}
	if enc := procInstParam("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
		switch strings.ToLower(enc) {
		case "utf8", "utf-16", "utf16", "unicode", "us-ascii", "ascii":
		default:
			return fmt.Errorf("xml: opening charset %q: %w: declared encoding %q is not supported (use UTF-8 or UTF-16)", enc, ErrNotManagementPack, enc)
		}
	}
	return nil
}

// procInstParam is encoding/xml's procInst: the value of param in a
// processing instruction's text, "" when absent.
func procInstParam(param, s string) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

func (s *scanner) space() {
	for {
		buf, ok := s.buffered()
		if !ok {
			return
		}
		i := 0
	bulk:
		for ; i < len(buf); i++ {
			switch buf[i] {
			case ' ', '\r', '\t':
			case '\n':
				s.line++
			default:
				break bulk
			}
		}
		_, _ = s.r.Discard(i)
		if i < len(buf) {
			return
		}
	}
}

func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

// readName reads the bytes of a name (name bytes and any byte of a
// multi-byte sequence) into s.name; ok is false when none comes or the
// document ends inside it.
//
// It takes the bytes from the reader's buffer in bulk (a name holds no
// newline, so no line is counted).
func (s *scanner) readName() ([]byte, bool) {
	s.name = s.name[:0]
	for {
		buf, ok := s.buffered()
		if !ok {
			return nil, false
		}
		i := 0
		for i < len(buf) && nameByte[buf[i]] {
			i++
		}
		if i == 0 && len(s.name) == 0 {
			return nil, false
		}
		s.name = append(s.name, buf[:i]...)
		_, _ = s.r.Discard(i)
		if i < len(buf) {
			return s.name, true
		}
	}
}

// buffered returns the bytes in the reader's buffer, filling it when it is
// empty; ok is false at the end of the input (s.err is set for a failure
// other than io.EOF).
func (s *scanner) buffered() ([]byte, bool) {
	if s.r.Buffered() == 0 {
		if _, err := s.r.Peek(1); err != nil && s.r.Buffered() == 0 {
			if err != io.EOF {
				s.err = err
			}
			return nil, false
		}
	}
	buf, _ := s.r.Peek(s.r.Buffered())
	return buf, true
}

// nameByte marks the bytes readName takes: isNameByte and every byte of a
// multi-byte sequence.
var nameByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= utf8.RuneSelf || isNameByte(byte(c))
	}
	return t
}()

// textClass sorts bytes for text's bulk loop: textStop for what needs a
// closer look (markup, entities, quotes, control and non-ASCII bytes),
// textPlain for printable ASCII, textSpace and textNewline for space.
var textClass = func() (t [256]uint8) {
	for c := 0x21; c < 0x7F; c++ {
		t[c] = textPlain
	}
	for _, c := range "<&]>\"'" {
		t[c] = textStop
	}
	t[' '], t['\t'], t['\r'] = textSpace, textSpace, textSpace
	t['\n'] = textNewline
	return t
}()

const (
	textStop = iota
	textPlain
	textSpace
	textNewline
)

// nsname reads an element or attribute name: a valid XML name with at most
// one colon.
// The bytes returned are valid until the next read.
func (s *scanner) nsname(missing string) ([]byte, error) {
	b, ok := s.readName()
	if !ok {
		if s.err != nil {
			return nil, s.err
		}
		return nil, s.syntax(missing)
	}
	if !validName(b) {
		return nil, s.syntax("invalid XML name: " + string(b))
	}
	n := 0
	for _, c := range b {
		if c == ':' {
			n++
		}
	}
	if n > 1 {
		return nil, s.syntax(missing)
	}
	return b, nil
}

// validName is encoding/xml's isName.
func validName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for i, c := range b {
		if c >= utf8.RuneSelf {
			return validNameRunes(b)
		}
		if i == 0 && !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':') {
			return false
		}
	}
	return true // ASCII name bytes only: all but the first were checked by readName
}

func validNameRunes(s []byte) bool {
	c, n := utf8.DecodeRune(s)
	if c == utf8.RuneError && n == 1 || !unicode.Is(xmlNameFirst, c) {
		return false
	}
	for n < len(s) {
		s = s[n:]
		c, n = utf8.DecodeRune(s)
		if c == utf8.RuneError && n == 1 || !unicode.Is(xmlNameFirst, c) && !unicode.Is(xmlNameSecond, c) {
			return false
		}
	}
	return true
}

func inCharacterRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// text reads character data up to '<' (quote < 0), up to the closing quote
// of an attribute value, or up to "]]>" (cdata), checking entities, UTF-8
// and the characters XML allows. nonSpace reports a character (after
// entities) that is not space.
func (s *scanner) text(quote int, cdata bool) (nonSpace bool, err error) {
	brackets := 0 // ']' just read, up to 2
	for {
		// The common bytes (printable ASCII but the markup ones) in bulk
		// from the buffer.
		if s.r.Buffered() == 0 {
			if _, err := s.r.Peek(1); err != nil && s.r.Buffered() == 0 {
				if err != io.EOF {
					return nonSpace, err
				}
				if cdata {
					return nonSpace, s.syntax("unexpected EOF in CDATA section")
				}
				return nonSpace, nil // the caller sees the end
			}
		}
		buf, _ := s.r.Peek(s.r.Buffered())
		i, plain := 0, false
	bulk:
		for ; i < len(buf); i++ {
			switch textClass[buf[i]] {
			case textPlain:
				plain = true
			case textSpace:
			case textNewline:
				s.line++
			default:
				break bulk
			}
		}
		if i > 0 {
			nonSpace, brackets = nonSpace || plain, 0
			_, _ = s.r.Discard(i)
			if i < len(buf) {
				continue
			}
		}
		if i == len(buf) {
			continue
		}
		b, _ := s.getc()
		switch {
		case quote < 0 && brackets == 2 && b == '>':
			if cdata {
				return nonSpace, nil
			}
			return nonSpace, s.syntax("unescaped ]]> not in CDATA section")
		case b == '<' && !cdata:
			if quote >= 0 {
				return nonSpace, s.syntax("unescaped < inside quoted string")
			}
			s.ungetc(b)
			return nonSpace, nil
		case quote >= 0 && int(b) == quote:
			return nonSpace, nil
		case b == '&' && !cdata:
			r, err := s.entity()
			if err != nil {
				return nonSpace, err
			}
			if !inCharacterRange(r) {
				return nonSpace, s.syntax(fmt.Sprintf("illegal character code %U", r))
			}
			nonSpace = nonSpace || !unicode.IsSpace(r)
			brackets = 0
			continue
		}
		if b == ']' {
			if brackets < 2 {
				brackets++
			}
		} else {
			brackets = 0
		}
		if b < utf8.RuneSelf {
			if b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
				return nonSpace, s.syntax(fmt.Sprintf("illegal character code %U", rune(b)))
			}
			nonSpace = nonSpace || b > ' '
			continue
		}
		// A multi-byte sequence: b and what follows.
		s.ungetc(b)
		seq, _ := s.r.Peek(utf8.UTFMax)
		r, n := utf8.DecodeRune(seq)
		if r == utf8.RuneError && n == 1 {
			if cdata && len(seq) < utf8.UTFMax && !utf8.FullRune(seq) {
				return nonSpace, s.syntax("unexpected EOF in CDATA section")
			}
			return nonSpace, s.syntax("invalid UTF-8")
		}
		if !inCharacterRange(r) {
			return nonSpace, s.syntax(fmt.Sprintf("illegal character code %U", r))
		}
		_, _ = s.r.Discard(n)
		nonSpace = nonSpace || !unicode.IsSpace(r)
	}
}

// entity reads a character or entity reference after '&' and returns the
// character it stands for.
func (s *scanner) entity() (rune, error) {
	bad := func(ref string, semicolon bool) (rune, error) {
		ent := "&" + ref
		if semicolon {
			ent += ";"
		} else {
			ent += " (no semicolon)"
		}
		return 0, s.syntax("invalid character entity " + ent)
	}
	b, ok := s.getc()
	if !ok {
		return 0, s.fail()
	}
	if b == '#' {
		ref := []byte{'#'}
		if b, ok = s.getc(); !ok {
			return 0, s.fail()
		}
		base := rune(10)
		if b == 'x' {
			base = 16
			ref = append(ref, 'x')
			if b, ok = s.getc(); !ok {
				return 0, s.fail()
			}
		}
		var n rune
		digits, over := 0, false
		for {
			var d rune
			switch {
			case '0' <= b && b <= '9':
				d = rune(b - '0')
			case base == 16 && 'a' <= b && b <= 'f':
				d = rune(b-'a') + 10
			case base == 16 && 'A' <= b && b <= 'F':
				d = rune(b-'A') + 10
			default:
				d = -1
			}
			if d < 0 {
				break
			}
			ref = append(ref, b)
			digits++
			if !over {
				if n = n*base + d; n > unicode.MaxRune {
					over = true
				}
			}
			if b, ok = s.getc(); !ok {
				return 0, s.fail()
			}
		}
		if b != ';' {
			s.ungetc(b)
			return bad(string(ref), false)
		}
		if digits == 0 || over {
			return bad(string(ref), true)
		}
		if !utf8.ValidRune(n) {
			n = utf8.RuneError // string(rune(n)) of a surrogate
		}
		return n, nil
	}
	s.ungetc(b)
	name, ok := s.readName()
	if !ok && s.err != nil {
		return 0, s.err
	}
	ref := string(name)
	if b, ok = s.getc(); !ok {
		return 0, s.fail()
	}
	if b != ';' {
		s.ungetc(b)
		return bad(ref, false)
	}
	switch ref {
	case "lt":
		return '<', nil
	case "gt":
		return '>', nil
	case "amp":
		return '&', nil
	case "apos":
		return '\'', nil
	case "quot":
		return '"', nil
	}
	return bad(ref, true)
}
