package pgstore

import (
	"errors"
	"fmt"
	"strings"

	"mpsync.dev/mpsync/pgledger"
)

var (
	// ErrFenced is wrapped by the error of a write refused because the
	// store is bound to a lease ([Store.Lease]) whose fencing token in the
	// database is not the one this store last received: another holder
	// took the lease over (or this holder released it, or never held it).
	// Nothing of the refused write was applied. It is pgledger's
	// ErrFenced, so that a refused ledger append ([Store.Ledger]) matches
	// it too.
	ErrFenced = pgledger.ErrFenced
	// ErrInvalid is wrapped by errors about options: a DSN that does not
	// parse, a bad schema name.
	ErrInvalid = errors.New("invalid argument")
)

// Error is the error every store operation returns: the operation, the
// pack id or meta record name, the step that failed and the cause. Its
// message never contains the DSN's password. Match causes with errors.Is
// ([storage.ErrNotFound], [storage.ErrMismatch], [pack.ErrMalformed],
// [ErrFenced], context.Canceled, ...).
type Error struct {
	// Op is the operation: "list", "get", "open", "import", "remove",
	// "rollback", "read meta", "write meta", "append meta", "commit", ...
	Op string
	// ID is the pack id or meta record name, if any.
	ID string
	// Step is the step that failed ("receive", "check", "validate",
	// "database", "fence"), if known.
	Step string
	// Err is the cause.
	Err error

	msg string // Err's text with the password scrubbed
}

// Error returns "pgstore: <op> <id>: <step>: <cause>", leaving out empty
// parts.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("pgstore: ")
	b.WriteString(e.Op)
	if e.ID != "" {
		b.WriteString(" ")
		b.WriteString(e.ID)
	}
	if e.Step != "" {
		b.WriteString(": ")
		b.WriteString(e.Step)
	}
	b.WriteString(": ")
	if e.msg != "" {
		b.WriteString(e.msg)
	} else if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// opErr builds an *Error, scrubbing secret from the cause's text.
func (s *Store) opErr(op, id, step string, err error) error {
	var pe *Error
	if errors.As(err, &pe) && pe.Op == op && pe.ID == id {
		return err
	}
	msg := err.Error()
	if s != nil && s.secret != "" {
		msg = strings.ReplaceAll(msg, s.secret, "xxxxx")
	}
	return &Error{Op: op, ID: id, Step: step, Err: err, msg: msg}
}

func fenced(lease string, have, want int64) error {
	if have == 0 {
		return fmt.Errorf("%w: this store holds no token for lease %q (the database has %d)", ErrFenced, lease, want)
	}
	return fmt.Errorf("%w: token %d for lease %q, the database has %d", ErrFenced, have, lease, want)
}
