package scom

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"mpsync.dev/mpsync/pack"
)

// ErrInvalidInventory is wrapped by every error [ReadInventory] returns for
// input it cannot use.
var ErrInvalidInventory = errors.New("invalid management pack inventory")

// MaxInventorySize bounds what [ReadInventory] reads: a group's inventory is
// a few hundred packs, some tens of KB.
const MaxInventorySize = 16 << 20

// LoadInventory reads the inventory file at path with [ReadInventory]. Its
// errors start with "platform inventory PATH: ", so they name the file once.
func LoadInventory(path string) (pack.Inventory, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("platform inventory %s: %w", path, err)
	}
	defer f.Close()
	inv, err := ReadInventory(f)
	if err != nil {
		return nil, fmt.Errorf("platform inventory %s: %w", path, err)
	}
	return inv, nil
}

// ReadInventory reads a management group's inventory, the packs it holds and
// their versions, as PowerShell exports it:
//
//	Get-SCOMManagementPack | Select-Object Name, Version | Export-Csv ...
//	Get-SCOMManagementPack | Select-Object Name, Version | ConvertTo-Json
//
// The form is told by content: a document whose first character is "[" or
// "{" is JSON, anything else CSV. Either may be UTF-8, with or without a
// byte-order mark, or UTF-16 with one (Windows PowerShell 5.1's Out-File
// and Export-Csv -Encoding Unicode).
//
// CSV: an optional "#TYPE ..." first line (Windows PowerShell writes it
// unless -NoTypeInformation), then a header naming a Name and a Version
// column (in any order, other columns ignored), then one row per pack;
// fields quoted or not, CRLF or LF line ends.
//
// JSON: an array of objects, or one object (ConvertTo-Json of a single
// pack), each with a Name and a Version; Version is a string "7.5.8501.0"
// or the System.Version object {"Major":7,"Minor":5,"Build":8501,
// "Revision":0,...} (MajorRevision, MinorRevision and other fields are
// ignored; a Build or Revision of -1, .NET's "not given", reads as 0).
//
// Every name must be a valid pack id ([pack.CheckID]) and every version a
// valid [pack.Version]. A name listed twice at the same version is kept
// once; at two different versions the input is refused, since a management
// group holds one version of a pack and such a file mixes two groups' or
// was edited (keeping either version would hide which group it
// describes). Input without any pack is refused too. Every error wraps
// [ErrInvalidInventory] and names the line (CSV) or the element index and
// field (JSON) and the offending value.
func ReadInventory(r io.Reader) (pack.Inventory, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxInventorySize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxInventorySize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidInventory, MaxInventorySize)
	}
	text, err := decodeText(b)
	if err != nil {
		return nil, err
	}
	trimmed := strings.TrimLeft(text, " \t\r\n")
	if trimmed == "" {
		return nil, fmt.Errorf("%w: the input is empty", ErrInvalidInventory)
	}
	if trimmed[0] == '[' || trimmed[0] == '{' {
		return readJSON(trimmed)
	}
	return readCSV(text)
}

// decodeText returns b as a string: a UTF-8 byte-order mark is dropped,
// UTF-16 with a byte-order mark is transcoded, and anything else must be
// UTF-8.
func decodeText(b []byte) (string, error) {
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b = b[3:]
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		order = binary.LittleEndian
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		order = binary.BigEndian
	}
	if order == nil {
		if len(b) >= 2 && (b[0] == 0 || b[1] == 0) {
			return "", fmt.Errorf("%w: UTF-16 text without a byte-order mark; save it as UTF-8 or with a byte-order mark", ErrInvalidInventory)
		}
		if !utf8.Valid(b) {
			return "", fmt.Errorf("%w: the text is not UTF-8 (nor UTF-16 with a byte-order mark)", ErrInvalidInventory)
		}
		return string(b), nil
	}
	b = b[2:]
	if len(b)%2 != 0 {
		return "", fmt.Errorf("%w: UTF-16 text with an odd number of bytes", ErrInvalidInventory)
	}
	units := make([]uint16, len(b)/2)
	for i := range units {
		units[i] = order.Uint16(b[2*i:])
	}
	return string(utf16.Decode(units)), nil
}

// inventoryBuilder collects packs and refuses conflicting duplicates; where
// says where each one came from ("line 3", "element 2").
type inventoryBuilder struct {
	inv   pack.Inventory
	where map[string]string
}

func (b *inventoryBuilder) add(where, name, version string, v pack.Version) error {
	if err := pack.CheckID(name); err != nil {
		return fmt.Errorf("%w: %s: Name %q: %v", ErrInvalidInventory, where, name, err)
	}
	if prev, dup := b.inv[name]; dup && prev != v {
		return fmt.Errorf("%w: %s: %s at version %s, but %s lists it at %s; a management group holds one version of a pack (two groups' inventories mixed?)",
			ErrInvalidInventory, where, name, version, b.where[name], prev)
	}
	if _, dup := b.inv[name]; !dup {
		b.inv[name] = v
		b.where[name] = where
	}
	return nil
}

func (b *inventoryBuilder) done() (pack.Inventory, error) {
	if len(b.inv) == 0 {
		return nil, fmt.Errorf("%w: it lists no management packs", ErrInvalidInventory)
	}
	return b.inv, nil
}

func newBuilder() *inventoryBuilder {
	return &inventoryBuilder{inv: pack.Inventory{}, where: map[string]string{}}
}

// readCSV reads Export-Csv output.
func readCSV(text string) (pack.Inventory, error) {
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comment = '#' // the #TYPE line; no pack id starts with '#'
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, csvError(err)
	}
	nameCol, versionCol := -1, -1
	for i, h := range header {
		switch {
		case strings.EqualFold(strings.TrimSpace(h), "Name") && nameCol < 0:
			nameCol = i
		case strings.EqualFold(strings.TrimSpace(h), "Version") && versionCol < 0:
			versionCol = i
		}
	}
	if nameCol < 0 || versionCol < 0 {
		line, _ := cr.FieldPos(0)
		return nil, fmt.Errorf("%w: line %d: header %q needs a Name and a Version column (Get-SCOMManagementPack | Select-Object Name, Version | Export-Csv)",
			ErrInvalidInventory, line, strings.Join(header, ","))
	}
	b := newBuilder()
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		where := "line " + strconv.Itoa(line)
		name, version := strings.TrimSpace(rec[nameCol]), strings.TrimSpace(rec[versionCol])
		v, err := pack.ParseVersion(version)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: Version %q of %s: %v", ErrInvalidInventory, where, version, name, err)
		}
		if err := b.add(where, name, version, v); err != nil {
			return nil, err
		}
	}
	return b.done()
}

// csvError rewrites encoding/csv's errors ("record on line 3: wrong number
// of fields") into this package's.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: line %d: %v", ErrInvalidInventory, pe.Line, pe.Err)
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: no header line", ErrInvalidInventory)
	}
	return fmt.Errorf("%w: %v", ErrInvalidInventory, err)
}

// readJSON reads ConvertTo-Json output: an array of packs or one pack.
func readJSON(text string) (pack.Inventory, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var doc json.RawMessage
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: JSON: %v", ErrInvalidInventory, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: JSON: more than one document (at byte %d)", ErrInvalidInventory, dec.InputOffset())
	}
	var elems []json.RawMessage
	if doc[0] == '{' {
		elems = []json.RawMessage{doc}
	} else if err := json.Unmarshal(doc, &elems); err != nil {
		return nil, fmt.Errorf("%w: JSON: want an array of objects with Name and Version: %v", ErrInvalidInventory, err)
	}
	b := newBuilder()
	for i, raw := range elems {
		where := "element " + strconv.Itoa(i)
		name, v, err := jsonPack(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidInventory, where, err)
		}
		if err := b.add(where, name, v.String(), v); err != nil {
			return nil, err
		}
	}
	return b.done()
}

// jsonPack reads one element: {"Name": "...", "Version": "..." or {...}}.
// Field names match without regard to case, as PowerShell's do.
func jsonPack(raw json.RawMessage) (string, pack.Version, error) {
	var p struct {
		Name    *json.RawMessage
		Version *json.RawMessage
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", pack.Version{}, fmt.Errorf("want an object with Name and Version, got %s", short(raw))
	}
	if p.Name == nil {
		return "", pack.Version{}, errors.New("no Name field")
	}
	var name string
	if err := json.Unmarshal(*p.Name, &name); err != nil {
		return "", pack.Version{}, fmt.Errorf("Name: want a string, got %s", short(*p.Name))
	}
	if p.Version == nil {
		return "", pack.Version{}, fmt.Errorf("Version of %s: no Version field", name)
	}
	v, err := jsonVersion(*p.Version)
	if err != nil {
		return "", pack.Version{}, fmt.Errorf("Version of %s: %v", name, err)
	}
	return name, v, nil
}

// jsonVersion reads a version string or a System.Version object.
func jsonVersion(raw json.RawMessage) (pack.Version, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		v, err := pack.ParseVersion(s)
		if err != nil {
			return pack.Version{}, fmt.Errorf("%q: %v", s, err)
		}
		return v, nil
	}
	var o struct{ Major, Minor, Build, Revision *json.Number }
	if err := json.Unmarshal(raw, &o); err != nil {
		return pack.Version{}, fmt.Errorf("want a string or an object with Major, Minor, Build and Revision, got %s", short(raw))
	}
	var parts [4]uint32
	for i, f := range []struct {
		name string
		n    *json.Number
	}{{"Major", o.Major}, {"Minor", o.Minor}, {"Build", o.Build}, {"Revision", o.Revision}} {
		if f.n == nil {
			return pack.Version{}, fmt.Errorf("%s: missing in %s", f.name, short(raw))
		}
		n, err := strconv.ParseInt(f.n.String(), 10, 64)
		switch {
		case err != nil:
			return pack.Version{}, fmt.Errorf("%s: %s is not a whole number", f.name, f.n)
		case n == -1 && i >= 2:
			// .NET's System.Version leaves Build and Revision at -1 when
			// the version has fewer parts; ParseVersion reads them as 0.
		case n < 0 || n > pack.MaxVersionPart:
			return pack.Version{}, fmt.Errorf("%s: %s is out of range (0 to %d)", f.name, f.n, pack.MaxVersionPart)
		default:
			parts[i] = uint32(n)
		}
	}
	return pack.Version{Major: parts[0], Minor: parts[1], Build: parts[2], Revision: parts[3]}, nil
}

// short quotes at most 60 bytes of raw JSON for an error.
func short(raw []byte) string {
	s := strings.Join(strings.Fields(string(raw)), " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
