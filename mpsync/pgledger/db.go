package pgledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultSchema is the PostgreSQL schema that holds the tables when
// Options.Schema is empty.
const DefaultSchema = "mpsync"

var (
	// ErrInvalid is wrapped by errors about arguments and options: a DSN
	// that does not parse, a bad schema name, an empty lease name or holder,
	// a ttl that is not positive.
	ErrInvalid = errors.New("invalid argument")
	// ErrClosed is wrapped by errors of calls made after [DB.Close].
	ErrClosed = errors.New("database closed")
)

// Options configures [Open]. The zero value (or nil) is ready to use.
type Options struct {
	// Logger receives connection, migration and lease events. Nil discards
	// them. The DSN's password is never logged.
	Logger *slog.Logger
	// Schema is the PostgreSQL schema holding the tables "ledger" and
	// "lease"; it is created if missing. Empty means [DefaultSchema]. It must
	// be a plain identifier: a letter or underscore, then letters, digits or
	// underscores, at most 63 bytes. Groups that share evidence must use the
	// same schema.
	Schema string
	// Now, when set, is the lease clock. Nil means the database server's
	// clock (now()), which is the same for every management server and so
	// immune to clock skew between them; set Now only to drive leases from a
	// simulated clock (tests, a staging pipeline using a manual clock).
	// Record times always come from the records themselves.
	Now func() time.Time
}

// DB is a connection pool to a PostgreSQL database holding a shared ledger
// and leases. It is safe for concurrent use. Close it when done.
type DB struct {
	pool   *pgxpool.Pool
	log    *slog.Logger
	schema string
	now    func() time.Time
	secret string // the DSN's password, scrubbed from error texts
	closed atomic.Bool

	ledgerTable string // quoted schema.ledger
	leaseTable  string // quoted schema.lease
}

var schemaName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Open connects to the database dsn names (a postgres:// URL or a
// key=value string, as accepted by pgx; pool settings such as
// pool_max_conns are honoured), checks the connection and runs
// [DB.Migrate]. Errors never contain the DSN's password. It returns an error
// wrapping [ErrInvalid] for a DSN that does not parse or a bad
// Options.Schema.
func Open(ctx context.Context, dsn string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	if !schemaName.MatchString(o.Schema) {
		return nil, fmt.Errorf("pgledger: open: %w: schema %q is not a plain identifier (letters, digits, underscore; at most 63 bytes)", ErrInvalid, o.Schema)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgledger: open: %w: the DSN does not parse: %s", ErrInvalid, parseReason(dsn, err))
	}
	db := &DB{
		log:         log.With("schema", o.Schema),
		schema:      o.Schema,
		now:         o.Now,
		secret:      cfg.ConnConfig.Password,
		ledgerTable: pgx.Identifier{o.Schema, "ledger"}.Sanitize(),
		leaseTable:  pgx.Identifier{o.Schema, "lease"}.Sanitize(),
	}
	where := fmt.Sprintf("host=%s port=%d database=%s user=%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, cfg.ConnConfig.User)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, db.wrap(err, "open: create pool for %s", where)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, db.wrap(err, "open: connect to %s", where)
	}
	db.pool = pool
	if err := db.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	db.log.Info("pgledger: connected", "host", cfg.ConnConfig.Host, "port", cfg.ConnConfig.Port, "database", cfg.ConnConfig.Database, "user", cfg.ConnConfig.User)
	return db, nil
}

// Close closes the pool, waiting for connections in use to be returned.
// Calls made after Close fail with [ErrClosed]. Close is idempotent.
func (db *DB) Close() {
	if db.closed.Swap(true) {
		return
	}
	db.pool.Close()
}

// Schema returns the PostgreSQL schema holding the tables.
func (db *DB) Schema() string { return db.schema }

// Migrate creates the schema, the tables and their indexes if they do not
// exist. It is idempotent and safe to run from several servers at once (a
// transaction-scoped advisory lock serialises concurrent runs); [Open] runs
// it.
func (db *DB) Migrate(ctx context.Context) error {
	if db.closed.Load() {
		return fmt.Errorf("pgledger: migrate schema %s: %w", db.schema, ErrClosed)
	}
	schema := pgx.Identifier{db.schema}.Sanitize()
	idx := func(name string) string { return pgx.Identifier{name}.Sanitize() }
	stmts := []string{
		`CREATE SCHEMA IF NOT EXISTS ` + schema,
		`CREATE TABLE IF NOT EXISTS ` + db.ledgerTable + ` (
	id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at      timestamptz NOT NULL,
	at_ns   smallint    NOT NULL,
	kind    text        NOT NULL,
	grp     text        NOT NULL,
	pack    text        NOT NULL,
	version text        NOT NULL,
	sha256  text        NOT NULL,
	record  jsonb       NOT NULL
)`,
		`CREATE INDEX IF NOT EXISTS ` + idx("ledger_grp_pack_at") + ` ON ` + db.ledgerTable + ` (grp, pack, at, at_ns, id)`,
		`CREATE INDEX IF NOT EXISTS ` + idx("ledger_pack_version") + ` ON ` + db.ledgerTable + ` (pack, version)`,
		`CREATE INDEX IF NOT EXISTS ` + idx("ledger_kind_at") + ` ON ` + db.ledgerTable + ` (kind, at, at_ns, id)`,
		`CREATE INDEX IF NOT EXISTS ` + idx("ledger_at") + ` ON ` + db.ledgerTable + ` (at, at_ns, id)`,
		`CREATE TABLE IF NOT EXISTS ` + db.leaseTable + ` (
	name        text PRIMARY KEY,
	holder      text        NOT NULL,
	acquired_at timestamptz NOT NULL,
	expires_at  timestamptz NOT NULL
)`,
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return db.wrap(err, "migrate schema %s: begin", db.schema)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "mpsync.pgledger.migrate."+db.schema); err != nil {
		return db.wrap(err, "migrate schema %s: lock", db.schema)
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			first, _, _ := strings.Cut(s, "(")
			return db.wrap(err, "migrate schema %s: %s", db.schema, strings.TrimSpace(first))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return db.wrap(err, "migrate schema %s: commit", db.schema)
	}
	db.log.Debug("pgledger: schema ready")
	return nil
}

// Error is the error of a database operation: Op names the operation and
// table ("append to mpsync.ledger"), Err is the cause. Its message never
// contains the DSN's password.
type Error struct {
	Op  string
	Err error
	msg string // Err's text with the password scrubbed
}

// Error implements error.
func (e *Error) Error() string { return "pgledger: " + e.Op + ": " + e.msg }

// Unwrap returns the cause, so errors.Is(err, context.Canceled) and
// errors.As(err, &pgErr) with a *pgconn.PgError work.
func (e *Error) Unwrap() error { return e.Err }

// SQLState returns the PostgreSQL error code (such as "28P01" for a failed
// password authentication), or "" when the cause is not a server error.
func (e *Error) SQLState() string {
	var pe *pgconn.PgError
	if errors.As(e.Err, &pe) {
		return pe.Code
	}
	return ""
}

// wrap returns err as an *Error for the operation format names, with the
// DSN's password scrubbed from its text.
func (db *DB) wrap(err error, format string, args ...any) error {
	if db.closed.Load() && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	msg := err.Error()
	if db.secret != "" {
		msg = strings.ReplaceAll(msg, db.secret, "xxxxx")
	}
	return &Error{Op: fmt.Sprintf(format, args...), Err: err, msg: msg}
}

// parseReason explains why dsn did not parse without repeating any part of
// the DSN that may hold a password: pgx's own message quotes the DSN with a
// best-effort redaction, and net/url errors quote it in full.
func parseReason(dsn string, err error) string {
	msg := err.Error()
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		// "cannot parse `<redacted DSN>`: <reason> (<cause>)": keep the reason.
		if i := strings.LastIndex(msg, "`: "); i >= 0 {
			msg = msg[i+len("`: "):]
		} else {
			msg = "unrecognised connection string"
		}
	}
	for _, s := range secretsOf(dsn) {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return msg
}

var kvPassword = regexp.MustCompile(`(?i)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// secretsOf returns the substrings of dsn that may be secrets: the whole
// DSN, the userinfo of a URL and every password= value, longest first.
func secretsOf(dsn string) []string {
	out := []string{dsn}
	if _, rest, ok := strings.Cut(dsn, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			userinfo := rest[:at]
			out = append(out, userinfo)
			if _, pw, ok := strings.Cut(userinfo, ":"); ok && pw != "" {
				out = append(out, pw)
			}
		}
	}
	for _, m := range kvPassword.FindAllStringSubmatch(dsn, -1) {
		out = append(out, strings.Trim(m[1], "'"))
	}
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	// Longest first, so a secret inside a longer one does not leave a tail.
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}
