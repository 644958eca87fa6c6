// Package catalog is the workspace catalog of docs/protocol.md: the JSON document
// in which a workspace lists its solutions and the management packs it wants,
// and the rules that make a catalog valid.
//
// Both sides of the protocol use it: the client in
// [mpsync.dev/mpsync/workspace] and the fake server in
// [mpsync.dev/mpsync/mpsynctest]. A [Catalog] that passed [Catalog.Validate]
// is safe to act on: its ids are usable as file names, its versions parse and
// every solution pack names its solution.
package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"mpsync.dev/mpsync/pack"
)

// Channel says which rule keeps a pack current.
type Channel string

const (
	// ChannelBase packs are kept current by Microsoft.SystemCenter.Advisor.MPUpdate.
	ChannelBase Channel = "base"
	// ChannelSolution packs are kept current by
	// Microsoft.SystemCenter.Advisor.Core.GetIntelligencePacksRule.
	ChannelSolution Channel = "solution"
)

// SupportedMajor is the schemaVersion major version this package reads.
const SupportedMajor = 1

// ErrInvalid is wrapped by every error [Catalog.Validate] and [Decode] return
// for a catalog that breaks docs/protocol.md §1.
var ErrInvalid = errors.New("invalid catalog")

// ErrSerialRegressed is wrapped by [CheckSerial]'s error: the catalog's
// serial is lower than one already applied for the same workspace (a
// replayed or rolled-back catalog). The workspace client and the engine
// both wrap it, as mpsync.ErrSerialRegressed and
// workspace.ErrSerialRegressed, which are this value.
var ErrSerialRegressed = errors.New("catalog serial went backwards")

// CheckSerial applies the protocol's serial rule (docs/protocol.md §1: "A
// client refuses a catalog whose serial is lower than one it already applied
// for the same workspace"): it returns an error wrapping
// [ErrSerialRegressed] when c's serial is lower than applied, which was
// applied for workspace appliedFor, and nil otherwise. what, put before the
// earlier serial in the error, names it ("the held catalog's "); the caller
// adds where and why.
// It is the rule's one implementation: the workspace client checks against
// the catalog it holds, the engine against the serial its store recorded,
// which survives a lost client cache.
func CheckSerial(c *Catalog, applied int64, appliedFor, what string) error {
	if c == nil || c.WorkspaceID != appliedFor || c.Serial >= applied {
		return nil
	}
	return fmt.Errorf("%w: serial %d is lower than %s%d", ErrSerialRegressed, c.Serial, what, applied)
}

// Catalog is the document served at {base}/workspaces/{id}/catalog.
type Catalog struct {
	SchemaVersion string     `json:"schemaVersion"`
	WorkspaceID   string     `json:"workspaceId"`
	Serial        int64      `json:"serial"`
	GeneratedAt   time.Time  `json:"generatedAt"`
	Solutions     []Solution `json:"solutions"`
	Packs         []Pack     `json:"packs"`
}

// Solution is a workspace solution and whether it is enabled.
type Solution struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
}

// Pack is one management pack the workspace serves.
type Pack struct {
	ID       string       `json:"id"`
	Version  pack.Version `json:"version"`
	Channel  Channel      `json:"channel"`
	Solution string       `json:"solution,omitempty"`
	SHA256   string       `json:"sha256"`
	Size     int64        `json:"size"`
	Href     string       `json:"href"`
}

// Decode reads a catalog from r and validates it. A required member
// (schemaVersion, workspaceId, serial, solutions, packs) that is missing or
// null, data after the JSON object, and a version that does not parse (named
// with the pack it belongs to) make the catalog invalid, as well as all that
// [Catalog.Validate] refuses.
func Decode(r io.Reader) (*Catalog, error) {
	var raw struct {
		Catalog
		Packs []struct {
			Pack
			Version string `json:"version"`
		} `json:"packs"`
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the catalog: %w", ErrInvalid, err)
	}
	if err := checkRequired(b); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: not a JSON catalog: %w", ErrInvalid, err)
	}
	c := raw.Catalog
	c.Packs = make([]Pack, 0, len(raw.Packs))
	for i, p := range raw.Packs {
		v, err := pack.ParseVersion(p.Version)
		if err != nil {
			return nil, fmt.Errorf("%w: packs[%d] (%s): version: %w", ErrInvalid, i, p.ID, err)
		}
		p.Pack.Version = v
		c.Packs = append(c.Packs, p.Pack)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// requiredFields are the catalog's members that docs/protocol.md §1 says
// make it invalid when missing or null. A catalog without "packs" must not
// read as "the workspace wants no packs": that would remove every workspace
// pack.
var requiredFields = [...]string{"schemaVersion", "workspaceId", "serial", "solutions", "packs"}

// checkRequired refuses a catalog document that lacks a required member or
// holds null for it.
func checkRequired(b []byte) error {
	var members map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&members); err != nil {
		return fmt.Errorf("%w: not a JSON catalog: %w", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the catalog's JSON object at offset %d", ErrInvalid, dec.InputOffset())
	}
	for _, name := range requiredFields {
		v, ok := members[name]
		switch {
		case !ok:
			return fmt.Errorf("%w: %q is missing", ErrInvalid, name)
		case string(bytes.TrimSpace(v)) == "null":
			return fmt.Errorf("%w: %q is null", ErrInvalid, name)
		}
	}
	return nil
}

// Validate checks the catalog whole, as docs/protocol.md §1 says, and
// returns an error naming the first problem. It refuses exactly what that
// section lists (pack ids outside A-Z a-z 0-9 . _ - or over 256 characters,
// versions that do not parse, duplicate ids, sha256 values that are not 64
// hex digits, negative sizes, solution packs naming no solution, unknown
// channels, an unknown schemaVersion major) plus two things that cannot be
// acted on safely: the pack ids "." and "..", which cannot be file names,
// and a solution without a name. Upper-case hex digits in sha256 are
// accepted and lower-cased. A solution listed twice counts as its first
// entry. The workspace id and the serial are the client's to compare with
// what it expects.
func (c *Catalog) Validate() error {
	sv, err := semver.NewVersion(c.SchemaVersion)
	if err != nil {
		return fmt.Errorf("%w: schemaVersion %q: %w", ErrInvalid, c.SchemaVersion, err)
	}
	if sv.Major() != SupportedMajor {
		return fmt.Errorf("%w: schemaVersion %s: major version %d is not supported (this client reads %d.x)", ErrInvalid, c.SchemaVersion, sv.Major(), SupportedMajor)
	}
	for i, s := range c.Solutions {
		if s.Name == "" {
			return fmt.Errorf("%w: solutions[%d] has no name", ErrInvalid, i)
		}
	}
	seen := map[string]bool{}
	for i := range c.Packs {
		c.Packs[i].SHA256 = strings.ToLower(c.Packs[i].SHA256)
		p := c.Packs[i]
		if err := p.validate(); err != nil {
			return fmt.Errorf("%w: packs[%d]: %w", ErrInvalid, i, err)
		}
		if seen[p.ID] {
			return fmt.Errorf("%w: packs[%d]: pack %s is listed twice", ErrInvalid, i, p.ID)
		}
		seen[p.ID] = true
	}
	return nil
}

func (p Pack) validate() error {
	if err := pack.CheckID(p.ID); err != nil {
		return err
	}
	if len(p.SHA256) != 64 || !isLowerHex(p.SHA256) {
		return fmt.Errorf("pack %s: sha256 %q is not 64 hex digits", p.ID, p.SHA256)
	}
	if p.Size < 0 {
		return fmt.Errorf("pack %s: size %d is negative", p.ID, p.Size)
	}
	switch p.Channel {
	case ChannelBase:
	case ChannelSolution:
		if p.Solution == "" {
			return fmt.Errorf("pack %s: solution pack names no solution", p.ID)
		}
	default:
		return fmt.Errorf("pack %s: channel %q is neither base nor solution", p.ID, p.Channel)
	}
	if _, err := url.Parse(p.Href); err != nil {
		return fmt.Errorf("pack %s: href: %w", p.ID, err)
	}
	return nil
}

func isLowerHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// Pack returns the pack with the given id.
func (c *Catalog) Pack(id string) (Pack, bool) {
	for _, p := range c.Packs {
		if p.ID == id {
			return p, true
		}
	}
	return Pack{}, false
}

// Enabled reports whether the named solution is listed and enabled (by its
// first entry, should it be listed twice).
func (c *Catalog) Enabled(solution string) bool {
	for _, s := range c.Solutions {
		if s.Name == solution {
			return s.Enabled
		}
	}
	return false
}

// Wanted reports whether the catalog wants p imported: every base pack, and a
// solution pack while its solution is listed as enabled.
func (c *Catalog) Wanted(p Pack) bool {
	return p.Channel == ChannelBase || c.Enabled(p.Solution)
}
