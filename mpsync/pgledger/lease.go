package pgledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mpsync.dev/mpsync"
)

// Lease is an [mpsync.Lease] kept as one row of <schema>.lease, keyed by
// its name (usually the management group's name). Every management server
// of the group asks for the same name; the database decides atomically who
// holds it. Get it from [DB.Lease]. It is safe for concurrent use.
type Lease struct {
	db   *DB
	name string
}

var _ mpsync.Lease = (*Lease)(nil)

// Lease returns the lease called name. The row is created by the first
// Acquire.
func (db *DB) Lease(name string) *Lease { return &Lease{db: db, name: name} }

// Name returns the lease's name.
func (l *Lease) Name() string { return l.name }

// clock returns the lease clock as a query argument: the injected time, or
// nil, which the statements turn into the database's now().
func (l *Lease) clock() *time.Time {
	if l.db.now == nil {
		return nil
	}
	t := l.db.now()
	return &t
}

// Acquire makes holder the holder until ttl from now if the lease is free,
// expired (its expiry is at or before now) or already held by holder, and
// reports whether holder holds it. It is a single INSERT ... ON CONFLICT DO
// UPDATE statement, so of several servers asking at once exactly one wins.
// It returns an error wrapping [ErrInvalid] for an empty name or holder or
// a ttl that is not positive.
func (l *Lease) Acquire(ctx context.Context, holder string, ttl time.Duration) (bool, error) {
	if err := l.check("acquire", holder); err != nil {
		return false, err
	}
	if ttl < time.Microsecond {
		return false, fmt.Errorf("pgledger: acquire lease %q in %s for %q: %w: ttl %v is below one microsecond", l.name, l.db.leaseTable, holder, ErrInvalid, ttl)
	}
	const now = `coalesce($3::timestamptz, now())`
	var held string
	err := l.db.pool.QueryRow(ctx, `INSERT INTO `+l.db.leaseTable+` AS l (name, holder, acquired_at, expires_at)
VALUES ($1, $2, `+now+`, `+now+` + $4::bigint * interval '1 microsecond')
ON CONFLICT (name) DO UPDATE
SET holder = excluded.holder,
    acquired_at = CASE WHEN l.holder = excluded.holder AND l.expires_at > `+now+` THEN l.acquired_at ELSE excluded.acquired_at END,
    expires_at = excluded.expires_at
WHERE l.holder = excluded.holder OR l.expires_at <= `+now+`
RETURNING holder`, l.name, text(holder), l.clock(), ttl.Microseconds()).Scan(&held)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		l.db.log.Debug("pgledger: lease held by another server", "lease", l.name, "holder", holder)
		return false, nil
	case err != nil:
		return false, l.db.wrap(err, "acquire lease %q in %s for %q", l.name, l.db.leaseTable, holder)
	}
	l.db.log.Debug("pgledger: lease held", "lease", l.name, "holder", holder, "ttl", ttl)
	return true, nil
}

// Release gives the lease up if holder holds it; otherwise it does nothing.
func (l *Lease) Release(ctx context.Context, holder string) error {
	if err := l.check("release", holder); err != nil {
		return err
	}
	tag, err := l.db.pool.Exec(ctx, `DELETE FROM `+l.db.leaseTable+` WHERE name = $1 AND holder = $2`, l.name, text(holder))
	if err != nil {
		return l.db.wrap(err, "release lease %q in %s for %q", l.name, l.db.leaseTable, holder)
	}
	if tag.RowsAffected() > 0 {
		l.db.log.Debug("pgledger: lease released", "lease", l.name, "holder", holder)
	}
	return nil
}

// LeaseState is who holds a lease and until when.
type LeaseState struct {
	// Holder is the holder, "" when the lease is free or expired.
	Holder string
	// Since is when Holder took the lease (renewals keep it).
	Since time.Time
	// Until is when the lease expires unless renewed.
	Until time.Time
}

// State returns who holds the lease now, on the same clock Acquire uses;
// the zero LeaseState when it is free or expired.
func (l *Lease) State(ctx context.Context) (LeaseState, error) {
	if err := l.check("read", "-"); err != nil {
		return LeaseState{}, err
	}
	var s LeaseState
	err := l.db.pool.QueryRow(ctx, `SELECT holder, acquired_at, expires_at FROM `+l.db.leaseTable+
		` WHERE name = $1 AND expires_at > coalesce($2::timestamptz, now())`, l.name, l.clock()).Scan(&s.Holder, &s.Since, &s.Until)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return LeaseState{}, nil
	case err != nil:
		return LeaseState{}, l.db.wrap(err, "read lease %q in %s", l.name, l.db.leaseTable)
	}
	return s, nil
}

func (l *Lease) check(op, holder string) error {
	switch {
	case l.name == "":
		return fmt.Errorf("pgledger: %s lease in %s: %w: empty lease name", op, l.db.leaseTable, ErrInvalid)
	case holder == "":
		return fmt.Errorf("pgledger: %s lease %q in %s: %w: empty holder", op, l.name, l.db.leaseTable, ErrInvalid)
	case l.db.closed.Load():
		return fmt.Errorf("pgledger: %s lease %q in %s: %w", op, l.name, l.db.leaseTable, ErrClosed)
	}
	return nil
}
