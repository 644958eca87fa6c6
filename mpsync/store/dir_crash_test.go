package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/store/storetest"
)

var (
	tBase = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	idA   = "Contoso.Crash.A"
	idB   = "Contoso.Crash.B"
)

func importAt(t *testing.T, d *store.Dir, id, version string, at time.Time) storage.Entry {
	t.Helper()
	data := storetest.Pack(id, version)
	r := storetest.Request(id, version, data)
	r.Time = at
	e, err := d.Import(context.Background(), r, bytes.NewReader(data))
	require.NoError(t, err, "import %s %s", id, version)
	return e
}

// seed gives A a current (1.1) and a previous (1.0) version, and B one.
func seed(t *testing.T, d *store.Dir) {
	importAt(t, d, idA, "1.0.0.0", tBase)
	importAt(t, d, idA, "1.1.0.0", tBase.Add(time.Hour))
	importAt(t, d, idB, "1.0.0.0", tBase)
}

// state is what a reopened store holds: its index and the hash of the bytes
// Open returns for each pack.
type state struct {
	List  []storage.Entry
	Bytes map[string]string
}

func stateOf(t *testing.T, d *store.Dir) state {
	t.Helper()
	ctx := context.Background()
	l, err := d.List(ctx)
	require.NoError(t, err)
	s := state{List: l, Bytes: map[string]string{}}
	for _, e := range l {
		rc, err := d.Open(ctx, e.ID)
		require.NoError(t, err)
		h := sha256.New()
		_, err = io.Copy(h, rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		s.Bytes[e.ID] = hex.EncodeToString(h.Sum(nil))
	}
	return s
}

// checkConsistent asserts that the files on disk are exactly those the
// index refers to, each holding the bytes its name says, with nothing left
// staged and nothing quarantined.
func checkConsistent(t *testing.T, d *store.Dir) {
	t.Helper()
	l, err := d.List(context.Background())
	require.NoError(t, err)
	want := map[string]bool{}
	for _, e := range l {
		want[e.SHA256] = true
		if p := e.Previous; p != nil {
			want[p.SHA256] = true
		}
	}
	got := map[string]bool{}
	ents, err := os.ReadDir(filepath.Join(d.Path(), "packs"))
	require.NoError(t, err)
	for _, f := range ents {
		got[f.Name()] = true
		b, err := os.ReadFile(filepath.Join(d.Path(), "packs", f.Name()))
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		assert.Equal(t, f.Name(), hex.EncodeToString(sum[:]), "%s holds other bytes than its name says (half a pack?)", f.Name())
	}
	assert.Equal(t, want, got, "pack files and index disagree")
	inc, _ := os.ReadDir(filepath.Join(d.Path(), "incoming"))
	assert.Empty(t, inc, "nothing is left staged")
	_, err = os.Stat(filepath.Join(d.Path(), "quarantine"))
	assert.ErrorIs(t, err, fs.ErrNotExist, "nothing should be quarantined")
}

type change struct {
	name  string
	steps []string
	// prep, when set, runs on the seeded store before the change, with no
	// failpoint.
	prep func(t *testing.T, d *store.Dir)
	run  func(d *store.Dir) error
}

func rollbackA(t *testing.T, d *store.Dir) {
	t.Helper()
	_, err := d.Rollback(context.Background(), idA)
	require.NoError(t, err)
}

// importOf returns a change that imports pack id at version with the given
// provenance (the zero value keeps storetest.Request's) at tBase+at.
func importOf(id, version string, prov storage.Provenance, at time.Duration) func(*store.Dir) error {
	return func(d *store.Dir) error {
		data := storetest.Pack(id, version)
		r := storetest.Request(id, version, data)
		if prov != (storage.Provenance{}) {
			r.Provenance = prov
		}
		r.Time = tBase.Add(at)
		_, err := d.Import(context.Background(), r, bytes.NewReader(data))
		return err
	}
}

var changes = []change{
	{"import new pack", store.ImportSteps, nil, importOf("Contoso.Crash.C", "3.0.0.0", storage.Provenance{}, 2*time.Hour)},
	{"import replacing a pack", store.ImportSteps, nil, importOf(idA, "1.2.0.0", storage.Provenance{}, 2*time.Hour)},
	{"re-import the current bytes with other provenance", store.ImportSteps, nil, importOf(idA, "1.1.0.0", storage.Provenance{Owner: storage.OwnerWorkspace, WorkspaceID: "other-workspace", Rule: "Contoso.Rule", Solution: "Security"}, 3*time.Hour)},
	{"re-import the previous bytes", store.ImportSteps, nil, importOf(idA, "1.0.0.0", storage.Provenance{Owner: storage.OwnerCustom}, 4*time.Hour)},
	{"remove", store.RemoveSteps, nil, func(d *store.Dir) error { return d.Remove(context.Background(), idA) }},
	{"rollback", store.RollbackSteps, nil, func(d *store.Dir) error {
		_, err := d.Rollback(context.Background(), idA)
		return err
	}},
	{"undo a rollback", store.RollbackSteps, rollbackA, func(d *store.Dir) error {
		_, err := d.Rollback(context.Background(), idA)
		return err
	}},
	{"import a lower version by hand", store.ImportSteps, nil, importOf(idA, "0.9.0.0", storage.Provenance{Owner: storage.OwnerCustom, Rule: "operator"}, 5*time.Hour)},
	{"import over a rolled-back pack", store.ImportSteps, rollbackA, importOf(idA, "1.2.0.0", storage.Provenance{}, 2*time.Hour)},
	{"re-import the previous bytes of a rolled-back pack", store.ImportSteps, rollbackA, importOf(idA, "1.1.0.0", storage.Provenance{}, 6*time.Hour)},
}

// prepare seeds d and runs c's prep.
func prepare(t *testing.T, d *store.Dir, c change) {
	t.Helper()
	seed(t, d)
	if c.prep != nil {
		c.prep(t, d)
	}
}

// expected runs c on a freshly seeded store and returns the states before
// and after.
func expected(t *testing.T, c change) (before, after state) {
	d := openTemp(t)
	prepare(t, d, c)
	before = stateOf(t, d)
	require.NoError(t, c.run(d))
	return before, stateOf(t, d)
}

// TestCrashAtEveryStep interrupts each change at each step as if the process
// died there, reopens the directory and checks that the store holds the old
// state or the new one, with pack files and index in agreement.
func TestCrashAtEveryStep(t *testing.T) {
	for _, c := range changes {
		before, after := expected(t, c)
		for _, step := range c.steps {
			t.Run(c.name+"/"+step, func(t *testing.T) {
				dir := t.TempDir()
				d, err := store.OpenDir(dir, nil)
				require.NoError(t, err)
				prepare(t, d, c)
				store.SetFailpoint(d, func(s string) error {
					if s == step {
						return store.ErrCrash
					}
					return nil
				})
				err = c.run(d)
				require.ErrorIs(t, err, store.ErrCrash)
				require.NoError(t, d.Close())

				d2, err := store.OpenDir(dir, nil)
				require.NoError(t, err, "reopen after the crash")
				defer d2.Close()
				got := stateOf(t, d2)
				committed := slices.Index(c.steps, step) >= slices.Index(c.steps, store.CommittedFrom)
				if committed {
					assert.Equal(t, after, got, "a crash after the commit point keeps the change")
				} else {
					assert.Equal(t, before, got, "a crash before the commit point loses the change")
				}
				checkConsistent(t, d2)

				// A rebuild from the pack files keeps every pack's
				// provenance, read from the database.
				require.NoError(t, d2.Close())
				rep, err := store.Rebuild(dir, nil)
				require.NoError(t, err)
				assert.Empty(t, rep.Unrestored)
				assert.Empty(t, rep.Dropped)
				d3, err := store.OpenDir(dir, nil)
				require.NoError(t, err, "reopen after the rebuild")
				defer d3.Close()
				require.True(t, d3.Rebuilt())
				assert.Equal(t, got, stateOf(t, d3), "the rebuilt store is the store at that point")
			})
		}
	}
}

// TestFailureAtEveryStep makes each step of each change fail (an I/O
// error, not a crash): before the index is durable the store must be
// exactly as it was, on disk and in memory; after, the change stands.
func TestFailureAtEveryStep(t *testing.T) {
	errDisk := errors.New("disk full")
	for _, c := range changes {
		before, after := expected(t, c)
		for _, step := range c.steps {
			t.Run(c.name+"/"+step, func(t *testing.T) {
				dir := t.TempDir()
				d, err := store.OpenDir(dir, nil)
				require.NoError(t, err)
				prepare(t, d, c)
				store.SetFailpoint(d, func(s string) error {
					if s == step {
						return errDisk
					}
					return nil
				})
				err = c.run(d)
				durable := slices.Index(c.steps, step) >= slices.Index(c.steps, store.DurableFrom)
				want := before
				if durable {
					assert.NoError(t, err, "a failure after the commit does not fail the change")
					want = after
				} else {
					require.ErrorIs(t, err, errDisk)
					var oe *store.OpError
					require.ErrorAs(t, err, &oe)
					assert.NotEmpty(t, oe.Step, "the error names the step")
				}
				store.SetFailpoint(d, nil)
				assert.Equal(t, want, stateOf(t, d), "state in memory")
				checkConsistent(t, d)
				require.NoError(t, d.Close())

				d2, err := store.OpenDir(dir, nil)
				require.NoError(t, err)
				defer d2.Close()
				assert.Equal(t, want, stateOf(t, d2), "state after reopening")
				assert.Empty(t, d2.Report().Removed, "nothing was left to clean up")
				assert.Empty(t, d2.Report().Recovered, "nothing was left to finish")
				checkConsistent(t, d2)

				// The store goes on from there: the change (again, when it
				// failed) and a lost index give the state the change gives.
				if !durable {
					require.NoError(t, c.run(d2))
					assert.Equal(t, after, stateOf(t, d2))
					checkConsistent(t, d2)
				}
			})
		}
	}
}
