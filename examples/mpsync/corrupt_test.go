package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"mpsync.dev/mpsync/store"
)

// Regression (issue 15, point 5): a corrupt connection record made every
// command exit 1 until the file was deleted by hand; a corrupt pending or
// run record made status fail. Each is reported with its name and
// recovery; connect and repair recover.
func TestRegressionCorruptMetadataThroughTheCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustOK(t, "sync")
	// The store's records live in its database: reach them through the
	// library, with no command running.
	withStore := func(fn func(*store.Dir)) {
		st, err := store.OpenDir(f.store, nil)
		require.NoError(t, err)
		defer st.Close()
		fn(st)
	}
	writeMeta := func(name string, data []byte) error {
		var err error
		withStore(func(st *store.Dir) { err = st.WriteMeta(context.Background(), name, data) })
		return err
	}
	readMeta := func(name string) ([]byte, error) {
		var b []byte
		var err error
		withStore(func(st *store.Dir) { b, err = st.ReadMeta(context.Background(), name) })
		return b, err
	}
	garbage := []byte("{\"state\": \"conn")

	require.NoError(t, writeMeta("connection.json", garbage))
	for _, cmd := range []string{"status", "sync"} {
		r := f.run(t, cmd)
		assert.Equal(t, 1, r.code, cmd)
		line := oneLineErr(t, r.stderr)
		assert.Contains(t, line, "connection.json", cmd)
		assert.Contains(t, line, "mpsync connect", "%s: the error says how to recover", cmd)
	}
	f.mustOK(t, "connect")
	got, err := readMeta("connection.json.corrupt")
	require.NoError(t, err)
	assert.Equal(t, garbage, got)
	f.mustOK(t, "status")

	require.NoError(t, writeMeta("runs.json", garbage))
	r := f.mustOK(t, "status")
	assert.Contains(t, r.stdout, "WARNING: the metadata record runs.json is corrupt")
	var st struct {
		CorruptRecords []corruptJSON `json:"corruptRecords"`
	}
	oneJSON(t, f.mustOK(t, "status", "--json").stdout, &st)
	require.Len(t, st.CorruptRecords, 1)
	assert.Equal(t, "runs.json", st.CorruptRecords[0].Record)

	var rep repairDoc
	oneJSON(t, f.mustOK(t, "repair", "--json").stdout, &rep)
	assert.Equal(t, []string{"runs.json"}, rep.SetAside)
	assert.Empty(t, rep.Left)
	_, err = readMeta("runs.json.corrupt")
	require.NoError(t, err)
	oneJSON(t, f.mustOK(t, "status", "--json").stdout, &st)
	assert.Empty(t, st.CorruptRecords)
	assert.Contains(t, f.mustOK(t, "repair").stdout, "no corrupt metadata record")
}
