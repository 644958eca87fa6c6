package mpsync_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"mpsync.dev/mpsync/ledger"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
)

// batchProbeStore is a Memory store that counts ledger appends and whose
// batches refuse the imports of the packs in fail and count the imports
// staged at once.
type batchProbeStore struct {
	*store.Memory
	appends atomic.Int64
	fail    map[string]bool

	mu              sync.Mutex
	staging, maxPar int
}

func (s *batchProbeStore) AppendMeta(ctx context.Context, name string, data []byte) error {
	if name == "ledger.jsonl" {
		s.appends.Add(1)
	}
	return s.Memory.AppendMeta(ctx, name, data)
}

func (s *batchProbeStore) Batch(ctx context.Context) (storage.Batch, error) {
	b, err := s.Memory.Batch(ctx)
	return &batchProbe{Batch: b, s: s}, err
}

type batchProbe struct {
	storage.Batch
	s *batchProbeStore
}

func (b *batchProbe) Import(ctx context.Context, req storage.ImportRequest, r io.Reader) (storage.Entry, error) {
	b.s.mu.Lock()
	b.s.staging++
	b.s.maxPar = max(b.s.maxPar, b.s.staging)
	b.s.mu.Unlock()
	defer func() {
		b.s.mu.Lock()
		b.s.staging--
		b.s.mu.Unlock()
	}()
	if b.s.fail[req.ID] {
		_, _ = io.Copy(io.Discard, r)
		return storage.Entry{}, fmt.Errorf("%w: refused by the test", storage.ErrMismatch)
	}
	return b.Batch.Import(ctx, req, r)
}

// A batched run stages its imports concurrently, yet keeps dependency
// order: a pack whose reference failed to stage is skipped, its other
// dependents' siblings apply; and the run's decisions and results reach
// the ledger in two appends, not two per change.
func TestBatchedRunStagesConcurrentlyInDependencyOrder(t *testing.T) {
	ctx := context.Background()
	ws := newFakeWS("ws1")
	ws.solution("S", true)
	ws.put("Base", "1.0.0.0", "S")
	ws.put("Bad", "1.0.0.0", "S", rref("Base", "1.0.0.0"))
	ws.put("NeedsBad", "1.0.0.0", "S", rref("Bad", "1.0.0.0"))
	ws.put("NeedsNeedsBad", "1.0.0.0", "S", rref("NeedsBad", "1.0.0.0"))
	const n = 40
	for i := range n {
		ws.put(fmt.Sprintf("Leaf%02d", i), "1.0.0.0", "S", rref("Base", "1.0.0.0"))
	}
	s := &batchProbeStore{Memory: store.NewMemory(), fail: map[string]bool{"Bad": true}}
	e := newFakeEngine(t, ws, s, nil)
	rep, err := e.Sync(ctx)
	require.NoError(t, err)

	res := results(rep)
	assert.Equal(t, "import/applied", res["Base"])
	assert.Equal(t, "import/failed", res["Bad"])
	assert.Equal(t, "import/skipped", res["NeedsBad"], "its reference failed to stage")
	assert.Equal(t, "import/skipped", res["NeedsNeedsBad"])
	for i := range n {
		assert.Equal(t, "import/applied", res[fmt.Sprintf("Leaf%02d", i)])
	}
	for _, o := range rep.Outcomes {
		if o.Pack == "NeedsBad" {
			require.Error(t, o.Err)
			assert.True(t, strings.Contains(o.Err.Error(), "waits for Bad"), o.Err.Error())
		}
		if o.Pack == "Bad" {
			assert.True(t, errors.Is(o.Err, storage.ErrMismatch), "%v", o.Err)
		}
	}
	v := storeVersions(t, s)
	assert.Len(t, v, n+1, "Base and the leaves")
	assert.NotContains(t, v, "Bad")
	if s.maxPar < 2 {
		t.Logf("imports were never staged concurrently (max %d at once; GOMAXPROCS may be 1)", s.maxPar)
	}

	before := s.appends.Load()
	assert.LessOrEqual(t, before, int64(6), "decisions and results are appended together, not one append per change")
	recs, err := ledger.NewJSONL(s).Query(ctx, ledger.Query{})
	require.NoError(t, err)
	var decisions, resultsN int
	lastDecision, firstResult := -1, -1
	for i, r := range recs {
		switch r.Kind {
		case ledger.KindDecision:
			decisions++
			lastDecision = i
		case ledger.KindResult:
			resultsN++
			if firstResult < 0 {
				firstResult = i
			}
			assert.Equal(t, "ws1", r.WorkspaceID)
		}
	}
	assert.Equal(t, n+2, decisions, "Base, Bad and the leaves were decided; the skipped were not")
	assert.Equal(t, n+4, resultsN)
	assert.Less(t, lastDecision, firstResult, "decisions come before results")
}
