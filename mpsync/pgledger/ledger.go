package pgledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"mpsync.dev/mpsync/ledger"
)

// Ledger is an [ledger.Ledger] and [ledger.Batcher] kept in the
// table <schema>.ledger. Get it from [DB.Ledger] (or [DB.FencedLedger]);
// every Ledger of a DB shares the same table, so engines of several
// management groups that open the same database and schema see each
// other's records. It is safe for concurrent use.
type Ledger struct {
	db    *DB
	fence Fence
}

var (
	_ ledger.Ledger  = (*Ledger)(nil)
	_ ledger.Batcher = (*Ledger)(nil)
)

// ErrFenced is wrapped by the error of an append refused because the
// ledger is fenced ([DB.FencedLedger]) and the token it carries is not the
// lease's current one: another server took the lease over. Nothing was
// appended.
var ErrFenced = errors.New("write refused: stale fencing token (another server holds the lease)")

// Fence tells a fenced ledger, at each append, which lease's fencing token
// the append must carry and the token this server holds (0: none); ok
// false means the append is not fenced (an operator's command, which
// writes whoever holds the lease).
type Fence func() (lease string, token int64, ok bool)

// Ledger returns the shared ledger.
func (db *DB) Ledger() *Ledger { return &Ledger{db: db} }

// FencedLedger returns the shared ledger with its appends fenced: when
// fence reports a lease, each Append and AppendBatch is one statement that
// appends only if the lease's token in the database equals the token
// fence returned, with the lease row locked FOR SHARE so that a takeover
// waits for the append in flight; otherwise nothing is appended and the
// error wraps [ErrFenced]. So a holder paused past its lease (GC, SIGSTOP,
// a frozen VM) records nothing once another server took over.
//
// The token is the lease table's "token" column, which mpsync/pgstore's
// schema adds and moves forward whenever the lease changes hands; use
// pgstore.Store.Ledger, which passes its lease's token, rather than
// calling this directly.
func (db *DB) FencedLedger(fence Fence) *Ledger { return &Ledger{db: db, fence: fence} }

// Append stores r. It returns an error wrapping [ledger.ErrInvalidRecord]
// when r.Kind or r.Time is not set or a text field holds a NUL byte (which
// PostgreSQL cannot store), an error wrapping [ErrFenced] when the ledger
// is fenced and the token is stale, and an [*Error] naming the table when
// the database refuses the row.
func (l *Ledger) Append(ctx context.Context, r ledger.Record) error {
	return l.AppendBatch(ctx, []ledger.Record{r})
}

// AppendBatch stores rs, in order, in one statement: all of them or, on
// any error, none. Every record is checked as [Ledger.Append] checks it
// before any is written.
func (l *Ledger) AppendBatch(ctx context.Context, rs []ledger.Record) error {
	if len(rs) == 0 {
		return nil
	}
	n := len(rs)
	at, atNS := make([]time.Time, n), make([]int16, n)
	kind, grp, pk, version, sha, doc := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range rs {
		if err := r.Check(); err != nil {
			if n > 1 {
				return fmt.Errorf("pgledger: append record %d of %d: %w", i+1, n, err)
			}
			return err
		}
		if field := nulField(r); field != "" {
			return fmt.Errorf("pgledger: append %s record to %s: %w: field %s contains a NUL byte", r.Kind, l.db.ledgerTable, ledger.ErrInvalidRecord, field)
		}
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("pgledger: append %s record to %s: encode: %w", r.Kind, l.db.ledgerTable, err)
		}
		at[i], atNS[i], kind[i], grp[i], pk[i], sha[i], doc[i] = r.Time, subMicro(r.Time), text(string(r.Kind)), text(r.Group), text(r.Pack), text(r.SHA256), string(b)
		if !r.Version.IsZero() {
			version[i] = r.Version.String()
		}
	}
	if l.db.closed.Load() {
		return fmt.Errorf("pgledger: append to %s: %w", l.db.ledgerTable, ErrClosed)
	}
	what := fmt.Sprintf("%s record", rs[0].Kind)
	if n > 1 {
		what = fmt.Sprintf("%d records", n)
	}
	insert := `INSERT INTO ` + l.db.ledgerTable + ` (at, at_ns, kind, grp, pack, version, sha256, record)
SELECT r.at, r.at_ns, r.kind, r.grp, r.pack, r.version, r.sha256, r.record::jsonb
FROM unnest($1::timestamptz[], $2::int2[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
	WITH ORDINALITY AS r(at, at_ns, kind, grp, pack, version, sha256, record, ord)`
	args := []any{at, atNS, kind, grp, pk, version, sha, doc}
	var lease string
	var token int64
	fenced := false
	if l.fence != nil {
		lease, token, fenced = l.fence()
	}
	if !fenced {
		if _, err := l.db.pool.Exec(ctx, insert+` ORDER BY r.ord`, args...); err != nil {
			return l.db.wrap(err, "append %s to %s", what, l.db.ledgerTable)
		}
		return nil
	}
	var want *int64
	var wrote int64
	err := l.db.pool.QueryRow(ctx, `WITH f AS (SELECT token FROM `+l.db.leaseTable+` WHERE name = $9 FOR SHARE),
w AS (`+insert+` WHERE EXISTS (SELECT 1 FROM f WHERE f.token = $10 AND $10 <> 0) ORDER BY r.ord RETURNING 1)
SELECT (SELECT token FROM f), (SELECT count(*) FROM w)`, append(args, lease, token)...).Scan(&want, &wrote)
	if err != nil {
		return l.db.wrap(err, "append %s to %s", what, l.db.ledgerTable)
	}
	if wrote != int64(n) {
		var w int64
		if want != nil {
			w = *want
		}
		if token == 0 {
			return fmt.Errorf("pgledger: append %s to %s: %w: this server holds no token for lease %q (the database has %d)", what, l.db.ledgerTable, ErrFenced, lease, w)
		}
		return fmt.Errorf("pgledger: append %s to %s: %w: token %d for lease %q, the database has %d", what, l.db.ledgerTable, ErrFenced, token, lease, w)
	}
	return nil
}

// Query returns the records q selects, oldest first by Time; records with
// equal times come in the order they were appended. Times compare at
// nanosecond precision, as [ledger.Query.Match] does.
func (l *Ledger) Query(ctx context.Context, q ledger.Query) ([]ledger.Record, error) {
	if l.db.closed.Load() {
		return nil, fmt.Errorf("pgledger: query %s: %w", l.db.ledgerTable, ErrClosed)
	}
	where, args := whereClause(q)
	rows, err := l.db.pool.Query(ctx, `SELECT record FROM `+l.db.ledgerTable+where+` ORDER BY at, at_ns, id`, args...)
	if err != nil {
		return nil, l.db.wrap(err, "query %s", l.db.ledgerTable)
	}
	defer rows.Close()
	var out []ledger.Record
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, l.db.wrap(err, "query %s: read row", l.db.ledgerTable)
		}
		var r ledger.Record
		if err := json.Unmarshal(doc, &r); err != nil {
			return nil, fmt.Errorf("pgledger: query %s: decode record %.120s: %w", l.db.ledgerTable, doc, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, l.db.wrap(err, "query %s", l.db.ledgerTable)
	}
	return out, nil
}

// whereClause turns q into a parameterised WHERE clause ("" when q selects
// everything) and its arguments. Values only ever travel as arguments.
func whereClause(q ledger.Query) (string, []any) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.Kind != "" {
		conds = append(conds, "kind = "+arg(text(string(q.Kind))))
	}
	if q.Group != "" {
		conds = append(conds, "grp = "+arg(text(q.Group)))
	}
	if q.Pack != "" {
		conds = append(conds, "pack = "+arg(text(q.Pack)))
	}
	if !q.Version.IsZero() {
		conds = append(conds, "version = "+arg(q.Version.String()))
	}
	if q.SHA256 != "" {
		conds = append(conds, "sha256 = "+arg(text(q.SHA256)))
	}
	if !q.Since.IsZero() {
		at := arg(q.Since)
		conds = append(conds, "(at > "+at+" OR (at = "+at+" AND at_ns >= "+arg(subMicro(q.Since))+"))")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// subMicro returns the nanoseconds of t below the microsecond that a
// timestamptz column keeps.
func subMicro(t time.Time) int16 { return int16(t.Nanosecond() % 1000) }

// text makes s valid UTF-8 the way encoding/json does (each invalid byte
// becomes U+FFFD), so an indexed column matches the JSON record it was
// taken from.
func text(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// nulField names the first text field of r that contains a NUL byte, or "".
func nulField(r ledger.Record) string {
	fields := []struct{ name, v string }{
		{"kind", string(r.Kind)}, {"group", r.Group}, {"workspaceId", r.WorkspaceID},
		{"rule", r.Rule}, {"changeId", r.ChangeID}, {"action", string(r.Action)},
		{"pack", r.Pack}, {"sha256", r.SHA256}, {"verdict", string(r.Verdict)},
		{"result", r.Result}, {"by", r.By}, {"reason", r.Reason}, {"error", r.Error},
	}
	for _, f := range fields {
		if strings.IndexByte(f.v, 0) >= 0 {
			return f.name
		}
	}
	return ""
}
