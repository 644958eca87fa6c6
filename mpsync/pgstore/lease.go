package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mpsync.dev/mpsync"
)

// Lease is pgledger's lease (the same row of <schema>.lease, the same
// rules: free, expired or already held by the asker) bound to a [Store]
// for fencing. Each successful Acquire hands the lease's current fencing
// token to the store, and from the moment the store's Lease method is
// called every write the store makes carries it: the database refuses a
// write whose token is not the lease's current one ([ErrFenced]), so a
// holder paused past its lease (GC, SIGSTOP, a frozen VM) writes nothing
// once another server took over, even if it never notices.
//
// The token comes from a sequence and is moved forward by a trigger in the
// database whenever the lease changes hands, so it is right even for
// servers that use pgledger.Lease directly. A renewal by the holder keeps
// it. Get a Lease from [Store.Lease]; it is safe for concurrent use.
type Lease struct {
	s    *Store
	name string
}

var _ mpsync.Lease = (*Lease)(nil)

// Lease returns the lease called name (use the management group's name)
// and binds the store to it: from now on the store's writes are fenced by
// the token its Acquire receives, and refused until the first successful
// Acquire. A store whose Lease is never called (the command's approve,
// status, import, connect) writes unfenced, as an operator does; since an
// engine takes the lease only for scheduled runs, call Connect, Disconnect
// and the like through an unbound store.
func (s *Store) Lease(name string) *Lease {
	s.fenceName.Store(&name)
	return &Lease{s: s, name: name}
}

// Token returns the fencing token the store's writes carry now, 0 when it
// holds none.
func (s *Store) Token() int64 { return s.token.Load() }

// Name returns the lease's name.
func (l *Lease) Name() string { return l.name }

// Acquire makes holder the holder until ttl from now if the lease is free,
// expired or already held by holder, and reports whether holder holds it;
// when it does, the store's writes carry the lease's token from now on,
// and when it does not, they carry none. One round trip: the lease
// statement, and the validation of the store's cache (Options.CacheFor)
// in the same batch.
func (l *Lease) Acquire(ctx context.Context, holder string, ttl time.Duration) (bool, error) {
	s := l.s
	if holder == "" || l.name == "" {
		return false, fmt.Errorf("pgstore: acquire lease %q for %q: %w: empty lease name or holder", l.name, holder, ErrInvalid)
	}
	if ttl < time.Microsecond {
		return false, fmt.Errorf("pgstore: acquire lease %q for %q: %w: ttl %v is below one microsecond", l.name, holder, ErrInvalid, ttl)
	}
	if err := s.check(ctx, "acquire lease", l.name); err != nil {
		return false, err
	}
	var clock *time.Time
	if s.now != nil && s.nowIsClock {
		t := s.now()
		clock = &t
	}
	const now = `coalesce($3::timestamptz, now())`
	var token int64
	// The lease statement and the cache's validation go in one round
	// trip; the validation is a statement of its own, so that its
	// snapshot is taken after the lease statement got the row: when a
	// takeover waited for the last holder's write in flight, the
	// validation sees that write.
	var b pgx.Batch
	b.Queue(`INSERT INTO `+s.tLease+` AS l (name, holder, acquired_at, expires_at)
VALUES ($1, $2, `+now+`, `+now+` + $4::bigint * interval '1 microsecond')
ON CONFLICT (name) DO UPDATE
SET holder = excluded.holder,
    acquired_at = CASE WHEN l.holder = excluded.holder AND l.expires_at > `+now+` THEN l.acquired_at ELSE excluded.acquired_at END,
    expires_at = excluded.expires_at
WHERE l.holder = excluded.holder OR l.expires_at <= `+now+`
RETURNING token`, l.name, holder, clock, ttl.Microseconds())
	var epoch uint64
	var started time.Time
	if s.cacheFor > 0 {
		var args []any
		args, epoch = s.validateArgs()
		started = time.Now()
		b.Queue(s.validateSQL(), args...)
	}
	br := s.pool.SendBatch(ctx, &b)
	err := br.QueryRow().Scan(&token)
	if s.cacheFor > 0 && (err == nil || errors.Is(err, pgx.ErrNoRows)) {
		if rows, qerr := br.Query(); qerr == nil {
			s.applyValidation(rows, epoch, started) //nolint:errcheck // a failed validation leaves the cache stale
		}
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		s.token.Store(0)
		return false, nil
	case err != nil:
		s.token.Store(0)
		return false, s.dbErr(ctx, "acquire lease", l.name, err)
	}
	if old := s.token.Swap(token); old != token {
		s.log.Info("pgstore: lease acquired", "lease", l.name, "holder", holder, "token", token)
	}
	return true, nil
}

// Release gives the lease up if holder holds it; the store's writes carry
// no token afterwards.
func (l *Lease) Release(ctx context.Context, holder string) error {
	s := l.s
	s.token.Store(0)
	if err := s.check(ctx, "release lease", l.name); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM `+s.tLease+` WHERE name = $1 AND holder = $2`, l.name, holder); err != nil {
		return s.dbErr(ctx, "release lease", l.name, err)
	}
	return nil
}
