package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/pgledger"
	"mpsync.dev/mpsync/storage"
)

// DefaultSchema is the PostgreSQL schema of the tables when Options.Schema
// is empty; it is pgledger's default, so the store, the ledger and the
// lease of a group live side by side.
const DefaultSchema = pgledger.DefaultSchema

// DefaultGroup is the management group name the store's rows are kept
// under when Options.Group is empty.
const DefaultGroup = "default"

// IdleInTransactionTimeout is the idle_in_transaction_session_timeout the
// store's connections use unless the DSN sets one: a server stopped inside
// a write transaction holds the lease row locked, and so holds off every
// takeover until the database ends its session.
const IdleInTransactionTimeout = 15 * time.Second

// ChunkSize is the size of the bytea rows a pack's bytes are stored in.
const ChunkSize = 256 << 10

// Options configures [Open]. The zero value (or nil) is ready to use.
type Options struct {
	// Schema is the PostgreSQL schema of the tables, shared with pgledger's
	// ledger and lease; empty means [DefaultSchema].
	Schema string
	// Group is the management group whose packs and records this store
	// holds; several groups share one database and schema (and so one
	// ledger, for promotion evidence), each with its own packs. Empty means
	// [DefaultGroup].
	Group string
	// Limits are the limits imports are validated with; zero fields take
	// the defaults of [pack.DefaultLimits].
	Limits pack.Limits
	// Logger receives connection and migration events; nil discards them.
	// The DSN's password is never logged.
	Logger *slog.Logger
	// Now stamps ImportedAt when a request has no Time, and is the lease
	// clock (see pgledger.Options.Now); nil means time.Now for the former
	// and the database's clock for the latter.
	Now func() time.Time
	// TempDir is where packs larger than the memory budget are spooled
	// between their check and the database write; empty means
	// os.TempDir().
	TempDir string
	// MemoryBudget bounds the bytes of received packs held in memory at
	// once (by imports and open batches together); beyond it packs are
	// spooled to TempDir. Zero means 32 MiB; negative means always spool.
	MemoryBudget int64
	// CacheFor is how long the store answers List, Get, Generation and
	// ReadMeta from what it last validated against the database: one
	// query returns the packs' generation and every meta record's version
	// (and the bytes of the records that changed), and Lease.Acquire
	// sends it in the same round trip as the lease statement, so that an
	// idle scheduler tick costs three round trips (BENCHMARKS.md). Writes
	// through this store are seen at once; a change made by another
	// server is seen by the next validation: within CacheFor, and at the
	// latest at this server's next Acquire, which every scheduled run
	// starts with. Zero means [DefaultCacheFor]; negative turns the cache
	// off (every read is a query).
	CacheFor time.Duration
}

// Store is an [mpsync.Store] and [storage.Batcher] in PostgreSQL. It is safe
// for concurrent use, by several goroutines and by several processes on
// several machines. Close it when done.
type Store struct {
	pool   *pgxpool.Pool
	ledger *pgledger.DB
	schema string
	group  string
	limits pack.Limits
	now    func() time.Time
	// nowIsClock: Options.Now was set, and so is also the lease clock.
	nowIsClock bool
	log        *slog.Logger
	secret     string
	where      string
	tmp        string
	budget     atomic.Int64
	closed     atomic.Bool
	trips      atomic.Int64
	lockKey    string
	cacheFor   time.Duration
	c          cache

	// fencing: set by Lease
	fenceName atomic.Pointer[string]
	token     atomic.Int64

	tPacks, tBlobs, tChunks, tMeta, tLease, tMig, tGen string
}

var (
	_ mpsync.Store         = (*Store)(nil)
	_ storage.Batcher      = (*Store)(nil)
	_ storage.Generationer = (*Store)(nil)
)

var schemaName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Open connects to the database dsn names (a postgres:// URL or key=value
// string, as pgx accepts; pool settings such as pool_max_conns are
// honoured), opens pgledger's ledger and lease in the same schema and runs
// [Store.Migrate]. Errors never contain the DSN's password.
func Open(ctx context.Context, dsn string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	if o.Group == "" {
		o.Group = DefaultGroup
	}
	if !schemaName.MatchString(o.Schema) {
		return nil, fmt.Errorf("pgstore: open: %w: schema %q is not a plain identifier", ErrInvalid, o.Schema)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// pgledger parses the DSN the same way and scrubs the password from its
	// errors; open it first, so its tables (the lease) exist for ours.
	led, err := pgledger.Open(ctx, dsn, &pgledger.Options{Logger: log, Schema: o.Schema, Now: o.Now})
	if err != nil {
		if errors.Is(err, pgledger.ErrInvalid) {
			return nil, fmt.Errorf("pgstore: open: %w: %w", ErrInvalid, err)
		}
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil { // pgledger parsed it; not reached
		led.Close()
		return nil, fmt.Errorf("pgstore: open: %w: the DSN does not parse", ErrInvalid)
	}
	s := &Store{
		ledger: led, schema: o.Schema, group: o.Group, limits: o.Limits, now: o.Now, log: log.With("schema", o.Schema, "group", o.Group),
		secret: cfg.ConnConfig.Password, tmp: o.TempDir,
		where:   fmt.Sprintf("postgres://%s@%s:%d/%s (schema %s, group %s)", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, o.Schema, o.Group),
		lockKey: "mpsync.pgstore.write." + o.Schema,
	}
	s.cacheFor = o.CacheFor
	if s.cacheFor == 0 {
		s.cacheFor = DefaultCacheFor
	}
	s.nowIsClock = s.now != nil
	if s.now == nil {
		s.now = time.Now
	}
	switch {
	case o.MemoryBudget == 0:
		s.budget.Store(32 << 20)
	case o.MemoryBudget > 0:
		s.budget.Store(o.MemoryBudget)
	}
	q := func(t string) string { return pgx.Identifier{o.Schema, t}.Sanitize() }
	s.tPacks, s.tBlobs, s.tChunks, s.tMeta, s.tLease, s.tMig, s.tGen = q("store_packs"), q("store_blobs"), q("store_chunks"), q("store_meta"), q("lease"), q("store_migrations"), q("store_gen")
	cfg.ConnConfig.Tracer = tripCounter{&s.trips}
	// A server stopped (SIGSTOP, a frozen VM) inside a write transaction
	// holds the lease row FOR SHARE, which would keep every other server
	// from taking the lease over: the database ends such a session, unless
	// the DSN says otherwise.
	if _, set := cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !set {
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.Itoa(int(IdleInTransactionTimeout / time.Millisecond))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		led.Close()
		return nil, s.opErr("open", "", stepDatabase, err)
	}
	s.pool = pool
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.log.Info("pgstore: open", "database", s.where)
	return s, nil
}

// tripCounter counts the statements sent, each a round trip (a COPY is
// one, however many rows it streams).
type tripCounter struct{ n *atomic.Int64 }

func (c tripCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (tripCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c tripCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (tripCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (tripCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (c tripCounter) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (tripCounter) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// RoundTrips returns how many statements, batches and COPYs the store and
// its leases sent to the database since Open (not counting the ledger's):
// the figure BENCHMARKS.md reports per idle tick.
func (s *Store) RoundTrips() int64 { return s.trips.Load() }

// Ledger returns the shared ledger (pgledger's) in the store's database and
// schema, for mpsync.Options.Ledger and a promotion approver. Its appends
// are fenced as the store's writes are: once the store is bound to a lease
// ([Store.Lease]), an append is made only if it carries the lease's current
// token (one statement, the check included), else it is refused with an
// error wrapping [ErrFenced] and nothing is recorded; an unbound store's
// ledger appends whoever holds the lease.
func (s *Store) Ledger() *pgledger.Ledger {
	return s.ledger.FencedLedger(func() (string, int64, bool) {
		name := s.fenceName.Load()
		if name == nil {
			return "", 0, false
		}
		return *name, s.token.Load(), true
	})
}

// String describes the store without its password:
// "postgres://user@host:port/db (schema s, group g)".
func (s *Store) String() string { return s.where }

// Group returns the management group the store holds.
func (s *Store) Group() string { return s.group }

// Close closes the pools. Calls made after Close fail with an error
// wrapping [storage.ErrClosed]. It is idempotent and always returns nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.pool != nil {
		s.pool.Close()
	}
	s.ledger.Close()
	return nil
}

func (s *Store) check(ctx context.Context, op, id string) error {
	if s.closed.Load() {
		return s.opErr(op, id, "", storage.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return s.opErr(op, id, "", err)
	}
	return nil
}

func (s *Store) checkID(ctx context.Context, op, id string) error {
	if err := s.check(ctx, op, id); err != nil {
		return err
	}
	if err := pack.CheckID(id); err != nil {
		return s.opErr(op, id, stepRequest, err)
	}
	return nil
}

// dbErr wraps a database error, keeping a context error matchable.
func (s *Store) dbErr(ctx context.Context, op, id string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	step := stepDatabase
	if errors.Is(err, ErrFenced) {
		step = stepFence
	}
	return s.opErr(op, id, step, err)
}

func decodeEntry(b []byte) (storage.Entry, error) {
	var e storage.Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("decode entry %.80s: %w", b, err)
	}
	return e, nil
}

// List returns every imported pack, sorted by id.
func (s *Store) List(ctx context.Context) ([]storage.Entry, error) {
	if err := s.check(ctx, "list", ""); err != nil {
		return nil, err
	}
	if es, ok := s.cachedList(ctx); ok {
		return es, nil
	}
	es, _, err := s.listGen(ctx)
	if err != nil {
		return nil, s.dbErr(ctx, "list", "", err)
	}
	out := make([]storage.Entry, len(es))
	for i, e := range es {
		out[i] = e.Clone()
	}
	return out, nil
}

// Get returns the imported pack with the given id, or an error wrapping
// [storage.ErrNotFound].
func (s *Store) Get(ctx context.Context, id string) (storage.Entry, error) {
	if err := s.checkID(ctx, "get", id); err != nil {
		return storage.Entry{}, err
	}
	if e, found, ok := s.cachedGet(ctx, id); ok {
		if !found {
			return storage.Entry{}, s.opErr("get", id, "", storage.ErrNotFound)
		}
		return e, nil
	}
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT entry FROM `+s.tPacks+` WHERE grp = $1 AND id = $2`, s.group, id).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Entry{}, s.opErr("get", id, "", storage.ErrNotFound)
	}
	if err != nil {
		return storage.Entry{}, s.dbErr(ctx, "get", id, err)
	}
	e, err := decodeEntry(b)
	if err != nil {
		return storage.Entry{}, s.opErr("get", id, stepDatabase, err)
	}
	return e, nil
}

// Open returns the bytes of the imported pack with the given id, streamed
// from the database one chunk at a time in one query (one consistent
// snapshot, one round trip). The reader holds a pooled connection until it
// is closed or read to the end; close it.
func (s *Store) Open(ctx context.Context, id string) (io.ReadCloser, error) {
	if err := s.checkID(ctx, "open", id); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT c.data FROM `+s.tPacks+` p JOIN `+s.tChunks+` c ON c.sha256 = p.sha256
WHERE p.grp = $1 AND p.id = $2 ORDER BY c.seq`, s.group, id)
	if err != nil {
		return nil, s.dbErr(ctx, "open", id, err)
	}
	r := &chunkReader{s: s, ctx: ctx, id: id, rows: rows}
	if !r.next() {
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.dbErr(ctx, "open", id, err)
		}
		return nil, s.opErr("open", id, "", storage.ErrNotFound)
	}
	return r, nil
}

// chunkReader reads a pack's chunks as the query returns them.
type chunkReader struct {
	s    *Store
	ctx  context.Context
	id   string
	rows pgx.Rows
	cur  []byte
	done bool
}

// next moves to the next chunk; false at the end or on error.
func (r *chunkReader) next() bool {
	if r.done || !r.rows.Next() {
		r.done = true
		return false
	}
	raw := r.rows.RawValues()
	// The raw value is valid until the next call to Next: copy it into the
	// reader's own buffer, reused from chunk to chunk.
	r.cur = append(r.cur[:0], raw[0]...)
	return true
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if !r.next() {
			r.rows.Close()
			if err := r.rows.Err(); err != nil {
				return 0, r.s.dbErr(r.ctx, "open", r.id, err)
			}
			return 0, io.EOF
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

func (r *chunkReader) Close() error {
	r.done = true
	r.rows.Close()
	return nil
}

// receive reads, checks and validates an import into a spool, without
// touching the database.
func (s *Store) receive(ctx context.Context, req storage.ImportRequest, r io.Reader) (*staged, error) {
	if err := s.check(ctx, "import", req.ID); err != nil {
		return nil, err
	}
	if err := storage.CheckImportRequest(req); err != nil {
		return nil, s.opErr("import", req.ID, stepRequest, err)
	}
	maxBytes := s.limits.MaxBytes
	if maxBytes <= 0 {
		maxBytes = pack.DefaultLimits().MaxBytes
	}
	dir := s.tmp
	if dir == "" {
		dir = os.TempDir()
	}
	sp := &spool{dir: dir, budget: &s.budget, maxMem: 4 << 20}
	man, sum, n, step, err := storage.ReceivePack(ctx, req, r, sp, maxBytes, s.limits)
	if err != nil {
		sp.close()
		return nil, s.opErr("import", req.ID, step, err)
	}
	if err := ctx.Err(); err != nil {
		sp.close()
		return nil, s.opErr("import", req.ID, "", err)
	}
	return &staged{id: req.ID, req: stamp(req, s.now), man: man, sum: sum, size: n, sp: sp}, nil
}

// Import reads a pack from r, checks it against req (size, hash, identity),
// validates the whole document and imports it; on any error nothing
// changes. The bytes are spooled (in memory when small, else to a
// temporary file) and then streamed into the database with COPY, in one
// transaction with the entry.
func (s *Store) Import(ctx context.Context, req storage.ImportRequest, r io.Reader) (storage.Entry, error) {
	op, err := s.receive(ctx, req, r)
	if err != nil {
		return storage.Entry{}, err
	}
	defer op.sp.close()
	es, err := s.commit(ctx, []*staged{op}, true)
	if err != nil {
		return storage.Entry{}, s.dbErr(ctx, "import", req.ID, err)
	}
	return es[0], nil
}

// Remove deletes the pack with the given id and its previous version.
func (s *Store) Remove(ctx context.Context, id string) error {
	if err := s.checkID(ctx, "remove", id); err != nil {
		return err
	}
	if _, err := s.commit(ctx, []*staged{{remove: true, id: id}}, true); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return s.opErr("remove", id, "", err)
		}
		return s.dbErr(ctx, "remove", id, err)
	}
	return nil
}

// Rollback restores the previous version kept for id; the current version
// becomes the previous one.
func (s *Store) Rollback(ctx context.Context, id string) (storage.Entry, error) {
	if err := s.checkID(ctx, "rollback", id); err != nil {
		return storage.Entry{}, err
	}
	var out storage.Entry
	defer s.forget(true, "")
	err := s.writeTx(ctx, func(tx pgx.Tx) error {
		var b []byte
		err := tx.QueryRow(ctx, `SELECT entry FROM `+s.tPacks+` WHERE grp = $1 AND id = $2 FOR UPDATE`, s.group, id).Scan(&b)
		if errors.Is(err, pgx.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		e, err := decodeEntry(b)
		if err != nil {
			return err
		}
		if out, err = e.RolledBack(); err != nil {
			return err
		}
		return s.putEntry(ctx, tx, out)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Entry{}, s.opErr("rollback", id, "", err)
	}
	if err != nil {
		return storage.Entry{}, s.dbErr(ctx, "rollback", id, err)
	}
	return out, nil
}

func (s *Store) putEntry(ctx context.Context, tx pgx.Tx, e storage.Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	var prev *string
	if e.Previous != nil {
		prev = &e.Previous.SHA256
	}
	_, err = tx.Exec(ctx, `INSERT INTO `+s.tPacks+` (grp, id, sha256, prev_sha256, entry) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (grp, id) DO UPDATE SET sha256 = excluded.sha256, prev_sha256 = excluded.prev_sha256, entry = excluded.entry`,
		s.group, e.ID, e.SHA256, prev, b)
	return err
}

// writeTx runs fn in a transaction that holds the schema's write lock (so
// that writers never race on shared blobs) and has passed the fence check.
func (s *Store) writeTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, s.lockKey); err != nil {
		return err
	}
	if err := s.checkFence(ctx, tx); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// checkFence refuses the transaction when the store is bound to a lease
// and its token is not the lease's current one. The row lock (FOR SHARE)
// holds off a takeover until the transaction ends, so a write either
// commits before another server takes the lease or is refused.
func (s *Store) checkFence(ctx context.Context, tx pgx.Tx) error {
	name := s.fenceName.Load()
	if name == nil {
		return nil
	}
	have := s.token.Load()
	var want int64
	err := tx.QueryRow(ctx, `SELECT token FROM `+s.tLease+` WHERE name = $1 FOR SHARE`, *name).Scan(&want)
	if errors.Is(err, pgx.ErrNoRows) {
		return fenced(*name, have, 0)
	}
	if err != nil {
		return err
	}
	if have == 0 || have != want {
		return fenced(*name, have, want)
	}
	return nil
}

// staged is an import or removal, received and checked, waiting for the
// database.
type staged struct {
	remove bool
	id     string
	req    storage.ImportRequest
	man    pack.Manifest
	sum    string
	size   int64
	sp     *spool
}

// commit applies ops in order in one transaction: the entries are
// recomputed over the store as it is then, the missing blobs are streamed
// in with one COPY, the rows written in one pipelined batch and blobs no
// longer referenced deleted. With strict, a removal of an id that is not
// there fails with storage.ErrNotFound; otherwise it is skipped. It returns
// the entry each import recorded.
func (s *Store) commit(ctx context.Context, ops []*staged, strict bool) ([]storage.Entry, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	out := make([]storage.Entry, len(ops))
	defer s.forget(true, "")
	err := s.writeTx(ctx, func(tx pgx.Tx) error {
		ids := make([]string, 0, len(ops))
		for _, op := range ops {
			ids = append(ids, op.id)
		}
		cur := map[string]storage.Entry{}
		rows, err := tx.Query(ctx, `SELECT entry FROM `+s.tPacks+` WHERE grp = $1 AND id = ANY($2) FOR UPDATE`, s.group, ids)
		if err != nil {
			return err
		}
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				rows.Close()
				return err
			}
			e, err := decodeEntry(b)
			if err != nil {
				rows.Close()
				return err
			}
			cur[e.ID] = e
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		candidates := map[string]bool{} // blobs that may have lost their last reference
		for _, e := range cur {
			candidates[e.SHA256] = true
			if e.Previous != nil {
				candidates[e.Previous.SHA256] = true
			}
		}
		final := map[string]*storage.Entry{} // nil: removed
		blobs := map[string]*staged{}        // blobs the imports need
		var order []string
		for i, op := range ops {
			var old *storage.Entry
			if e, seen := final[op.id]; seen {
				old = e
			} else {
				order = append(order, op.id)
				if e, ok := cur[op.id]; ok {
					old = &e
				}
			}
			if op.remove {
				if old == nil && strict {
					return storage.ErrNotFound
				}
				final[op.id] = nil
				continue
			}
			e := newEntry(op.req, op.man, op.sum, op.size, old)
			final[op.id] = &e
			out[i] = e.Clone()
			if _, have := blobs[op.sum]; !have {
				blobs[op.sum] = op
			}
			candidates[op.sum] = true
		}
		if err := s.putBlobs(ctx, tx, blobs); err != nil {
			return err
		}
		var b pgx.Batch
		for _, id := range order {
			e := final[id]
			if e == nil {
				b.Queue(`DELETE FROM `+s.tPacks+` WHERE grp = $1 AND id = $2`, s.group, id)
				continue
			}
			doc, err := json.Marshal(e)
			if err != nil {
				return err
			}
			var prev *string
			if e.Previous != nil {
				prev = &e.Previous.SHA256
			}
			b.Queue(`INSERT INTO `+s.tPacks+` (grp, id, sha256, prev_sha256, entry) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (grp, id) DO UPDATE SET sha256 = excluded.sha256, prev_sha256 = excluded.prev_sha256, entry = excluded.entry`,
				s.group, id, e.SHA256, prev, doc)
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return err
		}
		return s.collect(ctx, tx, candidates)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// putBlobs stores the blobs the database does not hold yet: their rows in
// one statement and their chunks in one COPY, read from the spools chunk
// by chunk.
func (s *Store) putBlobs(ctx context.Context, tx pgx.Tx, blobs map[string]*staged) error {
	if len(blobs) == 0 {
		return nil
	}
	shas := make([]string, 0, len(blobs))
	for sha := range blobs {
		shas = append(shas, sha)
	}
	rows, err := tx.Query(ctx, `SELECT sha256 FROM `+s.tBlobs+` WHERE sha256 = ANY($1)`, shas)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for rows.Next() {
		var sha string
		if err := rows.Scan(&sha); err != nil {
			rows.Close()
			return err
		}
		have[sha] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var missing []*staged
	var mShas []string
	var mSizes []int64
	for _, sha := range shas {
		if !have[sha] {
			missing = append(missing, blobs[sha])
			mShas = append(mShas, sha)
			mSizes = append(mSizes, blobs[sha].size)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+s.tBlobs+` (sha256, size) SELECT * FROM unnest($1::text[], $2::bigint[])`, mShas, mSizes); err != nil {
		return err
	}
	src := &chunkSource{ctx: ctx, ops: missing, buf: make([]byte, ChunkSize)}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema, "store_chunks"}, []string{"sha256", "seq", "data"}, src); err != nil {
		return err
	}
	return nil
}

// chunkSource feeds COPY the chunks of several spools in turn; one chunk is
// in memory at a time.
type chunkSource struct {
	ctx  context.Context
	ops  []*staged
	i    int
	r    io.Reader
	seq  int32
	buf  []byte
	row  []any
	err  error
	data []byte
}

func (c *chunkSource) Next() bool {
	for c.i < len(c.ops) {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			return false
		}
		if c.r == nil {
			c.r, c.seq = c.ops[c.i].sp.reader(), 0
		}
		n, err := io.ReadFull(c.r, c.buf)
		if n > 0 {
			c.data = c.buf[:n]
			c.row = []any{c.ops[c.i].sum, c.seq, c.data}
			c.seq++
			if err != nil { // short last chunk: move on next time
				c.r = nil
				c.i++
			}
			return true
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			c.err = err
			return false
		}
		c.r = nil
		c.i++
	}
	return false
}

func (c *chunkSource) Values() ([]any, error) { return c.row, nil }
func (c *chunkSource) Err() error             { return c.err }

// collect deletes the candidate blobs no pack of any group references any
// more; their chunks go with them (ON DELETE CASCADE).
func (s *Store) collect(ctx context.Context, tx pgx.Tx, candidates map[string]bool) error {
	if len(candidates) == 0 {
		return nil
	}
	shas := make([]string, 0, len(candidates))
	for sha := range candidates {
		shas = append(shas, sha)
	}
	_, err := tx.Exec(ctx, `DELETE FROM `+s.tBlobs+` b WHERE b.sha256 = ANY($1)
AND NOT EXISTS (SELECT 1 FROM `+s.tPacks+` p WHERE p.sha256 = b.sha256)
AND NOT EXISTS (SELECT 1 FROM `+s.tPacks+` p WHERE p.prev_sha256 = b.sha256)`, shas)
	return err
}

// ReadMeta returns the meta record with the given name.
func (s *Store) ReadMeta(ctx context.Context, name string) ([]byte, error) {
	if err := s.checkMeta(ctx, "read meta", name); err != nil {
		return nil, err
	}
	if b, found, ok := s.cachedMeta(ctx, name); ok {
		if !found {
			return nil, s.opErr("read meta", name, "", storage.ErrNotFound)
		}
		return b, nil
	}
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM `+s.tMeta+` WHERE grp = $1 AND name = $2`, s.group, name).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, s.opErr("read meta", name, "", storage.ErrNotFound)
	}
	if err != nil {
		return nil, s.dbErr(ctx, "read meta", name, err)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// WriteMeta replaces the meta record with the given name in one statement,
// which also carries the fence check when the store is bound to a lease.
func (s *Store) WriteMeta(ctx context.Context, name string, data []byte) error {
	return s.metaWrite(ctx, "write meta", name, data, false)
}

// AppendMeta appends data to the meta record with the given name, creating
// it if needed, in one statement: an error means nothing was appended.
// The record is one row, rewritten by each append; the engine's records
// are small (the ledger lives in pgledger's table, not here).
func (s *Store) AppendMeta(ctx context.Context, name string, data []byte) error {
	return s.metaWrite(ctx, "append meta", name, data, true)
}

// metaWrite writes (or with appending, appends to) a record in one
// statement that returns the record's new version, and its bytes after an
// append when small, for the cache.
func (s *Store) metaWrite(ctx context.Context, op, name string, data []byte, appending bool) error {
	if err := s.checkMeta(ctx, op, name); err != nil {
		return err
	}
	if data == nil {
		data = []byte{}
	}
	set := `excluded.data`
	if appending {
		set = `m.data || excluded.data`
	}
	// RETURNING: the version the trigger gave the row, and after an
	// append the record's bytes when the cache would keep them.
	ret := `m.version, CASE WHEN ` + strconv.FormatBool(appending) + ` AND length(m.data) <= ` + strconv.Itoa(maxCachedMeta) + ` THEN m.data END`
	fenceName := s.fenceName.Load()
	var version *int64
	var after []byte
	if fenceName == nil {
		err := s.pool.QueryRow(ctx, `INSERT INTO `+s.tMeta+` AS m (grp, name, data) VALUES ($1, $2, $3)
ON CONFLICT (grp, name) DO UPDATE SET data = `+set+` RETURNING `+ret, s.group, name, data).Scan(&version, &after)
		if err != nil {
			s.forget(false, name)
			return s.dbErr(ctx, op, name, err)
		}
	} else {
		have := s.token.Load()
		var want *int64
		err := s.pool.QueryRow(ctx, `WITH f AS (SELECT token FROM `+s.tLease+` WHERE name = $4 FOR SHARE),
w AS (INSERT INTO `+s.tMeta+` AS m (grp, name, data) SELECT $1, $2, $3 FROM f WHERE f.token = $5 AND $5 <> 0
  ON CONFLICT (grp, name) DO UPDATE SET data = `+set+` RETURNING `+ret+`)
SELECT (SELECT token FROM f), w.* FROM (SELECT 1) one LEFT JOIN w ON true`, s.group, name, data, *fenceName, have).Scan(&want, &version, &after)
		if err != nil {
			s.forget(false, name)
			return s.dbErr(ctx, op, name, err)
		}
		if version == nil {
			var w int64
			if want != nil {
				w = *want
			}
			return s.opErr(op, name, stepFence, fenced(*fenceName, have, w))
		}
	}
	if appending {
		s.wroteMeta(name, *version, after, after != nil)
	} else {
		s.wroteMeta(name, *version, data, true)
	}
	return nil
}

func (s *Store) checkMeta(ctx context.Context, op, name string) error {
	if err := s.check(ctx, op, name); err != nil {
		return err
	}
	if err := CheckMetaName(name); err != nil {
		return s.opErr(op, name, stepRequest, err)
	}
	return nil
}
