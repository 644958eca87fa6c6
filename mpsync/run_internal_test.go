package mpsync

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/plan"
)

// downWorkspace fails every download as unavailable and counts them by host.
type downWorkspace struct {
	mu     sync.Mutex
	byHost map[string]int
}

func (*downWorkspace) ID() string { return "ws" }

func (*downWorkspace) Catalog(context.Context) (CatalogResult, error) {
	return CatalogResult{}, fmt.Errorf("not used")
}

func (d *downWorkspace) Fetch(_ context.Context, p catalog.Pack) (io.ReadCloser, error) {
	u, _ := url.Parse(p.Href)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byHost[u.Host]++
	return nil, fmt.Errorf("pack %s: %w", p.ID, ErrUnavailable)
}

// probeStale on a stale run: packs of the failed service (no host in the
// href) are not tried; of each other host one pack is, and when it is
// unavailable the rest of that host's packs are not (a review found one
// probe deciding for every host, and "//cdn/x" taken for the service's).
func TestProbeStaleOnePackPerHost(t *testing.T) {
	ws := &downWorkspace{byHost: map[string]int{}}
	e := &Engine{}
	run := &runState{ws: ws, fetched: map[string]io.ReadCloser{}}
	var todo []catalog.Pack
	add := func(id, href string) {
		todo = append(todo, catalog.Pack{ID: id, SHA256: strings.Repeat("0", 63) + fmt.Sprint(len(todo)), Href: href})
	}
	add("S1", "packs/S1/1.0.0.0")
	add("S2", "/workspaces/ws/packs/S2/1.0.0.0")
	add("A1", "https://a.example/packs/A1")
	add("A2", "https://a.example/packs/A2")
	add("A3", "https://a.example/packs/A3")
	add("B1", "//b.example/packs/B1")
	add("B2", "//b.example/packs/B2")
	add("C1", "https://c.example/packs/C1")
	out := map[string]plan.ManifestResult{}
	left := e.probeStale(context.Background(), run, todo, out)

	assert.Equal(t, map[string]int{"a.example": 1, "b.example": 1}, ws.byHost, "one probe per host with more than one pack")
	var leftIDs []string
	for _, p := range left {
		leftIDs = append(leftIDs, p.ID)
	}
	assert.Equal(t, []string{"C1"}, leftIDs, "a host's only pack is left to the normal download")
	untried := 0
	for _, mr := range out {
		if mr.Err != nil && strings.Contains(mr.Err.Error(), "not downloaded") {
			untried++
		}
	}
	assert.Equal(t, 5, untried, "S1, S2, A2, A3, B2")
	assert.Len(t, out, 7)
}
