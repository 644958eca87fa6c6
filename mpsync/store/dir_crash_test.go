package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// sidecarFile is the on-disk shape of packs/<id>/<sha256>.json, as a person
// or another tool would read it.
type sidecarFile struct {
	Format     int       `json:"format"`
	ID         string    `json:"id"`
	Version    string    `json:"version"`
	Name       string    `json:"name"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	ImportedAt time.Time `json:"importedAt"`
	storage.Provenance
	Generation uint64 `json:"generation"`
}

func readSidecar(t *testing.T, path string) sidecarFile {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var s sidecarFile
	require.NoError(t, json.Unmarshal(b, &s), "%s", path)
	return s
}

// checkConsistent asserts that the files on disk are exactly those the
// index refers to, each holding the bytes its name says, each with a
// sidecar recording what the index records for it, with no temporary or
// quarantined files.
func checkConsistent(t *testing.T, d *store.Dir) {
	t.Helper()
	l, err := d.List(context.Background())
	require.NoError(t, err)
	want := map[string]bool{}
	sidecars := map[string]sidecarFile{}
	for _, e := range l {
		want[filepath.Join(e.ID, e.SHA256+".xml")] = true
		want[filepath.Join(e.ID, e.SHA256+".json")] = true
		sidecars[filepath.Join(e.ID, e.SHA256+".json")] = sidecarFile{
			Format: 1, ID: e.ID, Version: e.Version.String(), Name: e.Name, SHA256: e.SHA256, Size: e.Size,
			ImportedAt: e.ImportedAt, Provenance: e.Provenance,
		}
		if p := e.Previous; p != nil {
			want[filepath.Join(e.ID, p.SHA256+".xml")] = true
			want[filepath.Join(e.ID, p.SHA256+".json")] = true
			sidecars[filepath.Join(e.ID, p.SHA256+".json")] = sidecarFile{
				Format: 1, ID: e.ID, Version: p.Version.String(), Name: p.Name, SHA256: p.SHA256, Size: p.Size,
				ImportedAt: p.ImportedAt, Provenance: p.Provenance,
			}
		}
	}
	got := map[string]bool{}
	gens := map[string]uint64{}
	root := filepath.Join(d.Path(), "packs")
	require.NoError(t, filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		got[rel] = true
		if strings.HasSuffix(p, ".json") {
			if w, ok := sidecars[rel]; ok {
				got := readSidecar(t, p)
				gens[rel] = got.Generation
				got.Generation = 0
				assert.Equal(t, w, got, "sidecar %s disagrees with the index", rel)
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		assert.Equal(t, strings.TrimSuffix(filepath.Base(p), ".xml"), hex.EncodeToString(sum[:]), "%s holds other bytes than its name says (half a pack?)", rel)
		return nil
	}))
	assert.Equal(t, want, got, "pack files, sidecars and index disagree")
	for _, e := range l {
		cur := gens[filepath.Join(e.ID, e.SHA256+".json")]
		assert.NotZero(t, cur, "the sidecar of %s's current file records a generation", e.ID)
		if p := e.Previous; p != nil {
			prev := gens[filepath.Join(e.ID, p.SHA256+".json")]
			assert.NotZero(t, prev, "the sidecar of %s's previous file records a generation", e.ID)
			assert.Greater(t, cur, prev, "%s: the current file's generation is above the previous one's", e.ID)
		}
	}
	for _, sub := range []string{"", "meta"} {
		ents, _ := os.ReadDir(filepath.Join(d.Path(), sub))
		for _, e := range ents {
			assert.False(t, strings.HasPrefix(e.Name(), ".tmp-"), "temporary file %s left in %q", e.Name(), sub)
		}
	}
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
				assert.False(t, d2.Rebuilt(), "the index survives every crash")
				got := stateOf(t, d2)
				committed := slices.Index(c.steps, step) >= slices.Index(c.steps, store.CommittedFrom)
				if committed {
					assert.Equal(t, after, got, "a crash after the index rename keeps the change")
				} else {
					assert.Equal(t, before, got, "a crash before the index rename loses the change")
				}
				checkConsistent(t, d2)

				// Losing the index now must not lose the provenance: a
				// rebuild restores what the index recorded for every file.
				require.NoError(t, d2.Close())
				require.NoError(t, os.Remove(filepath.Join(dir, "index.json")))
				d3, err := store.OpenDir(dir, nil)
				require.NoError(t, err, "reopen without the index")
				defer d3.Close()
				require.True(t, d3.Rebuilt())
				assert.Empty(t, d3.Report().Unrestored)
				assert.Empty(t, d3.Report().Quarantined)
				assert.Empty(t, d3.Report().SidecarsWritten, "the sidecars agree with the rebuilt index")
				assert.Equal(t, got, stateOf(t, d3),
					"the rebuilt index is the index at that point: same current and previous files, each recorded as before")
				checkConsistent(t, d3)
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
				assert.Empty(t, d2.Report().SidecarsWritten, "every sidecar was put back as it was")
				checkConsistent(t, d2)

				// The store goes on from there: the change (again, when it
				// failed) and a lost index give the state the change gives.
				if !durable {
					require.NoError(t, c.run(d2))
					assert.Equal(t, after, stateOf(t, d2))
					checkConsistent(t, d2)
				}
				require.NoError(t, d2.Close())
				require.NoError(t, os.Remove(filepath.Join(dir, "index.json")))
				d3, err := store.OpenDir(dir, nil)
				require.NoError(t, err)
				defer d3.Close()
				require.True(t, d3.Rebuilt())
				assert.Equal(t, after, stateOf(t, d3), "a rebuild gives the state the index recorded")
				assert.Empty(t, d3.Report().SidecarsWritten)
			})
		}
	}
}
