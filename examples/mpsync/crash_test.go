package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/store"
)

// The crash test kills `mpsync sync` with SIGKILL at seeded random moments
// while it syncs a catalog of crashPacks packs, and checks after each kill
// that the store is whole: every pack's bytes match its recorded SHA-256,
// the store holds exactly what it held before the run or exactly what the
// run would have left (a run commits its changes at once), status works,
// and the next sync converges to the catalog.
//
//	MPSYNC_CRASH_SEED=N    replay the trials of seed N (printed by a failure)
//	MPSYNC_CRASH_TRIALS=N  run N trials instead of crashTrials
const (
	crashPacks  = 200
	crashTrials = 50
	// crashPackSize is about the size of each generated pack: small
	// enough that 50 trials fit in the time the CI gives the test.
	crashPackSize = 4 << 10
	crashSolution = "Crash"
)

// crashState is what the store holds: pack id -> version.
type crashState map[string]string

func (s crashState) String() string {
	ids := slices.Sorted(maps.Keys(s))
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "%s=%s ", id, s[id])
	}
	return b.String()
}

func crashPackID(i int) string { return fmt.Sprintf("Contoso.Crash.P%03d", i) }

func crashPack(t *testing.T, id, version string) []byte {
	t.Helper()
	lib := mpsynctest.PlatformReference("SC", "Microsoft.SystemCenter.Library", "7.0.8433.0")
	adv := pack.Reference{Alias: "Advisor", ID: advisorID, Version: pack.MustParseVersion("7.1.10226.0"), PublicKeyToken: "31bf3856ad364e35"}
	b, err := packgen.Spec{ID: id, Version: pack.MustParseVersion(version), References: []pack.Reference{lib, adv}, Rules: 1, TargetSize: crashPackSize}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func envInt(t *testing.T, name string, def int64) int64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// TestSyncSurvivesSIGKILL is the crash test described above: trials alternate
// cold syncs of a new store with upgrades of a random part of the catalog,
// each sync killed at a seeded fraction of how long it is expected to run
// (half of them near the end, where the commit is).
func TestSyncSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills mpsync sync at 50 moments; skipped under -short")
	}
	seed := envInt(t, "MPSYNC_CRASH_SEED", time.Now().UnixNano())
	trials := int(envInt(t, "MPSYNC_CRASH_TRIALS", crashTrials))
	t.Logf("seed %d (replay: MPSYNC_CRASH_SEED=%d go test -run TestSyncSurvivesSIGKILL ./examples/mpsync/)", seed, seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6d7073796e63))
	start := time.Now()

	opts, err := mpsynctest.LoadDir(workspaceDir)
	if err != nil {
		t.Fatal(err)
	}
	want := crashState{} // the generated packs the catalog serves
	opts = append(opts, mpsynctest.WithSolution(crashSolution, true))
	for i := range crashPacks {
		id := crashPackID(i)
		want[id] = "1.0.0.0"
		opts = append(opts, mpsynctest.WithPack(id, want[id], catalog.ChannelSolution, crashSolution, crashPack(t, id, want[id])))
	}
	srv := mpsynctest.NewServer(opts...)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(srv.Key()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	storeDir := ""
	args := func(extra ...string) []string {
		return append([]string{"--store", storeDir, "--workspace-url", srv.URL(), "--allow-http",
			"--workspace-id", srv.WorkspaceID(), "--workspace-key-file", keyFile, "--retries", "0"}, extra...)
	}
	fail := func(trial int, format string, a ...any) {
		t.Helper()
		t.Fatalf("seed %d trial %d (replay: MPSYNC_CRASH_SEED=%d): %s", seed, trial, seed, fmt.Sprintf(format, a...))
	}

	// A first, uninterrupted sync learns the packs the workspace's own
	// solutions bring (the catalog less the generated packs) and how long a
	// cold sync takes, which scales the moments of the kills.
	storeDir = filepath.Join(dir, "calibrate")
	t0 := time.Now()
	if r := runCLI(t, cleanEnv(), args("sync")...); r.code != 0 {
		t.Fatalf("calibration sync: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	coldTook := time.Since(t0)
	others := crashState{}
	for id, v := range checkStore(t, storeDir, -1, fail) {
		if _, gen := want[id]; !gen {
			others[id] = v
		}
	}
	catalogState := func() crashState {
		s := maps.Clone(others)
		maps.Copy(s, want)
		return s
	}
	// took estimates how long a sync of n changes runs to its end: what
	// an idle sync takes, plus a cost per change, refined by each sync
	// that ran to its end doing the work of a trial.
	t0 = time.Now()
	if r := runCLI(t, cleanEnv(), args("sync")...); r.code != 0 {
		t.Fatalf("idle sync: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	fixed := time.Since(t0)
	perChange := max(coldTook-fixed, time.Millisecond) / time.Duration(len(catalogState()))
	took := func(n int) time.Duration { return fixed + time.Duration(n)*perChange }
	refine := func(d time.Duration, n int) {
		if n > 0 && d > fixed {
			perChange = (perChange + (d-fixed)/time.Duration(n)) / 2
		}
	}

	var before crashState // what the store held before the killed sync
	fresh := 0
	var outcomes [3]int // killed before the commit, after it, exited first
	for trial := range trials {
		// A new store (a cold sync of the whole catalog) now and then;
		// otherwise upgrade some of the generated packs.
		if before == nil || rng.IntN(5) == 0 {
			fresh++
			storeDir = filepath.Join(dir, fmt.Sprintf("store%02d", fresh))
			before = crashState{}
		} else {
			k := 1 + rng.IntN(crashPacks)
			v := fmt.Sprintf("1.0.%d.0", trial+1)
			for _, i := range rng.Perm(crashPacks)[:k] {
				id := crashPackID(i)
				want[id] = v
				srv.Publish(id, v, catalog.ChannelSolution, crashSolution, crashPack(t, id, v))
			}
		}
		after := catalogState()
		changes := 0
		for id, v := range after {
			if before[id] != v {
				changes++
			}
		}
		// Half the kills anywhere in the run, half near its end, where it
		// commits and then moves files into place.
		frac := rng.Float64() * 1.2
		if rng.IntN(2) == 0 {
			frac = 0.7 + rng.Float64()*0.35
		}
		delay := time.Duration(frac * float64(took(changes)))

		cmd := exec.Command(binary, args("sync")...)
		cmd.Env = cleanEnv()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		started := time.Now()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		killed := false
		select {
		case err := <-done:
			if err != nil {
				fail(trial, "sync exited before the kill: %v\n%s", err, out.String())
			}
			refine(time.Since(started), changes)
		case <-time.After(delay):
			if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Fatal(err)
			}
			// The sync may have ended as the kill was sent: what Wait
			// says decides.
			err := <-done
			killed = !cmd.ProcessState.Exited()
			if !killed && err != nil {
				fail(trial, "sync exited before the kill: %v\n%s", err, out.String())
			}
		}

		got := checkStore(t, storeDir, trial, fail)
		t.Logf("trial %d: %d changes, killed=%v after %v (%.2f of %v)", trial, changes, killed, delay.Round(time.Millisecond), frac, took(changes).Round(time.Millisecond))
		switch {
		case !killed:
			outcomes[2]++
			if !maps.Equal(got, after) {
				fail(trial, "sync exited 0 but the store is not the catalog:\n got %v\nwant %v", got, after)
			}
		case maps.Equal(got, before):
			outcomes[0]++
		case maps.Equal(got, after):
			outcomes[1]++
		default:
			fail(trial, "killed after %v (%.2f of the estimate): the store is neither as before the run nor as after it:\n got %v\nbefore %v\n after %v",
				delay, frac, got, before, after)
		}
		r := runCLI(t, cleanEnv(), args("status", "--json")...)
		if r.code != 0 {
			fail(trial, "status after the kill: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		var st statusOut
		oneJSON(t, r.stdout, &st)
		listed := crashState{}
		for _, p := range st.Packs {
			listed[p.ID] = p.Version
		}
		if !maps.Equal(listed, got) {
			fail(trial, "status lists other packs than the store holds:\nstatus %v\n store %v", listed, got)
		}

		t0 := time.Now()
		if r := runCLI(t, cleanEnv(), args("sync")...); r.code != 0 {
			fail(trial, "sync after the kill: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if killed && maps.Equal(got, before) {
			refine(time.Since(t0), changes) // this sync did the killed one's work
		}
		if got := checkStore(t, storeDir, trial, fail); !maps.Equal(got, after) {
			fail(trial, "the sync after the kill did not converge:\n got %v\nwant %v", got, after)
		}
		checkNoLeftovers(t, storeDir, trial, fail)
		before = after
	}
	t.Logf("%d trials in %v: killed before the commit %d, after it %d, sync finished first %d; %d cold syncs",
		trials, time.Since(start).Round(time.Millisecond), outcomes[0], outcomes[1], outcomes[2], fresh)
}

// checkStore opens the store at dir beside any holder (as status does, so
// nothing is repaired first), reads every pack through Open and checks its
// bytes against the entry's size and SHA-256; it returns what the store
// holds.
func checkStore(t *testing.T, dir string, trial int, fail func(int, string, ...any)) crashState {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenDir(dir, &store.DirOptions{Shared: true})
	if err != nil {
		fail(trial, "open the store: %v", err)
	}
	defer st.Close()
	entries, err := st.List(ctx)
	if err != nil {
		fail(trial, "list: %v", err)
	}
	got := crashState{}
	for _, e := range entries {
		rc, err := st.Open(ctx, e.ID)
		if err != nil {
			fail(trial, "open pack %s: %v", e.ID, err)
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			fail(trial, "read pack %s: %v", e.ID, err)
		}
		if sum := hex.EncodeToString(h.Sum(nil)); sum != e.SHA256 || n != e.Size {
			fail(trial, "pack %s %s: %d bytes with sha256 %s, the entry records %d bytes, %s", e.ID, e.Version, n, sum, e.Size, e.SHA256)
		}
		got[e.ID] = e.Version.String()
	}
	return got
}

// checkNoLeftovers checks, once a sync has opened the store after a kill
// (OpenDir finishes or undoes an interrupted commit), that incoming/ is
// empty and packs/ holds exactly the files the entries name: the current
// and the previous version of each pack, nothing leaked.
func checkNoLeftovers(t *testing.T, dir string, trial int, fail func(int, string, ...any)) {
	t.Helper()
	inc, err := os.ReadDir(filepath.Join(dir, "incoming"))
	if err != nil {
		fail(trial, "read incoming/: %v", err)
	}
	if len(inc) > 0 {
		fail(trial, "incoming/ holds %d files after a sync, the first %s", len(inc), inc[0].Name())
	}
	st, err := store.OpenDir(dir, &store.DirOptions{Shared: true})
	if err != nil {
		fail(trial, "open the store: %v", err)
	}
	defer st.Close()
	entries, err := st.List(context.Background())
	if err != nil {
		fail(trial, "list: %v", err)
	}
	named := map[string]bool{}
	for _, e := range entries {
		named[e.SHA256] = true
		if e.Previous != nil {
			named[e.Previous.SHA256] = true
		}
	}
	files, err := os.ReadDir(filepath.Join(dir, "packs"))
	if err != nil {
		fail(trial, "read packs/: %v", err)
	}
	for _, f := range files {
		if !named[f.Name()] {
			fail(trial, "packs/%s is named by no entry: a leaked file", f.Name())
		}
		delete(named, f.Name())
	}
	if len(named) > 0 {
		fail(trial, "%d files the entries name are missing from packs/", len(named))
	}
}
