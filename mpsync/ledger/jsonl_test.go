package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mpsync.dev/mpsync/ledger"

	"mpsync.dev/mpsync/ledger/ledgertest"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
)

// Tests of JSONL (storeledger.go), the default ledger. The ledger
// package's tests cover ledger.Memory and the two implementations side by
// side.

// ledgerRecord is the metadata record a JSONL appends to: part of the
// store's layout, which these tests pin.
const ledgerRecord = "ledger.jsonl"

// metaMap is a minimal in-memory Appender.
type metaMap struct {
	mu      sync.Mutex
	records map[string][]byte
	appends int
	failErr error
}

func newMetaMap() *metaMap { return &metaMap{records: map[string][]byte{}} }

func (m *metaMap) ReadMeta(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.records[name]
	if !ok {
		return nil, fmt.Errorf("meta %s: %w", name, storage.ErrNotFound)
	}
	return append([]byte(nil), b...), nil
}

func (m *metaMap) AppendMeta(_ context.Context, name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failErr != nil {
		return m.failErr
	}
	m.appends++
	m.records[name] = append(m.records[name], data...)
	return nil
}

func (m *metaMap) set(name, data string) {
	m.mu.Lock()
	m.records[name] = []byte(data)
	m.mu.Unlock()
}

func (m *metaMap) get(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return string(m.records[name])
}

// ledgerT0 is the time the records of these tests carry.
var ledgerT0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func ledgerRec(reason string) ledger.Record {
	return ledger.Record{Time: ledgerT0, Kind: ledger.KindRun, Reason: reason}
}

func TestStoreConformance(t *testing.T) {
	ledgertest.Run(t, func(*testing.T) ledger.Ledger { return ledger.NewJSONL(newMetaMap()) })
}

func TestStoreReadsDamagedRecords(t *testing.T) {
	good := `{"time":"2026-05-01T12:00:00Z","kind":"run","reason":"a"}`
	cases := []struct {
		name     string
		data     string
		want     string // reasons, comma separated
		wantLine int    // >0: a CorruptError on this line
	}{
		{"missing record is empty", "", "", 0},
		{"blank lines ignored", "\n" + good + "\n\n", "a", 0},
		{"torn last line skipped", good + "\n" + `{"time":"2026-05-01T12:0`, "a", 0},
		{"torn line finished by a later append", `{"time":"2026-05-01T1` + "\n" + good + "\n", "a", 0},
		{"garbage line", good + "\n" + "not json\n" + good + "\n", "", 2},
		{"wrong type", good + "\n" + good + "\n" + `{"time":7,"kind":"run"}` + "\n", "", 3},
		{"garbage at end", good + "\n}", "", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newMetaMap()
			if c.data != "" {
				m.set(ledgerRecord, c.data)
			}
			got, err := ledger.NewJSONL(m).Query(context.Background(), ledger.Query{})
			if c.wantLine > 0 {
				var ce *ledger.CorruptError
				if !errors.As(err, &ce) || ce.Line != c.wantLine || ce.Name != ledgerRecord {
					t.Fatalf("Query error = %v, want CorruptError on line %d", err, c.wantLine)
				}
				if !errors.Is(err, ledger.ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("line %d", c.wantLine)) {
					t.Errorf("error %q does not match ErrCorrupt or name the line", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			var reasons []string
			for _, r := range got {
				reasons = append(reasons, r.Reason)
			}
			if s := strings.Join(reasons, ","); s != c.want {
				t.Errorf("Query = [%s], want [%s]", s, c.want)
			}
		})
	}
}

func TestStoreFinishesTornLineOnFirstAppend(t *testing.T) {
	m := newMetaMap()
	m.set(ledgerRecord, `{"time":"2026-05-01T12:00:00Z","kind":"run","reason":"a"}`+"\n"+`{"time":"2026-05-`)
	l := ledger.NewJSONL(m)
	for _, r := range []string{"b", "c"} {
		if err := l.Append(context.Background(), ledgerRec(r)); err != nil {
			t.Fatal(err)
		}
	}
	data := m.get(ledgerRecord)
	if n := strings.Count(data, "\n"); n != 4 {
		t.Fatalf("record has %d newlines, want 4 (torn line finished once):\n%s", n, data)
	}
	got, err := l.Query(context.Background(), ledger.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].Reason != "b" || got[2].Reason != "c" {
		t.Fatalf("Query = %+v, want a, b, c", got)
	}
}

func TestStoreWrapsAppendErrors(t *testing.T) {
	m := newMetaMap()
	boom := errors.New("disk full")
	m.failErr = boom
	err := ledger.NewJSONL(m).Append(context.Background(), ledgerRec("x"))
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), ledgerRecord) {
		t.Fatalf("Append = %v, want the store error wrapped with the record name", err)
	}
}

// BenchmarkStoreQuery10k decodes a 10k-record ledger from scratch (a
// process start).
func BenchmarkStoreQuery10k(b *testing.B) {
	m := newMetaMap()
	l := ledger.NewJSONL(m)
	ctx := context.Background()
	for i := range 10000 {
		r := ledgertest.Sample()
		r.Time = ledgerT0.Add(time.Duration(i) * time.Minute)
		r.Group = []string{"QA", "PROD"}[i%2]
		if err := l.Append(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	q := ledger.Query{Kind: ledger.KindResult, Group: "QA", Pack: "Microsoft.IntelligencePacks.Updates"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ledger.NewJSONL(m).Query(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStoreAppend(b *testing.B) {
	l := ledger.NewJSONL(newMetaMap())
	ctx := context.Background()
	r := ledgertest.Sample()
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Append(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

func ledgerReasons(t *testing.T, l ledger.Ledger) string {
	t.Helper()
	got, err := l.Query(context.Background(), ledger.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, r := range got {
		s = append(s, r.Reason)
	}
	return strings.Join(s, ",")
}

func ledgerLine(reason string) string {
	return `{"time":"2026-05-01T12:00:00Z","kind":"run","reason":"` + reason + `"}`
}

// The Store decodes only what was appended since its last Query, and
// notices when the record was rewritten underneath it.
func TestStoreQuerySeesEveryChange(t *testing.T) {
	m := newMetaMap()
	l := ledger.NewJSONL(m)
	steps := []struct {
		name string
		data string
		want string
	}{
		{"first", ledgerLine("a") + "\n", "a"},
		{"appended", ledgerLine("a") + "\n" + ledgerLine("b") + "\n", "a,b"},
		{"last line without newline", ledgerLine("a") + "\n" + ledgerLine("b") + "\n" + ledgerLine("c"), "a,b,c"},
		{"newline added later", ledgerLine("a") + "\n" + ledgerLine("b") + "\n" + ledgerLine("c") + "\n", "a,b,c"},
		{"rewritten, same length", ledgerLine("x") + "\n" + ledgerLine("b") + "\n" + ledgerLine("c") + "\n", "x,b,c"},
		{"rewritten, shorter", ledgerLine("y") + "\n", "y"},
		{"rewritten, longer", ledgerLine("z") + "\n" + ledgerLine("q") + "\n" + ledgerLine("r") + "\n", "z,q,r"},
		{"emptied", "", ""},
	}
	for _, s := range steps {
		m.set(ledgerRecord, s.data)
		if got := ledgerReasons(t, l); got != s.want {
			t.Fatalf("%s: Query = [%s], want [%s]", s.name, got, s.want)
		}
	}
}

func TestStoreCorruptLineNumberAfterCache(t *testing.T) {
	m := newMetaMap()
	l := ledger.NewJSONL(m)
	m.set(ledgerRecord, ledgerLine("a")+"\n"+ledgerLine("b")+"\n")
	ledgerReasons(t, l)
	m.set(ledgerRecord, ledgerLine("a")+"\n"+ledgerLine("b")+"\n\n"+"oops\n")
	_, err := l.Query(context.Background(), ledger.Query{})
	var ce *ledger.CorruptError
	if !errors.As(err, &ce) || ce.Line != 4 {
		t.Fatalf("Query = %v, want a CorruptError on line 4", err)
	}
}

// BenchmarkStoreQueryIncremental is the engine's pattern: append a few
// records, query, on a ledger of 10k records.
func BenchmarkStoreQueryIncremental(b *testing.B) {
	m := newMetaMap()
	l := ledger.NewJSONL(m)
	ctx := context.Background()
	r := ledgertest.Sample()
	for i := range 10000 {
		r.Time = ledgerT0.Add(time.Duration(i) * time.Minute)
		if err := l.Append(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	q := ledger.Query{Kind: ledger.KindMarkBad}
	if _, err := l.Query(ctx, q); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Append(ctx, r); err != nil {
			b.Fatal(err)
		}
		if _, err := l.Query(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// The store ledger on the two stores the library ships.

func TestStoreLedgerOnMemoryStore(t *testing.T) {
	ledgertest.Run(t, func(*testing.T) ledger.Ledger { return ledger.NewJSONL(store.NewMemory()) })
}

func TestStoreLedgerOnDirStore(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Ledger {
		d, err := store.OpenDir(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return ledger.NewJSONL(d)
	})
}

// The directory store appends whole rows, so a crash cannot cut a line
// short; a cut-short line another writer left (here appended by hand) is
// still read past by a new process, whose first append starts a fresh line.
func TestStoreLedgerSurvivesTornAppendOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := store.OpenDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.NewJSONL(d).Append(ctx, ledgerRec("before")); err != nil {
		t.Fatal(err)
	}
	if err := d.AppendMeta(ctx, ledgerRecord, []byte(`{"time":"2026-05-01T12:00:00Z","ki`)); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d, err = store.OpenDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	l := ledger.NewJSONL(d)
	if got, err := l.Query(ctx, ledger.Query{}); err != nil || len(got) != 1 {
		t.Fatalf("Query after a torn append = %d records, %v; want 1", len(got), err)
	}
	if err := l.Append(ctx, ledgerRec("after")); err != nil {
		t.Fatal(err)
	}
	got, err := l.Query(ctx, ledger.Query{})
	if err != nil || len(got) != 2 || got[1].Reason != "after" {
		t.Fatalf("Query = %+v, %v; want before, after", got, err)
	}
	if b, err := d.ReadMeta(ctx, ledgerRecord); err != nil || b[len(b)-1] != '\n' {
		t.Errorf("record does not end with a newline: %q, %v", b, err)
	}
}

// ledger.NewJSONL keeps the ledger in a store's "ledger.jsonl" record; any
// mpsync.Store works, here a minimal in-memory one.
func Example_storeLedger() {
	ctx := context.Background()
	m := newMetaMap()
	l := ledger.NewJSONL(m)
	_ = l.Append(ctx, ledger.Record{Time: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
		Kind: ledger.KindRun, Rule: "Microsoft.SystemCenter.Advisor.MPUpdate", Result: "ok"})
	fmt.Print(m.get(ledgerRecord))
	// Output:
	// {"time":"2026-06-01T00:00:00Z","kind":"run","rule":"Microsoft.SystemCenter.Advisor.MPUpdate","result":"ok"}
}
