package mpsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/plan"
	"mpsync.dev/mpsync/storage"
)

// ImportOptions shape [Engine.Import].
type ImportOptions struct {
	// Force lets the operator take over a pack a workspace imported (it
	// becomes custom, and sync stops managing it) and replace a pack with
	// other content at the same version. It never allows a downgrade: that
	// is [Engine.Rollback]'s job.
	Force bool
	// By names the operator in the ledger; empty means "operator".
	By string
	// Source names where the pack comes from (a file name) in errors and in
	// the ledger; empty means "import".
	Source string
}

// ImportResult says what [Engine.Import] did.
type ImportResult struct {
	// Entry is the pack as the store now holds it.
	Entry storage.Entry
	// Unchanged is true when the store already held these exact bytes as
	// a custom pack: nothing was written.
	Unchanged bool
	// TookOver is true when the pack had been imported by a workspace and
	// Force made it the operator's.
	TookOver bool
	// Repaired is true when the store held these bytes' hash for the pack
	// but its copy no longer matched it (a [*TamperedError]): the import
	// wrote the good bytes back.
	Repaired bool
}

// Import imports a pack an operator supplies by hand (XML, or a sealed .mp
// when the pack reader supports it), with the checks a sync makes: no
// downgrade, the same version only with the same content, every reference
// satisfied by an imported pack or the platform inventory. An override pack
// (unsealed XML holding RulePropertyOverride or RuleConfigurationOverride
// elements) must also be one package overrides reads without error, whose
// overrides of the two rules reach the management group and whose override
// ids no other override pack in the store uses; once imported it applies to
// the rules (see [Options.Settings]). The pack becomes
// the operator's (custom): sync never upgrades or removes it. A pack a
// workspace imported is taken over only with Force. The import is recorded
// in the ledger. On any error the store is exactly as it was; the error
// wraps [ErrImportRefused] for a refusal (and [overrides.ErrInvalid] for
// an invalid override pack, with the cause: an [*overrides.Error],
// [pack.ErrMalformed], ...), the store's or the
// pack reader's error otherwise, and names the source and the pack.
//
// r is read twice (the manifest, then the whole pack into the store), hence
// io.ReadSeeker; an *os.File is one.
func (e *Engine) Import(ctx context.Context, r io.ReadSeeker, opts ImportOptions) (ImportResult, error) {
	done, err := e.enter()
	if err != nil {
		return ImportResult{}, err
	}
	defer done()
	src := opts.Source
	if src == "" {
		src = "import"
	}
	m, sum, err := readForImport(r)
	if err != nil {
		return ImportResult{}, fmt.Errorf("%s: %w", src, err)
	}
	where := fmt.Sprintf("%s (pack %s %s)", src, m.ID, m.Version)
	e.runMu.Lock()
	defer e.runMu.Unlock()
	entries, err := e.store.List(ctx)
	if err != nil {
		return ImportResult{}, fmt.Errorf("%s: list store: %w", where, err)
	}
	reason := "imported by hand from " + src
	res, err := e.importLocked(ctx, r, m, sum, entries, opts, reason)
	if err != nil {
		return res, fmt.Errorf("%s: %w", where, err)
	}
	return res, nil
}

// importLocked checks a pack read by readForImport (an override pack's
// validity, then sync's rules) and imports it as the operator's, recording
// it in the ledger with reason. runMu is held; r is rewound as needed.
func (e *Engine) importLocked(ctx context.Context, r io.ReadSeeker, m pack.Manifest, sum string, entries []storage.Entry, opts ImportOptions, reason string) (ImportResult, error) {
	if err := e.checkOverridePack(ctx, m, r); err != nil {
		return ImportResult{}, err
	}
	res, err := e.checkImport(m, sum, entries, opts)
	if err != nil {
		return res, err
	}
	// Regression (issue 15, point 3): importing the recorded bytes again
	// over a copy changed in the store was "unchanged", so the documented
	// recovery from a tampered pack did nothing.
	if i := slices.IndexFunc(entries, func(en storage.Entry) bool { return en.ID == m.ID && en.SHA256 == sum }); i >= 0 {
		if _, verr := checkStored(ctx, e.store, entries[i], false); errors.Is(verr, ErrTampered) {
			res.Unchanged, res.Repaired = false, true
		}
	}
	if res.Unchanged {
		return res, nil
	}
	// A repair asks the store to replace the bytes it holds for the hash
	// (Rewrite): one atomic step, so the pack is never missing, after a
	// crash too. The directory and memory stores honour it.
	req := storage.ImportRequest{ID: m.ID, Version: m.Version, SHA256: sum, Time: e.clock.Now(),
		Provenance: storage.Provenance{Owner: storage.OwnerCustom}, Rewrite: res.Repaired}
	en, err := e.storeImport(ctx, r, req)
	if err != nil {
		return ImportResult{}, err
	}
	if res.Repaired {
		if _, verr := checkStored(ctx, e.store, en, false); errors.Is(verr, ErrTampered) {
			// A store that ignores Rewrite kept the copy it had for that
			// hash: the last resort is to remove the pack, then import it
			// anew, which is not atomic (a crash between the two leaves the
			// pack out of the store until it is imported again). The
			// previous version kept for a rollback goes with it.
			e.log.Warn("the store kept its tampered copy despite ImportRequest.Rewrite; removing and importing the pack again", "pack", m.ID)
			if err := e.store.Remove(ctx, m.ID); err != nil {
				return ImportResult{}, fmt.Errorf("repair the stored copy: remove: %w", err)
			}
			if en, err = e.storeImport(ctx, r, req); err != nil {
				return ImportResult{}, fmt.Errorf("repair the stored copy: the pack was removed and could not be imported again: %w", err)
			}
			reason += "; the previous version kept for a rollback was dropped"
		}
		reason += "; repaired a stored copy that did not match its recorded sha256"
	}
	res.Entry = en
	by := opts.By
	if by == "" {
		by = "operator"
	}
	if res.TookOver {
		reason += "; taken over from the workspace (forced)"
	}
	e.record(ctx, ledger.Record{Kind: ledger.KindResult, Action: plan.ActionImport, Pack: m.ID, Version: m.Version, SHA256: sum,
		Result: string(ResultApplied), By: by, Reason: reason})
	return res, nil
}

// storeImport rewinds r and imports it into the store.
func (e *Engine) storeImport(ctx context.Context, r io.ReadSeeker, req storage.ImportRequest) (storage.Entry, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return storage.Entry{}, fmt.Errorf("rewind: %w", err)
	}
	return e.store.Import(ctx, req, r)
}

// readForImport reads the manifest and hashes the whole pack, then leaves
// r to be rewound.
func readForImport(r io.ReadSeeker) (pack.Manifest, string, error) {
	m, err := pack.ReadManifest(r)
	if err != nil {
		return m, "", err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return m, "", fmt.Errorf("rewind: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return m, "", fmt.Errorf("read: %w", err)
	}
	return m, hex.EncodeToString(h.Sum(nil)), nil
}

// checkImport applies sync's rules to a pack imported by hand.
func (e *Engine) checkImport(m pack.Manifest, sum string, entries []storage.Entry, opts ImportOptions) (ImportResult, error) {
	var res ImportResult
	byID := make(map[string]storage.Entry, len(entries))
	for _, en := range entries {
		byID[en.ID] = en
	}
	if cur, ok := byID[m.ID]; ok {
		switch c := m.Version.Compare(cur.Version); {
		case c < 0:
			return res, fmt.Errorf("%w: the store holds %s; a lower version is a downgrade (use Rollback to go back to the previous version)",
				ErrImportRefused, cur.Version)
		case c == 0 && cur.SHA256 == sum && cur.Owner == storage.OwnerCustom:
			return ImportResult{Entry: cur, Unchanged: true}, nil
		case c == 0 && cur.SHA256 != sum && !opts.Force:
			return res, fmt.Errorf("%w: the store holds version %s with other content (sha256 %s, this file %s); a version must not change its content (Force replaces it)",
				ErrImportRefused, cur.Version, short(cur.SHA256), short(sum))
		}
		if cur.Owner == storage.OwnerWorkspace {
			if !opts.Force {
				return res, fmt.Errorf("%w: %s %s was imported for workspace %s by %s; taking it over makes sync stop managing it (Force, mpsync import --force)",
					ErrImportRefused, cur.ID, cur.Version, cur.WorkspaceID, cur.Rule)
			}
			res.TookOver = true
		}
	}
	unmet := plan.CheckReferences(m, plan.Input{Entries: entries, Platform: e.platform, PlatformName: e.platformName})
	if len(unmet) > 0 {
		return res, fmt.Errorf("%w: %w: %s; import the referenced packs first",
			ErrImportRefused, pack.ErrUnsatisfied, strings.Join(unmet, "; "))
	}
	return res, nil
}

// short abbreviates a sha256 for messages.
func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
