package pgstore

import (
	"time"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// Steps of an operation, as [Error.Step] names them.
const (
	stepRequest  = "request"
	stepReceive  = storage.StepReceive
	stepCheck    = storage.StepCheck
	stepValidate = storage.StepValidate
	stepDatabase = "database"
	stepFence    = "fence"
)

// MaxMetaNameLength is the longest meta record name accepted, in bytes:
// [storage.MaxMetaNameLength], as in mpsync/store.
const MaxMetaNameLength = storage.MaxMetaNameLength

// CheckMetaName is [storage.CheckMetaName], the rule every store applies,
// so that records move between the stores unchanged.
func CheckMetaName(name string) error { return storage.CheckMetaName(name) }

// newEntry is [storage.NewEntry] at req.Time (stamped by the caller).
func newEntry(req storage.ImportRequest, m pack.Manifest, sum string, n int64, old *storage.Entry) storage.Entry {
	return storage.NewEntry(req, m, sum, n, req.Time, old)
}

// stamp sets req.Time to now when it is zero.
func stamp(req storage.ImportRequest, now func() time.Time) storage.ImportRequest {
	if req.Time.IsZero() {
		req.Time = now()
	}
	return req
}
