package store

import (
	"log/slog"
	"time"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// Steps of an import, as [OpError.Step] names them.
const (
	stepRequest  = "request"
	stepReceive  = storage.StepReceive
	stepCheck    = storage.StepCheck
	stepValidate = storage.StepValidate
)

// newEntry is [storage.NewEntry] at req.Time, or now when it is zero.
func newEntry(req storage.ImportRequest, m pack.Manifest, sum string, n int64, now func() time.Time, old *storage.Entry) storage.Entry {
	t := req.Time
	if t.IsZero() {
		t = now()
	}
	return storage.NewEntry(req, m, sum, n, t, old)
}

// discardIfNil returns l, or a logger that discards everything when l is
// nil.
func discardIfNil(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
