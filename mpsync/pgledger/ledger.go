package pgledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"mpsync.dev/mpsync/ledger"
)

// Ledger is an [ledger.Ledger] kept in the table <schema>.ledger. Get it
// from [DB.Ledger]; every Ledger of a DB shares the same table, so engines
// of several management groups that open the same database and schema see
// each other's records. It is safe for concurrent use.
type Ledger struct {
	db *DB
}

var _ ledger.Ledger = (*Ledger)(nil)

// Ledger returns the shared ledger.
func (db *DB) Ledger() *Ledger { return &Ledger{db: db} }

// Append stores r. It returns an error wrapping [ledger.ErrInvalidRecord]
// when r.Kind or r.Time is not set or a text field holds a NUL byte (which
// PostgreSQL cannot store), and an [*Error] naming the table when the
// database refuses the row.
func (l *Ledger) Append(ctx context.Context, r ledger.Record) error {
	if err := r.Check(); err != nil {
		return err
	}
	if field := nulField(r); field != "" {
		return fmt.Errorf("pgledger: append %s record to %s: %w: field %s contains a NUL byte", r.Kind, l.db.ledgerTable, ledger.ErrInvalidRecord, field)
	}
	if l.db.closed.Load() {
		return fmt.Errorf("pgledger: append to %s: %w", l.db.ledgerTable, ErrClosed)
	}
	doc, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("pgledger: append %s record to %s: encode: %w", r.Kind, l.db.ledgerTable, err)
	}
	version := ""
	if !r.Version.IsZero() {
		version = r.Version.String()
	}
	_, err = l.db.pool.Exec(ctx,
		`INSERT INTO `+l.db.ledgerTable+` (at, at_ns, kind, grp, pack, version, sha256, record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.Time, subMicro(r.Time), text(string(r.Kind)), text(r.Group), text(r.Pack), version, text(r.SHA256), doc)
	if err != nil {
		return l.db.wrap(err, "append %s record to %s", r.Kind, l.db.ledgerTable)
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
