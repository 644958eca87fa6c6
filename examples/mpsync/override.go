package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"mpsync.dev/mpsync/status"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/workspace"
	"mpsync.dev/rules"
)

// overrideDoc is the document of override.
type overrideDoc struct {
	// Pack is the override pack as the store holds it afterwards (null when
	// nothing was written or found).
	Pack *packJSON `json:"pack"`
	// Overrides are the overrides the command asked for, as the pack holds
	// them.
	Overrides []overrideJSON `json:"overrides"`
	// Unchanged is true when the pack already held every value asked for.
	Unchanged bool `json:"unchanged"`
	// Exported is the file --export wrote, "" without --export.
	Exported string   `json:"exported"`
	Warnings []string `json:"warnings"`
	Error    string   `json:"error,omitempty"`
}

type overrideJSON struct {
	Rule    string `json:"rule"`
	ID      string `json:"id"`
	Setting string `json:"setting"`
	Value   string `json:"value"`
	Module  string `json:"module,omitempty"`
}

// overrideRequests turns the flags into one request per selected rule.
func (a *app) overrideRequests() ([]mpsync.OverrideRequest, error) {
	c := a.cfg
	if !c.set["enabled"] && !c.set["frequency"] && !c.set["export"] {
		return nil, shapef("override needs --enabled, --frequency or --export")
	}
	if !c.set["enabled"] && !c.set["frequency"] {
		return nil, nil
	}
	var base mpsync.OverrideRequest
	if c.set["enabled"] {
		switch strings.ToLower(strings.TrimSpace(c.enabled)) {
		case "true":
			base.Enabled = new(true)
		case "false":
			base.Enabled = new(false)
		default:
			return nil, usagef("flag --enabled %q: want true or false", c.enabled)
		}
	}
	if c.set["frequency"] {
		n, err := strconv.ParseInt(strings.TrimSpace(c.frequency), 10, 64)
		if err != nil || n < 1 || n > 2147483647 {
			return nil, usagef("flag --frequency %q: want a whole number of seconds from 1 to 2147483647 (the rule's Frequency parameter)", c.frequency)
		}
		base.Frequency = new(time.Duration(n) * time.Second)
	}
	base.PackID, base.Module = c.packID, c.module
	base.By = a.userName()
	rs := a.rules
	if len(rs) == 0 {
		rs = rules.All() // --rule all (the default): both rules
	}
	var reqs []mpsync.OverrideRequest
	for _, r := range rs {
		req := base
		req.Rule = r
		reqs = append(reqs, req)
	}
	return reqs, nil
}

func (a *app) override(ctx context.Context) error {
	reqs, err := a.overrideRequests()
	if err != nil {
		return err
	}
	packID := a.cfg.packID
	if packID == "" {
		packID = mpsync.DefaultOverridePackID
	}
	return a.withEngine(ctx, false, func(st cmdStore, _ *workspace.Client, eng *mpsync.Engine) error {
		doc := overrideDoc{Overrides: []overrideJSON{}, Warnings: []string{}, Unchanged: len(reqs) > 0}
		var err error
		for _, req := range reqs {
			res, serr := eng.SetOverride(ctx, req)
			if serr != nil {
				err = fmt.Errorf("store %s: %w", st.Path(), serr)
				if errors.Is(serr, mpsync.ErrBadOverride) {
					err = usagef("%v", err)
				}
				doc.Unchanged = false
				break
			}
			p := entryToJSON(res.Entry)
			doc.Pack = &p
			doc.Unchanged = doc.Unchanged && res.Unchanged
			for _, o := range res.Overrides {
				doc.Overrides = append(doc.Overrides, overrideJSON{Rule: o.Rule, ID: o.ID, Setting: string(o.Setting()), Value: o.Value, Module: o.Module})
			}
			for _, w := range res.Warnings {
				doc.Warnings = append(doc.Warnings, w.String())
			}
		}
		if err == nil && a.cfg.export != "" {
			en, eerr := exportPack(ctx, st, eng, packID, a.cfg.export)
			if eerr != nil {
				err = eerr
			} else {
				p := entryToJSON(en)
				doc.Pack, doc.Exported = &p, a.cfg.export
			}
		}
		doc.Error = a.errText(err)
		a.output(doc, func(w io.Writer) { writeOverride(w, doc) })
		return err
	})
}

// exportPack writes the bytes of the store's pack id to file, atomically.
// The bytes come through Engine.ReadPack, which checks them against the
// recorded hash (issue 15, point 3: a pack changed in the store was
// exported as it was).
func exportPack(ctx context.Context, st cmdStore, eng *mpsync.Engine, id, file string) (en storage.Entry, err error) {
	en, data, err := eng.ReadPack(ctx, id)
	if err != nil {
		return en, fmt.Errorf("export %s from store %s: %w", id, st.Path(), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return en, fmt.Errorf("export %s to %s: %w", id, file, unwrapPathError(err))
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return en, fmt.Errorf("export %s to %s: %w", id, file, err)
	}
	if err := tmp.Close(); err != nil {
		return en, fmt.Errorf("export %s to %s: %w", id, file, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return en, fmt.Errorf("export %s to %s: %w", id, file, unwrapPathError(err))
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return en, fmt.Errorf("export %s to %s: %w", id, file, unwrapPathError(err))
	}
	return en, nil
}

func writeOverride(w io.Writer, doc overrideDoc) {
	for _, o := range doc.Overrides {
		line := fmt.Sprintf("%s %s=%s (override %s", shortRule(o.Rule), o.Setting, o.Value, o.ID)
		if o.Module != "" {
			line += ", module " + o.Module
		}
		fmt.Fprintln(w, line+")")
	}
	if doc.Pack != nil && len(doc.Overrides) > 0 {
		if doc.Unchanged {
			fmt.Fprintf(w, "pack %s %s already holds these overrides; nothing changed\n", doc.Pack.ID, doc.Pack.Version)
		} else {
			fmt.Fprintf(w, "wrote pack %s %s to the store; the rules follow it from now on\n", doc.Pack.ID, doc.Pack.Version)
		}
	}
	for _, warn := range doc.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	if doc.Exported != "" && doc.Pack != nil {
		fmt.Fprintf(w, "exported %s %s to %s\n", doc.Pack.ID, doc.Pack.Version, doc.Exported)
	}
}

// overridesJSON is the "overrides" object of status.
type overridesJSON struct {
	Packs    []overridePackJSON `json:"packs"`
	Warnings []string           `json:"warnings"`
	Error    string             `json:"error"`
}

type overridePackJSON struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	From    string `json:"from"`
}

func overridesToJSON(s status.Overrides) overridesJSON {
	out := overridesJSON{Packs: []overridePackJSON{}, Warnings: []string{}, Error: oneLine(s.Error)}
	for _, p := range s.Packs {
		out.Packs = append(out.Packs, overridePackJSON{ID: p.ID, Version: versionJSON(p.Version), From: p.From})
	}
	for _, w := range s.Warnings {
		out.Warnings = append(out.Warnings, w.String())
	}
	return out
}

// writeOverridesStatus is the override section of the status table.
func writeOverridesStatus(w io.Writer, o overridesJSON) {
	if o.Error != "" {
		fmt.Fprintf(w, "WARNING: an override pack cannot be used; the last valid overrides stay in force: %s\n", o.Error)
	}
	if len(o.Packs) == 0 {
		return
	}
	var parts []string
	for _, p := range o.Packs {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", p.ID, p.Version, p.From))
	}
	fmt.Fprintf(w, "Override packs: %s\n", strings.Join(parts, ", "))
}
