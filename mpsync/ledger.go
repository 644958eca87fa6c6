package mpsync

import (
	"context"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/internal/safetext"
)

// cleanLedger is the ledger the engine writes through: it removes
// credentials from a record's free text and escapes control characters
// ([safetext.Clean]) before the ledger stores it.
//
// Regression (issue 15, point 4): a service or proxy echoing the request's
// headers put the SharedKey signature in an error, and so in the ledger.
// The workspace client scrubs its errors; this is the backstop for any
// Workspace, Approver or store whose error text the engine records.
type cleanLedger struct{ ledger.Ledger }

// Append records r with its Reason and Error cleaned.
func (l cleanLedger) Append(ctx context.Context, r ledger.Record) error {
	return l.Ledger.Append(ctx, cleanRecord(r))
}

// AppendBatch records rs cleaned, in one write when the ledger offers
// [ledger.Batcher] (the engine's run does), else one by one.
func (l cleanLedger) AppendBatch(ctx context.Context, rs []ledger.Record) error {
	clean := make([]ledger.Record, len(rs))
	for i, r := range rs {
		clean[i] = cleanRecord(r)
	}
	if lb, ok := l.Ledger.(ledger.Batcher); ok {
		return lb.AppendBatch(ctx, clean)
	}
	for _, r := range clean {
		if err := l.Ledger.Append(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func cleanRecord(r ledger.Record) ledger.Record {
	r.Reason, r.Error = safetext.Clean(r.Reason), safetext.Clean(r.Error)
	return r
}
