package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
)

// Run checks the store newStore returns against the store contract (see
// the package documentation), one subtest per property. newStore is called
// once per subtest and must return an empty store; register any clean-up
// with t.Cleanup. Run the suite with -race: it imports concurrently.
func Run(t *testing.T, newStore func(t *testing.T) mpsync.Store) {
	t.Helper()
	cases := []struct {
		name string
		fn   func(t *testing.T, s mpsync.Store)
	}{
		{"Empty", testEmpty},
		{"ImportGetListOpen", testImportGetListOpen},
		{"ImportedAtDefaultsToClock", testImportedAtDefault},
		{"OwnerDefaultsToCustom", testOwnerDefault},
		{"ReplaceKeepsPreviousAndRollback", testReplaceRollback},
		{"ReimportSameBytesKeepsPrevious", testReimportSame},
		{"RollbackWithoutPrevious", testRollbackWithoutPrevious},
		{"Remove", testRemove},
		{"RefusedImportChangesNothing", testRefused},
		{"InvalidIDs", testInvalidIDs},
		{"Meta", testMeta},
		{"MetaInvalidNames", testMetaInvalidNames},
		{"ConcurrentImports", testConcurrentImports},
		{"ConcurrentReplaceSameID", testConcurrentSameID},
		{"ContextCancelled", testContextCancelled},
		{"ResultsAreCopies", testCopies},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			require.NotNil(t, s, "newStore returned nil")
			c.fn(t, s)
		})
	}
	runBatchCases(t, newStore)
}

// t0 is the import time the suite's requests carry.
var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

const (
	idA = "Contoso.Storetest.A"
	idB = "Contoso.Storetest.B"
	idC = "Contoso.Storetest.C"
)

func req(id, version string, data []byte, at time.Time) storage.ImportRequest {
	r := Request(id, version, data)
	r.Time = at
	return r
}

func mustImport(t *testing.T, s mpsync.Store, id, version string, data []byte, at time.Time) storage.Entry {
	t.Helper()
	e, err := s.Import(context.Background(), req(id, version, data, at), bytes.NewReader(data))
	require.NoError(t, err, "import %s %s", id, version)
	return e
}

func readAll(t *testing.T, s mpsync.Store, id string) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), id)
	require.NoError(t, err, "open %s", id)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err, "read %s", id)
	return b
}

// norm makes entries comparable with require.Equal: times in UTC without a
// monotonic reading, empty reference lists as nil.
func norm(e storage.Entry) storage.Entry {
	e.ImportedAt = e.ImportedAt.Round(0).UTC()
	if len(e.References) == 0 {
		e.References = nil
	}
	if e.Previous != nil {
		p := *e.Previous
		p.ImportedAt = p.ImportedAt.Round(0).UTC()
		if len(p.References) == 0 {
			p.References = nil
		}
		e.Previous = &p
	}
	return e
}

func normAll(es []storage.Entry) []storage.Entry {
	out := make([]storage.Entry, len(es))
	for i, e := range es {
		out[i] = norm(e)
	}
	return out
}

// snapshot is what a store answers: its list and every pack's bytes.
type snapshot struct {
	list  []storage.Entry
	bytes map[string][]byte
}

func take(t *testing.T, s mpsync.Store) snapshot {
	t.Helper()
	l, err := s.List(context.Background())
	require.NoError(t, err, "list")
	sn := snapshot{list: normAll(l), bytes: map[string][]byte{}}
	for _, e := range l {
		sn.bytes[e.ID] = readAll(t, s, e.ID)
	}
	return sn
}

func sha(b []byte) string { return Request("x", "1.0", b).SHA256 }

func testEmpty(t *testing.T, s mpsync.Store) {
	ctx := context.Background()
	l, err := s.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, l)
	_, err = s.Get(ctx, idA)
	assert.ErrorIs(t, err, storage.ErrNotFound, "Get")
	_, err = s.Open(ctx, idA)
	assert.ErrorIs(t, err, storage.ErrNotFound, "Open")
	assert.ErrorIs(t, s.Remove(ctx, idA), storage.ErrNotFound, "Remove")
	_, err = s.Rollback(ctx, idA)
	assert.ErrorIs(t, err, storage.ErrNotFound, "Rollback")
	_, err = s.ReadMeta(ctx, "connection")
	assert.ErrorIs(t, err, storage.ErrNotFound, "ReadMeta")
}

func testImportGetListOpen(t *testing.T, s mpsync.Store) {
	ctx := context.Background()
	lib := pack.Reference{Alias: "SC", ID: "Microsoft.SystemCenter.Library", Version: pack.MustParseVersion("7.0.8427.0"), PublicKeyToken: "31bf3856ad364e35"}
	refA := pack.Reference{Alias: "A", ID: idA, Version: pack.MustParseVersion("1.0.0.0")}
	packs := []struct {
		id, version string
		data        []byte
		refs        []pack.Reference
	}{
		{idC, "3.0.0.1", Pack(idC, "3.0.0.1", lib, refA), []pack.Reference{lib, refA}},
		{idA, "1.0.0.0", Pack(idA, "1.0.0.0", lib), []pack.Reference{lib}},
		{idB, "7.1.10226.1239", Pack(idB, "7.1.10226.1239"), nil},
	}
	var want []storage.Entry
	for i, p := range packs {
		at := t0.Add(time.Duration(i) * time.Minute)
		r := req(p.id, p.version, p.data, at)
		got, err := s.Import(ctx, r, bytes.NewReader(p.data))
		require.NoError(t, err, "import %s", p.id)
		w := storage.Entry{
			ID: p.id, Version: pack.MustParseVersion(p.version), Name: p.id + " (storetest)",
			References: p.refs, SHA256: r.SHA256, Size: r.Size, ImportedAt: at, Provenance: r.Provenance,
		}
		assert.Equal(t, norm(w), norm(got), "entry returned by Import %s", p.id)
		g, err := s.Get(ctx, p.id)
		require.NoError(t, err, "get %s", p.id)
		assert.Equal(t, norm(w), norm(g), "entry returned by Get %s", p.id)
		assert.Equal(t, p.data, readAll(t, s, p.id), "bytes of %s", p.id)
		want = append(want, w)
	}
	slices.SortFunc(want, func(a, b storage.Entry) int { return cmpString(a.ID, b.ID) })
	l, err := s.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, normAll(want), normAll(l), "List must return every entry, sorted by id")
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testImportedAtDefault(t *testing.T, s mpsync.Store) {
	data := Pack(idA, "1.0.0.0")
	e := mustImport(t, s, idA, "1.0.0.0", data, time.Time{})
	assert.False(t, e.ImportedAt.IsZero(), "an import without Time must be stamped by the store's clock")
}

func testOwnerDefault(t *testing.T, s mpsync.Store) {
	data := Pack(idA, "1.0.0.0")
	r := req(idA, "1.0.0.0", data, t0)
	r.Provenance = storage.Provenance{}
	e, err := s.Import(context.Background(), r, bytes.NewReader(data))
	require.NoError(t, err)
	assert.Equal(t, storage.OwnerCustom, e.Owner)
}

func testReplaceRollback(t *testing.T, s mpsync.Store) {
	ctx := context.Background()
	v1 := Pack(idA, "1.0.0.0")
	v2 := Pack(idA, "1.0.1.0", pack.Reference{Alias: "B", ID: idB, Version: pack.MustParseVersion("2.0")})
	e1 := mustImport(t, s, idA, "1.0.0.0", v1, t0)
	e2 := mustImport(t, s, idA, "1.0.1.0", v2, t0.Add(time.Hour))

	require.NotNil(t, e2.Previous, "a replaced version must be kept as Previous")
	assert.Equal(t, e1.Version, e2.Previous.Version)
	assert.Equal(t, e1.SHA256, e2.Previous.SHA256)
	assert.Equal(t, e1.Size, e2.Previous.Size)
	assert.True(t, e1.ImportedAt.Equal(e2.Previous.ImportedAt), "Previous.ImportedAt")
	assert.Equal(t, e1.Provenance, e2.Previous.Provenance)
	assert.Equal(t, v2, readAll(t, s, idA))
	g, err := s.Get(ctx, idA)
	require.NoError(t, err)
	assert.Equal(t, norm(e2), norm(g))

	r, err := s.Rollback(ctx, idA)
	require.NoError(t, err, "rollback")
	assert.Equal(t, e1.Version, r.Version, "rollback restores the previous version")
	assert.Equal(t, e1.SHA256, r.SHA256)
	assert.Equal(t, e1.Name, r.Name)
	assert.Empty(t, r.References, "references of the restored version")
	require.NotNil(t, r.Previous, "after a rollback the replaced version is the previous one")
	assert.Equal(t, e2.Version, r.Previous.Version)
	assert.Equal(t, e2.SHA256, r.Previous.SHA256)
	assert.Equal(t, v1, readAll(t, s, idA), "Open after rollback")
	g, err = s.Get(ctx, idA)
	require.NoError(t, err)
	assert.Equal(t, norm(r), norm(g))

	r2, err := s.Rollback(ctx, idA)
	require.NoError(t, err, "second rollback")
	assert.Equal(t, e2.Version, r2.Version, "a second rollback swaps back")
	assert.Equal(t, e2.References, r2.References)
	assert.Equal(t, v2, readAll(t, s, idA))

	e3 := mustImport(t, s, idA, "1.0.2.0", Pack(idA, "1.0.2.0"), t0.Add(2*time.Hour))
	require.NotNil(t, e3.Previous)
	assert.Equal(t, e2.SHA256, e3.Previous.SHA256, "only the version replaced last is kept")
}

func testReimportSame(t *testing.T, s mpsync.Store) {
	v1, v2 := Pack(idA, "1.0.0.0"), Pack(idA, "2.0.0.0")
	mustImport(t, s, idA, "1.0.0.0", v1, t0)
	mustImport(t, s, idA, "2.0.0.0", v2, t0.Add(time.Hour))
	e := mustImport(t, s, idA, "2.0.0.0", v2, t0.Add(2*time.Hour))
	require.NotNil(t, e.Previous)
	assert.Equal(t, "1.0.0.0", e.Previous.Version.String(), "re-importing the current bytes keeps the previous version")
	assert.True(t, e.ImportedAt.Equal(t0.Add(2*time.Hour)), "ImportedAt of the re-import")
	assert.Equal(t, v2, readAll(t, s, idA))
	r, err := s.Rollback(context.Background(), idA)
	require.NoError(t, err)
	assert.Equal(t, v1, readAll(t, s, idA))
	assert.Equal(t, "1.0.0.0", r.Version.String())
}

func testRollbackWithoutPrevious(t *testing.T, s mpsync.Store) {
	mustImport(t, s, idA, "1.0.0.0", Pack(idA, "1.0.0.0"), t0)
	before := take(t, s)
	_, err := s.Rollback(context.Background(), idA)
	assert.ErrorIs(t, err, storage.ErrNotFound)
	assert.Equal(t, before, take(t, s), "a refused rollback changes nothing")
}

func testRemove(t *testing.T, s mpsync.Store) {
	ctx := context.Background()
	mustImport(t, s, idA, "1.0.0.0", Pack(idA, "1.0.0.0"), t0)
	mustImport(t, s, idA, "1.1.0.0", Pack(idA, "1.1.0.0"), t0)
	b := Pack(idB, "1.0.0.0")
	eb := mustImport(t, s, idB, "1.0.0.0", b, t0)

	require.NoError(t, s.Remove(ctx, idA))
	_, err := s.Get(ctx, idA)
	assert.ErrorIs(t, err, storage.ErrNotFound, "Get after Remove")
	_, err = s.Open(ctx, idA)
	assert.ErrorIs(t, err, storage.ErrNotFound, "Open after Remove")
	_, err = s.Rollback(ctx, idA)
	assert.ErrorIs(t, err, storage.ErrNotFound, "Remove drops the previous version too")
	assert.ErrorIs(t, s.Remove(ctx, idA), storage.ErrNotFound, "second Remove")
	l, err := s.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, []storage.Entry{norm(eb)}, normAll(l), "other packs stay")
	assert.Equal(t, b, readAll(t, s, idB))

	e := mustImport(t, s, idA, "1.0.0.0", Pack(idA, "1.0.0.0"), t0)
	assert.Nil(t, e.Previous, "an import after Remove starts afresh")
}

// failingReader returns its data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func testRefused(t *testing.T, s mpsync.Store) {
	v1 := Pack(idA, "1.0.0.0")
	mustImport(t, s, idA, "1.0.0.0", v1, t0)
	mustImport(t, s, idA, "1.1.0.0", Pack(idA, "1.1.0.0"), t0)
	mustImport(t, s, idB, "1.0.0.0", Pack(idB, "1.0.0.0"), t0)
	before := take(t, s)

	good := Pack(idA, "2.0.0.0")
	otherID := Pack(idC, "2.0.0.0")
	otherVersion := Pack(idA, "2.0.0.1")
	truncated := good[:len(good)-20]
	notPack := []byte(`<?xml version="1.0"?><DataSourceModuleType ID="x"><Configuration/></DataSourceModuleType>`)
	bad := []struct {
		name string
		req  storage.ImportRequest
		body io.Reader
		want []error
	}{
		{"document declares another id", req(idA, "2.0.0.0", otherID, t0), bytes.NewReader(otherID), []error{storage.ErrMismatch, pack.ErrIdentity}},
		{"document declares another version", req(idA, "2.0.0.0", otherVersion, t0), bytes.NewReader(otherVersion), []error{storage.ErrMismatch, pack.ErrIdentity}},
		{"fewer bytes than Size", withSize(req(idA, "2.0.0.0", good, t0), int64(len(good)+10)), bytes.NewReader(good), []error{storage.ErrMismatch}},
		{"more bytes than Size", withSize(req(idA, "2.0.0.0", good, t0), int64(len(good)-10)), bytes.NewReader(good), []error{storage.ErrMismatch}},
		{"hash differs", withSHA(req(idA, "2.0.0.0", good, t0), sha(v1)), bytes.NewReader(good), []error{storage.ErrMismatch}},
		{"truncated XML", unchecked(idA, "2.0.0.0"), bytes.NewReader(truncated), []error{pack.ErrMalformed}},
		{"not a management pack", unchecked(idA, ""), bytes.NewReader(notPack), []error{pack.ErrNotManagementPack}},
		{"empty body", unchecked(idA, ""), bytes.NewReader(nil), nil},
		{"sealed pack that is not an assembly", unchecked(idA, ""), bytes.NewReader([]byte("MZ\x90\x00binary")), []error{pack.ErrMalformed}},
		{"reader fails", req(idA, "2.0.0.0", good, t0), &failingReader{data: good[:100], err: errBroken}, []error{errBroken}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Import(context.Background(), c.req, c.body)
			require.Error(t, err, "import must be refused")
			for _, w := range c.want {
				assert.ErrorIs(t, err, w)
			}
			assert.Contains(t, err.Error(), idA, "the error names the pack")
			assert.Equal(t, before, take(t, s), "a refused import changes nothing")
		})
	}
}

var errBroken = errors.New("storetest: connection reset")

func withSize(r storage.ImportRequest, n int64) storage.ImportRequest { r.Size = n; return r }
func withSHA(r storage.ImportRequest, s string) storage.ImportRequest { r.SHA256 = s; return r }

// unchecked is a request that sets no size or hash, so that validation
// decides.
func unchecked(id, version string) storage.ImportRequest {
	r := storage.ImportRequest{ID: id, Time: t0, Provenance: storage.Provenance{Owner: storage.OwnerCustom}}
	if version != "" {
		r.Version = pack.MustParseVersion(version)
	}
	return r
}

func testInvalidIDs(t *testing.T, s mpsync.Store) {
	ctx := context.Background()
	for _, id := range []string{"", ".", "..", "../escape", "a/b", `a\b`, "has space", "nul\x00", "é"} {
		t.Run(fmt.Sprintf("%q", id), func(t *testing.T) {
			data := Pack("Contoso.Valid", "1.0.0.0")
			r := Request("Contoso.Valid", "1.0.0.0", data)
			r.ID = id
			_, err := s.Import(ctx, r, bytes.NewReader(data))
			assert.ErrorIs(t, err, pack.ErrInvalidID, "Import")
			_, err = s.Get(ctx, id)
			assert.ErrorIs(t, err, pack.ErrInvalidID, "Get")
			_, err = s.Open(ctx, id)
			assert.ErrorIs(t, err, pack.ErrInvalidID, "Open")
			assert.ErrorIs(t, s.Remove(ctx, id), pack.ErrInvalidID, "Remove")
			_, err = s.Rollback(ctx, id)
			assert.ErrorIs(t, err, pack.ErrInvalidID, "Rollback")
			l, err := s.List(ctx)
			require.NoError(t, err)
			assert.Empty(t, l)
		})
	}
}

func testMeta(t *testing.T, s mpsync.Store) {
	ctx := context.Background()
	_, err := s.ReadMeta(ctx, "runs.log")
	assert.ErrorIs(t, err, storage.ErrNotFound)

	require.NoError(t, s.WriteMeta(ctx, "connection.json", []byte(`{"workspace":"a"}`)))
	b, err := s.ReadMeta(ctx, "connection.json")
	require.NoError(t, err)
	assert.Equal(t, `{"workspace":"a"}`, string(b))
	require.NoError(t, s.WriteMeta(ctx, "connection.json", []byte(`{}`)))
	b, err = s.ReadMeta(ctx, "connection.json")
	require.NoError(t, err)
	assert.Equal(t, `{}`, string(b), "WriteMeta replaces")

	require.NoError(t, s.WriteMeta(ctx, "empty", nil))
	b, err = s.ReadMeta(ctx, "empty")
	require.NoError(t, err, "an empty record exists")
	assert.Empty(t, b)

	require.NoError(t, s.AppendMeta(ctx, "runs.log", []byte("one\n")))
	require.NoError(t, s.AppendMeta(ctx, "runs.log", []byte("two\n")))
	require.NoError(t, s.AppendMeta(ctx, "connection.json", []byte("+")))
	b, err = s.ReadMeta(ctx, "runs.log")
	require.NoError(t, err)
	assert.Equal(t, "one\ntwo\n", string(b))
	b, err = s.ReadMeta(ctx, "connection.json")
	require.NoError(t, err)
	assert.Equal(t, "{}+", string(b), "AppendMeta appends to a written record")

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			assert.NoError(t, s.AppendMeta(ctx, "concurrent.log", []byte(fmt.Sprintf("line %d\n", i))))
		})
	}
	wg.Wait()
	b, err = s.ReadMeta(ctx, "concurrent.log")
	require.NoError(t, err)
	assert.Len(t, bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")), 8, "concurrent appends are all kept whole: %q", b)
}

func testMetaInvalidNames(t *testing.T, s mpsync.Store) {
	ctx := context.Background()
	for _, name := range []string{"", ".hidden", "..", "../index.json", "a/b", `a\b`, "sp ace", "nul\x00"} {
		_, err := s.ReadMeta(ctx, name)
		assert.ErrorIs(t, err, storage.ErrInvalidName, "ReadMeta(%q)", name)
		assert.ErrorIs(t, s.WriteMeta(ctx, name, []byte("x")), storage.ErrInvalidName, "WriteMeta(%q)", name)
		assert.ErrorIs(t, s.AppendMeta(ctx, name, []byte("x")), storage.ErrInvalidName, "AppendMeta(%q)", name)
	}
}

func testConcurrentImports(t *testing.T, s mpsync.Store) {
	ctx := context.Background()
	const n = 16
	data := make(map[string][]byte, n)
	var ids []string
	for i := range n {
		id := fmt.Sprintf("Contoso.Concurrent.P%02d", i)
		ids = append(ids, id)
		data[id] = PaddedPack(id, "1.0.0.0", 8<<10)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			_, err := s.Import(ctx, req(id, "1.0.0.0", data[id], t0), bytes.NewReader(data[id]))
			assert.NoError(t, err, "import %s", id)
		})
		wg.Go(func() {
			_, err := s.List(ctx)
			assert.NoError(t, err, "list during imports")
		})
	}
	wg.Wait()
	l, err := s.List(ctx)
	require.NoError(t, err)
	var got []string
	for _, e := range l {
		got = append(got, e.ID)
	}
	assert.Equal(t, ids, got, "every concurrent import lands, sorted by id")
	for _, id := range ids {
		assert.Equal(t, data[id], readAll(t, s, id), "bytes of %s", id)
	}
}

func testConcurrentSameID(t *testing.T, s mpsync.Store) {
	ctx := context.Background()
	versions := []string{"1.0.0.1", "1.0.0.2", "1.0.0.3", "1.0.0.4", "1.0.0.5", "1.0.0.6"}
	bySHA := map[string]string{}
	var wg sync.WaitGroup
	for _, v := range versions {
		data := Pack(idA, v)
		bySHA[sha(data)] = v
		wg.Go(func() {
			_, err := s.Import(ctx, req(idA, v, data, t0), bytes.NewReader(data))
			assert.NoError(t, err, "import %s", v)
		})
	}
	wg.Wait()
	e, err := s.Get(ctx, idA)
	require.NoError(t, err)
	assert.Equal(t, bySHA[e.SHA256], e.Version.String(), "entry and hash agree")
	assert.Equal(t, e.SHA256, sha(readAll(t, s, idA)), "Open returns the bytes Get describes")
	require.NotNil(t, e.Previous)
	assert.Equal(t, bySHA[e.Previous.SHA256], e.Previous.Version.String(), "previous entry and hash agree")
	r, err := s.Rollback(ctx, idA)
	require.NoError(t, err)
	assert.Equal(t, r.SHA256, sha(readAll(t, s, idA)), "the previous bytes were kept")
}

// cancellingReader cancels its context after the first read.
type cancellingReader struct {
	data   []byte
	cancel context.CancelFunc
	n      int
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	c.n++
	if c.n == 2 {
		c.cancel()
	}
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 512)], c.data)
	c.data = c.data[n:]
	return n, nil
}

func testContextCancelled(t *testing.T, s mpsync.Store) {
	mustImport(t, s, idA, "1.0.0.0", Pack(idA, "1.0.0.0"), t0)
	require.NoError(t, s.WriteMeta(context.Background(), "m", []byte("x")))
	before := take(t, s)

	ctx, cancel := context.WithCancel(context.Background())
	big := PaddedPack(idA, "2.0.0.0", 256<<10)
	_, err := s.Import(ctx, req(idA, "2.0.0.0", big, t0), &cancellingReader{data: big, cancel: cancel})
	assert.ErrorIs(t, err, context.Canceled, "Import cancelled while streaming")
	assert.Equal(t, before, take(t, s), "a cancelled import changes nothing")

	data := Pack(idB, "1.0.0.0")
	_, err = s.Import(ctx, req(idB, "1.0.0.0", data, t0), bytes.NewReader(data))
	assert.ErrorIs(t, err, context.Canceled, "Import")
	_, err = s.List(ctx)
	assert.ErrorIs(t, err, context.Canceled, "List")
	_, err = s.Get(ctx, idA)
	assert.ErrorIs(t, err, context.Canceled, "Get")
	_, err = s.Open(ctx, idA)
	assert.ErrorIs(t, err, context.Canceled, "Open")
	assert.ErrorIs(t, s.Remove(ctx, idA), context.Canceled, "Remove")
	_, err = s.Rollback(ctx, idA)
	assert.ErrorIs(t, err, context.Canceled, "Rollback")
	_, err = s.ReadMeta(ctx, "m")
	assert.ErrorIs(t, err, context.Canceled, "ReadMeta")
	assert.ErrorIs(t, s.WriteMeta(ctx, "m", []byte("y")), context.Canceled, "WriteMeta")
	assert.ErrorIs(t, s.AppendMeta(ctx, "m", []byte("y")), context.Canceled, "AppendMeta")
	assert.Equal(t, before, take(t, s), "nothing changed")
	b, err := s.ReadMeta(context.Background(), "m")
	require.NoError(t, err)
	assert.Equal(t, "x", string(b))
}

func testCopies(t *testing.T, s mpsync.Store) {
	ctx := context.Background()
	lib := pack.Reference{Alias: "SC", ID: "Microsoft.SystemCenter.Library", Version: pack.MustParseVersion("7.0.8427.0")}
	mustImport(t, s, idA, "1.0.0.0", Pack(idA, "1.0.0.0", lib), t0)
	mustImport(t, s, idA, "2.0.0.0", Pack(idA, "2.0.0.0", lib), t0)
	before := take(t, s)

	e, err := s.Get(ctx, idA)
	require.NoError(t, err)
	e.References[0].ID = "changed"
	e.Previous.References[0].ID = "changed"
	e.Previous.Version = pack.Version{}
	l, err := s.List(ctx)
	require.NoError(t, err)
	l[0].References[0].Alias = "changed"
	l[0].Previous.SHA256 = "changed"

	require.NoError(t, s.WriteMeta(ctx, "m", []byte("abc")))
	m, err := s.ReadMeta(ctx, "m")
	require.NoError(t, err)
	m[0] = 'X'
	m2, err := s.ReadMeta(ctx, "m")
	require.NoError(t, err)
	assert.Equal(t, "abc", string(m2), "ReadMeta returns a copy")
	assert.Equal(t, before, take(t, s), "changing returned entries changes nothing")
}

// batchCases are run when the store implements [storage.Batcher].
var batchCases = []struct {
	name string
	fn   func(t *testing.T, s mpsync.Store, b storage.Batcher)
}{
	{"BatchCommit", testBatchCommit},
	{"BatchRefusedChangeLeftOut", testBatchRefused},
	{"BatchDiscard", testBatchDiscard},
	{"BatchDone", testBatchDone},
	{"BatchConcurrentImports", testBatchConcurrentImports},
}

func runBatchCases(t *testing.T, newStore func(t *testing.T) mpsync.Store) {
	for _, c := range batchCases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			b, ok := s.(storage.Batcher)
			if !ok {
				t.Skip("the store does not implement storage.Batcher")
			}
			c.fn(t, s, b)
		})
	}
}

func testBatchCommit(t *testing.T, s mpsync.Store, bt storage.Batcher) {
	ctx := context.Background()
	a1, b1 := Pack(idA, "1.0"), Pack(idB, "1.0")
	mustImport(t, s, idA, "1.0", a1, t0)
	mustImport(t, s, idB, "1.0", b1, t0)
	before := take(t, s)

	b, err := bt.Batch(ctx)
	require.NoError(t, err)
	defer b.Discard()
	a2, c1 := Pack(idA, "2.0"), Pack(idC, "1.0")
	e, err := b.Import(ctx, req(idA, "2.0", a2, t0.Add(time.Hour)), bytes.NewReader(a2))
	require.NoError(t, err)
	require.NotNil(t, e.Previous, "the staged entry keeps the replaced version")
	_, err = b.Import(ctx, req(idC, "1.0", c1, t0), bytes.NewReader(c1))
	require.NoError(t, err)
	require.NoError(t, b.Remove(ctx, idB))

	assert.Equal(t, before, take(t, s), "nothing staged is visible through the store before Commit")
	v, err := b.List(ctx)
	require.NoError(t, err)
	require.Len(t, v, 2)
	assert.Equal(t, idA, v[0].ID)
	assert.Equal(t, "2.0.0.0", v[0].Version.String())
	assert.Equal(t, idC, v[1].ID)
	_, err = b.Get(ctx, idB)
	assert.ErrorIs(t, err, storage.ErrNotFound, "the batch shows the staged removal")

	require.NoError(t, b.Commit(ctx))
	l, err := s.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, normAll(v), normAll(l), "after Commit the store is what the batch showed")
	assert.Equal(t, a2, readAll(t, s, idA))
	assert.Equal(t, c1, readAll(t, s, idC))
	_, err = s.Rollback(ctx, idA)
	require.NoError(t, err)
	assert.Equal(t, a1, readAll(t, s, idA), "the replaced version is kept for a rollback")
}

func testBatchRefused(t *testing.T, s mpsync.Store, bt storage.Batcher) {
	ctx := context.Background()
	b, err := bt.Batch(ctx)
	require.NoError(t, err)
	defer b.Discard()
	a1 := Pack(idA, "1.0")
	_, err = b.Import(ctx, req(idA, "1.0", a1, t0), bytes.NewReader(a1))
	require.NoError(t, err)
	bad := Pack(idB, "1.0")
	_, err = b.Import(ctx, withSHA(req(idB, "1.0", bad, t0), sha([]byte("other"))), bytes.NewReader(bad))
	require.ErrorIs(t, err, storage.ErrMismatch, "a pack failing its checks is refused when staged")
	err = b.Remove(ctx, idC)
	require.ErrorIs(t, err, storage.ErrNotFound)
	require.NoError(t, b.Commit(ctx))
	l, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, l, 1, "the refused pack is left out, the other commits")
	assert.Equal(t, idA, l[0].ID)
}

func testBatchDiscard(t *testing.T, s mpsync.Store, bt storage.Batcher) {
	ctx := context.Background()
	mustImport(t, s, idA, "1.0", Pack(idA, "1.0"), t0)
	before := take(t, s)
	b, err := bt.Batch(ctx)
	require.NoError(t, err)
	a2 := Pack(idA, "2.0")
	_, err = b.Import(ctx, req(idA, "2.0", a2, t0), bytes.NewReader(a2))
	require.NoError(t, err)
	require.NoError(t, b.Remove(ctx, idA))
	b.Discard()
	assert.Equal(t, before, take(t, s), "a discarded batch changes nothing")
}

func testBatchDone(t *testing.T, s mpsync.Store, bt storage.Batcher) {
	ctx := context.Background()
	b, err := bt.Batch(ctx)
	require.NoError(t, err)
	require.NoError(t, b.Commit(ctx), "an empty batch commits")
	b.Discard()
	a1 := Pack(idA, "1.0")
	_, err = b.Import(ctx, req(idA, "1.0", a1, t0), bytes.NewReader(a1))
	assert.ErrorIs(t, err, storage.ErrBatchDone)
	assert.ErrorIs(t, b.Commit(ctx), storage.ErrBatchDone)
	l, err := s.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, l)
}

// testBatchConcurrentImports stages imports of different packs from
// several goroutines at once, as the engine does, one of them refused.
func testBatchConcurrentImports(t *testing.T, s mpsync.Store, bt storage.Batcher) {
	ctx := context.Background()
	b, err := bt.Batch(ctx)
	require.NoError(t, err)
	defer b.Discard()
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("%s.Concurrent%02d", idA, i)
			data := Pack(id, "1.0")
			r := req(id, "1.0", data, t0)
			if i == 0 {
				r = withSHA(r, sha([]byte("other")))
			}
			_, errs[i] = b.Import(ctx, r, bytes.NewReader(data))
		}()
	}
	wg.Wait()
	require.ErrorIs(t, errs[0], storage.ErrMismatch)
	for i := 1; i < n; i++ {
		require.NoError(t, errs[i])
	}
	v, err := b.List(ctx)
	require.NoError(t, err)
	require.Len(t, v, n-1)
	require.NoError(t, b.Commit(ctx))
	l, err := s.List(ctx)
	require.NoError(t, err)
	assert.Equal(t, normAll(v), normAll(l), "every staged import commits, the refused one is left out")
	for _, e := range l {
		assert.Equal(t, Pack(e.ID, "1.0"), readAll(t, s, e.ID))
	}
}
