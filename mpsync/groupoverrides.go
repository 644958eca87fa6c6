package mpsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/overrides"
	"mpsync.dev/rules"
)

// Overrides live in the management group: in Operations Manager an override
// is an element of an unsealed management pack imported into the group, and
// it applies from there. The engine therefore reads the override packs its
// store holds (storeOverrides) and combines them with the files an operator
// names (overrides.Source through rules.FromOverrides) as if all of them were
// imported into the group (groupSettings).

// storeOverrides keeps the set of override packs the store holds current.
//
// A pack is a candidate when it is unsealed (override packs are unsealed
// XML) and references Microsoft.SystemCenter.Advisor, the pack that holds
// both rules: an override names a rule of another pack through an alias,
// and the alias needs that reference. Both facts are in the store's index,
// so choosing candidates reads no pack. A candidate is read only when its
// id or SHA-256 is new since the last load; one whose bytes name neither
// RulePropertyOverride nor RuleConfigurationOverride is not parsed, and one
// without an override of the two rules does not join the set.
//
// What a read found is kept by SHA-256, and the hashes of the candidates
// that hold no override of the two rules are kept in the store too (the
// "overrides-scan.json" meta record), so that a new process, such as each
// mpsync command, reads no pack it or another process read before: pack
// files are content-addressed, so what a hash held never changes.
//
// When a candidate cannot be read as an override pack, the last valid set
// stays in force and the error is returned with it, as overrides.Source
// does for files; before any valid load the broken pack is left out and the
// others apply, so a broken pack never stops the rules.
type storeOverrides struct {
	store Store
	log   *slog.Logger

	mu     sync.Mutex
	key    string                     // the candidates of the last load, id@sha256 joined
	byHash map[string]*overrides.Pack // parsed candidates by sha256; nil pack: no rule overrides
	bad    map[string]error           // candidates that failed to read, by sha256
	set    *overrides.Set             // last valid set
	err    error                      // problem of the last load
	loaded bool                       // a load has completed
	// scanned is the hashes the overrides-scan.json record lists: read
	// on the first load, written when the hashes without overrides change.
	scanned map[string]bool
	// gen is the store's generation ([storage.Generationer]) when the last
	// load completed (genOK): equal again, the store's packs are the same
	// and the load lists nothing.
	gen   uint64
	genOK bool
}

// overrideScanName is the store meta record listing the SHA-256 of the
// candidate packs that hold no override of the two rules.
const overrideScanName = "overrides-scan.json"

// overrideScanVersion changes when what makes a pack hold an override of
// the two rules changes, so that a record of an earlier rule is ignored.
const overrideScanVersion = 1

// overrideScan is the overrides-scan.json record.
type overrideScan struct {
	Version int      `json:"version"`
	None    []string `json:"none"`
}

// loadScanLocked reads the overrides-scan.json record into byHash, once.
// A record that is missing, unreadable or of another version is ignored:
// the packs are read instead.
func (s *storeOverrides) loadScanLocked(ctx context.Context) {
	if s.scanned != nil {
		return
	}
	s.scanned = map[string]bool{}
	b, err := s.store.ReadMeta(ctx, overrideScanName)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			s.log.Debug("cannot read the override scan record; reading the candidate packs", "err", err)
		}
		return
	}
	var rec overrideScan
	if err := json.Unmarshal(b, &rec); err != nil || rec.Version != overrideScanVersion {
		return
	}
	for _, h := range rec.None {
		s.scanned[h] = true
		if _, ok := s.byHash[h]; !ok {
			s.byHash[h] = nil
		}
	}
}

// saveScanLocked writes the overrides-scan.json record when the hashes
// without overrides differ from what it lists. A failure is logged: the
// record only saves work.
func (s *storeOverrides) saveScanLocked(ctx context.Context) {
	none := map[string]bool{}
	for h, p := range s.byHash {
		if p == nil {
			none[h] = true
		}
	}
	if maps.Equal(none, s.scanned) {
		return
	}
	rec := overrideScan{Version: overrideScanVersion, None: slices.Sorted(maps.Keys(none))}
	b, err := json.Marshal(rec)
	if err == nil {
		err = s.store.WriteMeta(ctx, overrideScanName, b)
	}
	if err != nil {
		s.log.Debug("cannot write the override scan record", "err", err)
		return
	}
	s.scanned = none
}

func newStoreOverrides(s Store, log *slog.Logger) *storeOverrides {
	return &storeOverrides{store: s, log: log, byHash: map[string]*overrides.Pack{}, bad: map[string]error{}}
}

// overrideCandidate reports whether the store entry may hold overrides of
// the two rules (see storeOverrides).
func overrideCandidate(en storage.Entry) bool {
	if en.Sealed == pack.SealedYes || en.ID == overrides.AdvisorPackID {
		return false
	}
	return slices.ContainsFunc(en.References, func(r pack.Reference) bool { return r.ID == overrides.AdvisorPackID })
}

// load returns the store's override packs as a set, re-reading only what
// changed. The set is the last valid one when err is not nil.
func (s *storeOverrides) load(ctx context.Context) (*overrides.Set, error) {
	var gen uint64
	hasGen := false
	if g, ok := s.store.(storage.Generationer); ok {
		var err error
		gen, err = g.Generation(ctx)
		hasGen = err == nil
	}
	if hasGen {
		s.mu.Lock()
		same := s.loaded && s.genOK && s.gen == gen
		set, err := s.set, s.err
		s.mu.Unlock()
		if same {
			return set, err
		}
	}
	set, err := s.loadListed(ctx)
	var transient *readError
	s.mu.Lock()
	// Read before listing: a change after it moves the generation again. A
	// load that could not read the store is tried again next time.
	s.gen, s.genOK = gen, hasGen && s.loaded && !errors.As(err, &transient) && !errors.Is(err, errListFailed)
	s.mu.Unlock()
	return set, err
}

// errListFailed is wrapped by load's error when the store could not be
// listed.
var errListFailed = errors.New("list")

// loadListed is load by the store's listing.
func (s *storeOverrides) loadListed(ctx context.Context) (*overrides.Set, error) {
	entries, err := s.store.List(ctx)
	if err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.set, fmt.Errorf("override packs in the store: %w: %w", errListFailed, err)
	}
	var cands []storage.Entry
	var key strings.Builder
	for _, en := range entries {
		if overrideCandidate(en) {
			cands = append(cands, en)
			key.WriteString(en.ID + "@" + en.SHA256 + "\n")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded && key.String() == s.key {
		return s.set, s.err
	}
	s.loadScanLocked(ctx)
	var packs []*overrides.Pack
	var problems []error
	keepHash := map[string]bool{}
	for _, en := range cands {
		keepHash[en.SHA256] = true
		p, err := s.read(ctx, en)
		if err != nil {
			var transient *readError
			if errors.As(err, &transient) {
				// The store could not be read: try again next time.
				return s.set, err
			}
			problems = append(problems, err)
			continue
		}
		if p != nil {
			packs = append(packs, p)
		}
	}
	for h := range s.byHash {
		if !keepHash[h] {
			delete(s.byHash, h)
		}
	}
	for h := range s.bad {
		if !keepHash[h] {
			delete(s.bad, h)
		}
	}
	s.key = key.String()
	s.saveScanLocked(ctx)
	set, err := overrides.NewSet(packs...)
	if err != nil {
		problems = append(problems, fmt.Errorf("override packs in the store: %w", err))
	}
	first := !s.loaded
	s.loaded = true
	if len(problems) > 0 {
		s.err = errors.Join(problems...)
		s.log.Warn("override pack in the store invalid; keeping the last valid overrides", "err", s.err)
		if first && set != nil {
			// Nothing valid before: the valid packs apply without the
			// broken one.
			s.set = set
		}
		return s.set, s.err
	}
	s.set, s.err = set, nil
	return set, nil
}

// readError is a failure to read a pack's bytes from the store, as opposed
// to bytes that are not a valid override pack.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// Needles that tell a pack holds rule overrides, as UTF-8 and UTF-16.
var overrideNeedles = func() [][]byte {
	var out [][]byte
	for _, s := range []string{"RulePropertyOverride", "RuleConfigurationOverride"} {
		out = append(out, []byte(s))
		le, be := make([]byte, 0, 2*len(s)), make([]byte, 0, 2*len(s))
		for i := 0; i < len(s); i++ {
			le = append(le, s[i], 0)
			be = append(be, 0, s[i])
		}
		out = append(out, le, be)
	}
	return out
}()

// read returns the override pack en holds, nil when it holds no override
// of the two rules.
func (s *storeOverrides) read(ctx context.Context, en storage.Entry) (*overrides.Pack, error) {
	if p, ok := s.byHash[en.SHA256]; ok {
		return p, nil
	}
	if err, ok := s.bad[en.SHA256]; ok {
		return nil, err
	}
	// Regression (issue 15, point 3): a pack changed in the store at the
	// same size was read as if it were the imported one. The bytes are
	// checked against the recorded hash first; a tampered pack is a
	// problem (the last valid set stays), not cached, since importing the
	// good bytes again keeps the hash.
	data, err := checkStored(ctx, s.store, en, true)
	if errors.Is(err, ErrTampered) {
		return nil, fmt.Errorf("override pack in the store: %w", err)
	}
	if err != nil {
		return nil, &readError{fmt.Errorf("override pack %s %s in the store: %w", en.ID, en.Version, err)}
	}
	if !slices.ContainsFunc(overrideNeedles, func(n []byte) bool { return bytes.Contains(data, n) }) {
		s.byHash[en.SHA256] = nil
		return nil, nil
	}
	p, err := overrides.ReadPack(bytes.NewReader(data))
	if err != nil {
		err = fmt.Errorf("override pack %s %s in the store: %w", en.ID, en.Version, err)
		s.bad[en.SHA256] = err
		return nil, err
	}
	if !overridesRules(p) {
		p = nil
	}
	s.byHash[en.SHA256] = p
	s.log.Debug("override pack read from the store", "pack", en.ID, "version", en.Version.String(), "applies", p != nil)
	return p, nil
}

// overridesRules reports whether p holds an override of one of the two
// rules.
func overridesRules(p *overrides.Pack) bool {
	return slices.ContainsFunc(p.Overrides(), func(o overrides.Override) bool { return rules.Rule(o.Rule).Valid() })
}

// groupSettings is the engine's [SettingsSource] when the settings come
// from override packs: those of the store, combined with the files of an
// [rules.OverrideSource] when one was given.
//
// Combining: the packs of both are put in one [overrides.Set] and resolved
// with SCOM's precedence, as if the files were imported into the group. A
// pack id present in both is one pack in a group: the higher version is
// used, the file when the versions are equal (the operator named it for
// this engine). Two packs with the same override id are an error, as
// Operations Manager refuses such an import: the last valid combination
// stays in force.
type groupSettings struct {
	files  *rules.OverrideSource // nil without files
	store  *storeOverrides
	target overrides.Target

	mu         sync.Mutex
	lastFiles  *overrides.Set
	lastStore  *overrides.Set
	combined   *overrides.Set
	fileIDs    map[string]bool // packs of combined that came from files
	combineErr error
	err        error
	done       bool
}

// Settings resolves r against the combined override packs.
func (g *groupSettings) Settings(ctx context.Context, r rules.Rule) (rules.Settings, error) {
	if !r.Valid() {
		return rules.Settings{}, fmt.Errorf("unknown rule %q", r)
	}
	set, err := g.load(ctx)
	if set == nil && err != nil {
		return rules.Settings{}, fmt.Errorf("override packs: %w", err)
	}
	return rules.EffectiveFor(set, r, g.target), nil
}

// load returns the combined set (the last valid one on error) and the
// problems of the files, the store and the combination.
func (g *groupSettings) load(ctx context.Context) (*overrides.Set, error) {
	var fileSet *overrides.Set
	var fileErr error
	if g.files != nil {
		fileSet, fileErr = g.files.Load(ctx)
		if fileSet == nil && fileErr != nil {
			g.mu.Lock()
			g.err = fileErr
			g.mu.Unlock()
			return nil, fileErr
		}
	}
	storeSet, storeErr := g.store.load(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.done || fileSet != g.lastFiles || storeSet != g.lastStore {
		g.lastFiles, g.lastStore, g.done = fileSet, storeSet, true
		set, ids, err := combine(fileSet, storeSet)
		switch {
		case err == nil:
			g.combined, g.fileIDs, g.combineErr = set, ids, nil
		case g.combined == nil:
			// Nothing valid before: the group's own packs apply.
			g.combined, g.fileIDs, g.combineErr = storeSet, nil, err
		default:
			g.combineErr = err
		}
	}
	g.err = errors.Join(fileErr, storeErr, g.combineErr)
	return g.combined, g.err
}

// combine puts the packs of files and store into one set (see
// groupSettings) and returns the ids of the packs taken from files.
func combine(files, store *overrides.Set) (*overrides.Set, map[string]bool, error) {
	byID := map[string]*overrides.Pack{}
	fromFile := map[string]bool{}
	for _, p := range store.Packs() {
		byID[p.Ref().ID] = p
	}
	for _, p := range files.Packs() {
		id := p.Ref().ID
		if cur, ok := byID[id]; ok && cur.Ref().Version.Compare(p.Ref().Version) > 0 {
			continue
		}
		byID[id] = p
		fromFile[id] = true
	}
	packs := make([]*overrides.Pack, 0, len(byID))
	for _, p := range byID {
		packs = append(packs, p)
	}
	set, err := overrides.NewSet(packs...)
	if err != nil {
		return nil, nil, fmt.Errorf("override pack files and store packs together: %w", err)
	}
	return set, fromFile, nil
}

// status describes the combined set for Status.
func (g *groupSettings) status(ctx context.Context) status.Overrides {
	set, err := g.load(ctx)
	g.mu.Lock()
	fileIDs := g.fileIDs
	g.mu.Unlock()
	st := status.Overrides{Packs: []status.OverridePack{}, Warnings: set.Warnings()}
	for _, p := range set.Packs() {
		from := "store"
		if fileIDs[p.Ref().ID] {
			from = "file"
		}
		st.Packs = append(st.Packs, status.OverridePack{ID: p.Ref().ID, Version: p.Ref().Version, From: from})
	}
	if err != nil {
		st.Error = err.Error()
	}
	return st
}
