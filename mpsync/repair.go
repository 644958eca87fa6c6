package mpsync

import (
	"context"
	"errors"
	"fmt"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync/approval"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync/storage"

	"mpsync.dev/rules"
)

// RepairReport says what [Engine.Repair] did.
type RepairReport struct {
	// SetAside names the corrupt records Repair set aside (each kept as
	// its name with [storage.CorruptSuffix]) and started afresh.
	SetAside []string `json:"setAside"`
	// Left are the corrupt records Repair does not start afresh, each with
	// its recovery: the connection record, which Connect sets aside.
	Left []status.CorruptRecord `json:"left,omitempty"`
}

// Repair sets aside every corrupt metadata record the engine can start
// afresh, and reports the ones it leaves:
//
//   - the run history (runs.json) starts empty: the rules count as never
//     run until they run again;
//   - the pending changes (pending.json) start empty: the next run of each
//     rule lists what waits again;
//   - the approval queue, when it is a [approval.Repairer] (approval.Manual's
//     approvals.json), starts empty: the changes ask again at the next
//     run, and approvals given in the corrupt queue must be given again
//     (the copy set aside shows them);
//   - a corrupt connection record is left, with its recovery: Connect sets
//     it aside and connects.
//
// Each record set aside keeps its bytes under its name with
// [storage.CorruptSuffix] and is recorded in the ledger ([ledger.KindRepair]). Records
// that decode are not touched, so Repair on a sound store does nothing. A
// run would set a corrupt run history or pending record aside by itself;
// Repair does it now, so that Status and Validate are whole again.
func (e *Engine) Repair(ctx context.Context) (*RepairReport, error) {
	done, err := e.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	e.runMu.Lock()
	defer e.runMu.Unlock()
	rep := &RepairReport{SetAside: []string{}}
	e.runsMu.Lock()
	err = errors.Join(
		repairRecord(ctx, e, runsRecord, runHistory{Rules: map[rules.Rule]status.Run{}}, rep),
		repairRecord(ctx, e, pendingRecord, []Change{}, rep),
	)
	e.runsMu.Unlock()
	if err != nil {
		return rep, fmt.Errorf("repair: %w", err)
	}
	if q, qerr := e.queue(); qerr == nil {
		if r, ok := q.(approval.Repairer); ok {
			name, err := r.Repair(ctx)
			if err != nil {
				return rep, fmt.Errorf("repair: approval queue: %w", err)
			}
			if name != "" {
				rep.SetAside = append(rep.SetAside, name)
				e.log.Warn("corrupt approval queue set aside; starting it empty", "record", name, "copy", name+storage.CorruptSuffix)
				e.record(ctx, ledger.Record{Kind: ledger.KindRepair, Result: "set-aside", By: "operator",
					Reason: fmt.Sprintf("the approval queue %s was corrupt; its bytes were kept as %s and it was started empty", name, name+storage.CorruptSuffix)})
			}
		}
	}
	if _, _, err := connectionRecord.read(ctx, e.store); err != nil {
		var ce *storage.CorruptRecordError
		if !errors.As(err, &ce) {
			return rep, fmt.Errorf("repair: %w", err)
		}
		rep.Left = append(rep.Left, status.CorruptRecord{Record: ce.Record, Error: ce.Err.Error(), Recovery: ce.Recovery})
	}
	return rep, nil
}

// repairRecord sets rec aside and writes fresh in its place when it is
// corrupt.
func repairRecord[T any](ctx context.Context, e *Engine, rec record[T], fresh T, rep *RepairReport) error {
	_, raw, _, err := rec.readRaw(ctx, e.store)
	if err == nil {
		return nil
	}
	if err := e.setAsideCorrupt(ctx, rec, raw, err); err != nil {
		return err
	}
	if err := rec.write(ctx, e.store, fresh); err != nil {
		return err
	}
	rep.SetAside = append(rep.SetAside, rec.name)
	return nil
}
