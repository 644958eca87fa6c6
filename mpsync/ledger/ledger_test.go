package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/ledger/ledgertest"
	"mpsync.dev/mpsync/storage"
)

// ledgerRecord is the metadata record a StoreLedger appends to: part of the
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

func TestMemoryConformance(t *testing.T) {
	ledgertest.Run(t, func(*testing.T) mpsync.Ledger { return ledger.NewMemory() })
}

func TestStoreConformance(t *testing.T) {
	ledgertest.Run(t, func(*testing.T) mpsync.Ledger { return mpsync.NewStoreLedger(newMetaMap()) })
}

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func rec(reason string) mpsync.Record {
	return mpsync.Record{Time: t0, Kind: mpsync.RecordRun, Reason: reason}
}

func TestAppendRefusesIncompleteRecords(t *testing.T) {
	for _, l := range []mpsync.Ledger{ledger.NewMemory(), mpsync.NewStoreLedger(newMetaMap())} {
		for _, r := range []mpsync.Record{{Time: t0}, {Kind: mpsync.RecordRun}} {
			err := l.Append(context.Background(), r)
			if !errors.Is(err, mpsync.ErrInvalidRecord) {
				t.Errorf("%T.Append(%+v) = %v, want ErrInvalidRecord", l, r, err)
			}
		}
	}
}

func TestAppendHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, l := range []mpsync.Ledger{ledger.NewMemory(), mpsync.NewStoreLedger(newMetaMap())} {
		if err := l.Append(ctx, rec("x")); !errors.Is(err, context.Canceled) {
			t.Errorf("%T.Append on a cancelled context = %v", l, err)
		}
		if _, err := l.Query(ctx, mpsync.LedgerQuery{}); !errors.Is(err, context.Canceled) {
			t.Errorf("%T.Query on a cancelled context = %v", l, err)
		}
	}
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
			got, err := mpsync.NewStoreLedger(m).Query(context.Background(), mpsync.LedgerQuery{})
			if c.wantLine > 0 {
				var ce *mpsync.LedgerCorruptError
				if !errors.As(err, &ce) || ce.Line != c.wantLine || ce.Name != ledgerRecord {
					t.Fatalf("Query error = %v, want CorruptError on line %d", err, c.wantLine)
				}
				if !errors.Is(err, mpsync.ErrLedgerCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("line %d", c.wantLine)) {
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
	l := mpsync.NewStoreLedger(m)
	for _, r := range []string{"b", "c"} {
		if err := l.Append(context.Background(), rec(r)); err != nil {
			t.Fatal(err)
		}
	}
	data := m.get(ledgerRecord)
	if n := strings.Count(data, "\n"); n != 4 {
		t.Fatalf("record has %d newlines, want 4 (torn line finished once):\n%s", n, data)
	}
	got, err := l.Query(context.Background(), mpsync.LedgerQuery{})
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
	err := mpsync.NewStoreLedger(m).Append(context.Background(), rec("x"))
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), ledgerRecord) {
		t.Fatalf("Append = %v, want the store error wrapped with the record name", err)
	}
}

func TestMemoryLen(t *testing.T) {
	m := ledger.NewMemory()
	for i := range 3 {
		if err := m.Append(context.Background(), rec(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if m.Len() != 3 {
		t.Fatalf("Len = %d, want 3", m.Len())
	}
}

// BenchmarkStoreQuery10k decodes a 10k-record ledger from scratch (a
// process start).
func BenchmarkStoreQuery10k(b *testing.B) {
	m := newMetaMap()
	l := mpsync.NewStoreLedger(m)
	ctx := context.Background()
	for i := range 10000 {
		r := ledgertest.Sample()
		r.Time = t0.Add(time.Duration(i) * time.Minute)
		r.Group = []string{"QA", "PROD"}[i%2]
		if err := l.Append(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	q := mpsync.LedgerQuery{Kind: mpsync.RecordResult, Group: "QA", Pack: "Microsoft.IntelligencePacks.Updates"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mpsync.NewStoreLedger(m).Query(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStoreAppend(b *testing.B) {
	l := mpsync.NewStoreLedger(newMetaMap())
	ctx := context.Background()
	r := ledgertest.Sample()
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Append(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

func reasons(t *testing.T, l mpsync.Ledger) string {
	t.Helper()
	got, err := l.Query(context.Background(), mpsync.LedgerQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, r := range got {
		s = append(s, r.Reason)
	}
	return strings.Join(s, ",")
}

func line(reason string) string {
	return `{"time":"2026-05-01T12:00:00Z","kind":"run","reason":"` + reason + `"}`
}

// The Store decodes only what was appended since its last Query, and
// notices when the record was rewritten underneath it.
func TestStoreQuerySeesEveryChange(t *testing.T) {
	m := newMetaMap()
	l := mpsync.NewStoreLedger(m)
	steps := []struct {
		name string
		data string
		want string
	}{
		{"first", line("a") + "\n", "a"},
		{"appended", line("a") + "\n" + line("b") + "\n", "a,b"},
		{"last line without newline", line("a") + "\n" + line("b") + "\n" + line("c"), "a,b,c"},
		{"newline added later", line("a") + "\n" + line("b") + "\n" + line("c") + "\n", "a,b,c"},
		{"rewritten, same length", line("x") + "\n" + line("b") + "\n" + line("c") + "\n", "x,b,c"},
		{"rewritten, shorter", line("y") + "\n", "y"},
		{"rewritten, longer", line("z") + "\n" + line("q") + "\n" + line("r") + "\n", "z,q,r"},
		{"emptied", "", ""},
	}
	for _, s := range steps {
		m.set(ledgerRecord, s.data)
		if got := reasons(t, l); got != s.want {
			t.Fatalf("%s: Query = [%s], want [%s]", s.name, got, s.want)
		}
	}
}

func TestStoreCorruptLineNumberAfterCache(t *testing.T) {
	m := newMetaMap()
	l := mpsync.NewStoreLedger(m)
	m.set(ledgerRecord, line("a")+"\n"+line("b")+"\n")
	reasons(t, l)
	m.set(ledgerRecord, line("a")+"\n"+line("b")+"\n\n"+"oops\n")
	_, err := l.Query(context.Background(), mpsync.LedgerQuery{})
	var ce *mpsync.LedgerCorruptError
	if !errors.As(err, &ce) || ce.Line != 4 {
		t.Fatalf("Query = %v, want a CorruptError on line 4", err)
	}
}

// BenchmarkStoreQueryIncremental is the engine's pattern: append a few
// records, query, on a ledger of 10k records.
func BenchmarkStoreQueryIncremental(b *testing.B) {
	m := newMetaMap()
	l := mpsync.NewStoreLedger(m)
	ctx := context.Background()
	r := ledgertest.Sample()
	for i := range 10000 {
		r.Time = t0.Add(time.Duration(i) * time.Minute)
		if err := l.Append(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	q := mpsync.LedgerQuery{Kind: mpsync.RecordMarkBad}
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
