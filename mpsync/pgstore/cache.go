package pgstore

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"mpsync.dev/mpsync/storage"
)

// DefaultCacheFor is how long the store answers reads from what it last
// validated against the database when Options.CacheFor is zero.
const DefaultCacheFor = time.Second

// maxCachedMeta is the largest meta record the cache keeps the bytes of;
// a larger one is read from the database each time.
const maxCachedMeta = 1 << 20

// cache is what the store last saw of its group: the packs' generation
// (store_gen), the listing at some generation, and the meta records with
// their versions. It answers reads while it is fresh, that is for
// cacheFor after a validation, which is one query (validateSQL) that
// returns the generation and every record's version, and the bytes of the
// records whose version the cache does not hold; Lease.Acquire sends that
// query in the same round trip as the lease statement.
//
// Writes through this store keep it right (a meta write records the
// version the database gave it; a pack write forgets the listing). A
// validation that overlapped a write or another validation's answer is
// thrown away (epoch), so that it cannot put back what the write replaced
// or an older snapshot.
type cache struct {
	mu    sync.Mutex
	at    time.Time // real time of the last validation; zero: not fresh
	epoch uint64    // moved by every write and invalidation
	gen   int64     // store_gen.packs at the validation
	// list is the listing at listGen (hasList), sorted by id.
	list    []storage.Entry
	listGen int64
	hasList bool
	// meta are the group's records at the validation, with their
	// versions; data is kept when hasData.
	meta map[string]metaRec
}

type metaRec struct {
	version int64
	data    []byte
	hasData bool
}

// freshLocked reports whether the cache may answer now.
func (s *Store) freshLocked() bool {
	return s.cacheFor > 0 && !s.c.at.IsZero() && time.Since(s.c.at) < s.cacheFor
}

// forget marks the cache stale and drops what a failed or unknown write may
// have changed: the listing when packs, the record name when not empty.
func (s *Store) forget(packs bool, name string) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.c.epoch++
	s.c.at = time.Time{}
	if packs {
		s.c.hasList = false
	}
	if name != "" {
		delete(s.c.meta, name)
	}
}

// wroteMeta records a meta write the database accepted at version; data is
// the record's bytes after it when known (nil: not known).
func (s *Store) wroteMeta(name string, version int64, data []byte, known bool) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.c.epoch++
	if s.c.meta == nil {
		s.c.meta = map[string]metaRec{}
	}
	// Concurrent writes to one record can report back out of order; the
	// database gives each later write of a row a higher version, so an
	// answer older than what the cache holds must not replace it (two
	// concurrent appends once left the cache with only the first).
	if old, ok := s.c.meta[name]; ok && old.version > version {
		return
	}
	r := metaRec{version: version}
	if known && len(data) <= maxCachedMeta {
		r.data, r.hasData = slices.Clone(data), true
		if r.data == nil {
			r.data = []byte{}
		}
	}
	s.c.meta[name] = r
}

// validateSQL returns a header row (name NULL) with the group's pack
// generation, then a row per meta record of the group: its name, version,
// whether its version differs from the one given for it in $2/$3, and then
// its bytes when not larger than $4. One statement, one snapshot.
func (s *Store) validateSQL() string {
	return `SELECT NULL::text, coalesce((SELECT packs FROM ` + s.tGen + ` WHERE grp = $1), 0), false, NULL::bytea
UNION ALL
SELECT m.name, m.version, k.version IS DISTINCT FROM m.version,
	CASE WHEN k.version IS DISTINCT FROM m.version AND length(m.data) <= $4 THEN m.data END
FROM ` + s.tMeta + ` m LEFT JOIN unnest($2::text[], $3::bigint[]) AS k(name, version) ON k.name = m.name
WHERE m.grp = $1`
}

// validateArgs returns the arguments of validateSQL and the epoch they
// were taken at.
func (s *Store) validateArgs() ([]any, uint64) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	names := make([]string, 0, len(s.c.meta))
	versions := make([]int64, 0, len(s.c.meta))
	for n, r := range s.c.meta {
		if r.hasData {
			names = append(names, n)
			versions = append(versions, r.version)
		}
	}
	return []any{s.group, names, versions, maxCachedMeta}, s.c.epoch
}

// applyValidation reads validateSQL's rows into the cache, unless a write
// happened since epoch; it reports whether the cache is fresh now.
func (s *Store) applyValidation(rows pgx.Rows, epoch uint64, started time.Time) (bool, error) {
	defer rows.Close()
	var gen int64
	seen := map[string]metaRec{}
	changed := map[string]bool{}
	for rows.Next() {
		var name *string
		var version int64
		var diff bool
		var data []byte
		if err := rows.Scan(&name, &version, &diff, &data); err != nil {
			return false, err
		}
		if name == nil {
			gen = version
			continue
		}
		r := metaRec{version: version}
		if diff && data != nil {
			r.data, r.hasData = data, true
		}
		seen[*name] = r
		changed[*name] = diff
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.c.epoch != epoch {
		return false, nil
	}
	meta := make(map[string]metaRec, len(seen))
	for n, r := range seen {
		if !changed[n] {
			r = s.c.meta[n] // the version the cache holds, and its bytes
		}
		meta[n] = r
	}
	// A validation sent before this one and answered after it must not
	// put an older snapshot back: it finds the epoch moved.
	s.c.epoch++
	s.c.meta, s.c.gen, s.c.at = meta, gen, started
	return true, nil
}

// validate sends validateSQL and reports whether the cache is fresh now.
func (s *Store) validate(ctx context.Context) (bool, error) {
	args, epoch := s.validateArgs()
	started := time.Now()
	rows, err := s.pool.Query(ctx, s.validateSQL(), args...)
	if err != nil {
		return false, err
	}
	return s.applyValidation(rows, epoch, started)
}

// fresh returns with s.c.mu held when the cache may answer (true), after
// validating it when it is stale; with false the lock is not held and the
// caller reads the database.
func (s *Store) fresh(ctx context.Context) bool {
	if s.cacheFor <= 0 {
		return false
	}
	s.c.mu.Lock()
	if s.freshLocked() {
		return true
	}
	s.c.mu.Unlock()
	ok, err := s.validate(ctx)
	if err != nil || !ok {
		return false
	}
	s.c.mu.Lock()
	if s.freshLocked() {
		return true
	}
	s.c.mu.Unlock()
	return false
}

// Generation implements [storage.Generationer]: a number from a sequence
// in the database that every change of one of the group's packs moves (by
// this store, a batch, another server or a statement of an operator), so
// equal numbers mean that List answers the same. Meta record writes do
// not move it. It is answered from the store's cache when fresh (see
// Options.CacheFor), else with one query.
func (s *Store) Generation(ctx context.Context) (uint64, error) {
	if err := s.check(ctx, "generation", ""); err != nil {
		return 0, err
	}
	g, err := s.generation(ctx)
	if err != nil {
		return 0, s.dbErr(ctx, "generation", "", err)
	}
	return g, nil
}

func (s *Store) generation(ctx context.Context) (uint64, error) {
	if s.fresh(ctx) {
		g := s.c.gen
		s.c.mu.Unlock()
		return uint64(g), nil
	}
	var g int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce((SELECT packs FROM `+s.tGen+` WHERE grp = $1), 0)`, s.group).Scan(&g); err != nil {
		return 0, err
	}
	return uint64(g), nil
}

// listGen lists the group's packs with the generation they are at, in one
// statement, and keeps the listing in the cache.
func (s *Store) listGen(ctx context.Context) ([]storage.Entry, int64, error) {
	s.c.mu.Lock()
	epoch := s.c.epoch
	s.c.mu.Unlock()
	rows, err := s.pool.Query(ctx, `SELECT g.packs, p.entry FROM (SELECT coalesce((SELECT packs FROM `+s.tGen+` WHERE grp = $1), 0) AS packs) g
LEFT JOIN `+s.tPacks+` p ON p.grp = $1 ORDER BY p.id`, s.group)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []storage.Entry{}
	var gen int64
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&gen, &b); err != nil {
			return nil, 0, err
		}
		if b == nil {
			continue
		}
		e, err := decodeEntry(b)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if s.cacheFor > 0 {
		s.c.mu.Lock()
		if s.c.epoch == epoch {
			s.c.list, s.c.listGen, s.c.hasList = out, gen, true
		}
		s.c.mu.Unlock()
	}
	return out, gen, nil
}

// cachedList returns a copy of the cached listing when the cache is fresh
// and the listing is at its generation.
func (s *Store) cachedList(ctx context.Context) ([]storage.Entry, bool) {
	if !s.fresh(ctx) {
		return nil, false
	}
	defer s.c.mu.Unlock()
	if !s.c.hasList || s.c.listGen != s.c.gen {
		return nil, false
	}
	out := make([]storage.Entry, len(s.c.list))
	for i, e := range s.c.list {
		out[i] = e.Clone()
	}
	return out, true
}

// cachedGet returns the pack id from the cached listing: found reports
// whether it is there, ok whether the cache could answer at all.
func (s *Store) cachedGet(ctx context.Context, id string) (e storage.Entry, found, ok bool) {
	if !s.fresh(ctx) {
		return e, false, false
	}
	defer s.c.mu.Unlock()
	if !s.c.hasList || s.c.listGen != s.c.gen {
		return e, false, false
	}
	i := sort.Search(len(s.c.list), func(i int) bool { return strings.Compare(s.c.list[i].ID, id) >= 0 })
	if i < len(s.c.list) && s.c.list[i].ID == id {
		return s.c.list[i].Clone(), true, true
	}
	return e, false, true
}

// cachedMeta returns the meta record name from the cache: found reports
// whether the record exists, ok whether the cache could answer.
func (s *Store) cachedMeta(ctx context.Context, name string) (data []byte, found, ok bool) {
	if !s.fresh(ctx) {
		return nil, false, false
	}
	defer s.c.mu.Unlock()
	r, exists := s.c.meta[name]
	if !exists {
		return nil, false, true
	}
	if !r.hasData {
		return nil, false, false
	}
	return slices.Clone(r.data), true, true
}
