package mpsync_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/plan"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/workspace"
	"mpsync.dev/rules"
)

// syncLog collects a client's log as text.
type syncLog struct {
	mu sync.Mutex
	sb strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sb.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sb.String()
}

// streamRig is a rig whose client logs at Debug and whose approver defers
// every change until approve is set: the first run plans (downloading every
// pack to read its manifest) and applies nothing; the next one finds the
// manifests cached and fetches each pack again when it applies it.
func streamRig(t *testing.T) (*rig, *syncLog, *atomic.Bool) {
	t.Helper()
	r := &rig{srv: newServer(t), store: store.NewMemory(), clock: mpsynctest.NewManualClock(t0)}
	var log syncLog
	cfg := r.srv.ClientConfig()
	cfg.RetryMax, cfg.RetryWaitMin, cfg.RetryWaitMax = 1, time.Millisecond, 2*time.Millisecond
	cfg.TempDir = t.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := workspace.New(cfg)
	require.NoError(t, err)
	r.client = c
	var approve atomic.Bool
	ap := approval.ApproverFunc(func(_ context.Context, req approval.Request) (approval.Decision, error) {
		if approve.Load() {
			return approval.Decision{Verdict: plan.Approve, By: "test"}, nil
		}
		return approval.Decision{Verdict: plan.Defer, By: "test", Reason: "not yet"}, nil
	})
	r.engine = r.newEngine(t, r.store, &mpsync.Options{Approver: ap})
	return r, &log, &approve
}

// TestApplyStreamsAPackNotKeptFromPlanning: a change applied in a later
// run than the one that planned it is fetched with FetchStream, the body
// going straight into the store's Import (one pass: no temporary file,
// nothing read twice), and imported as Fetch's file would be.
func TestApplyStreamsAPackNotKeptFromPlanning(t *testing.T) {
	r, log, approve := streamRig(t)
	rep := r.sync(t, rules.MPUpdate)
	require.NotEmpty(t, rep.Pending())
	assert.Empty(t, r.versions(t))
	assert.NotContains(t, log.String(), "pack streamed", "planning downloads with Fetch")

	approve.Store(true)
	r.srv.ResetStats()
	first := len(log.String())
	rep = r.sync(t, rules.MPUpdate)
	second := log.String()[first:]
	require.Empty(t, rep.Failed(), "%v", rep.Err())
	want := map[string]string{advisorID: "7.1.10226.1239", internalID: "7.1.10226.1239"}
	assert.Equal(t, want, r.versions(t))
	assert.Equal(t, 2, r.srv.Stats().PackRequests, "each pack downloaded once, as it is imported")
	assert.Equal(t, 2, strings.Count(second, "pack streamed"), "both packs streamed:\n%s", second)
	assert.NotContains(t, second, "pack fetched", "no temporary file")
}

// TestApplyStreamFailureIsTheDownloads: a streamed body that the network
// cuts off every time fails the change at the "download" step with the
// workspace's error, as Fetch would have, and the store is unchanged.
func TestApplyStreamFailureIsTheDownloads(t *testing.T) {
	r, _, approve := streamRig(t)
	r.sync(t, rules.MPUpdate)
	approve.Store(true)
	r.srv.Fail(internalID, mpsynctest.Fault{Drop: true, DropAfter: 300})
	rep := r.sync(t, rules.MPUpdate)
	require.Len(t, rep.Failed(), 1)
	o := rep.Failed()[0]
	assert.Equal(t, internalID, o.Pack)
	var ce *mpsync.ChangeError
	require.ErrorAs(t, o.Err, &ce)
	assert.Equal(t, "download", ce.Step)
	assert.ErrorIs(t, o.Err, workspace.ErrUnavailable)
	assert.Equal(t, map[string]string{advisorID: "7.1.10226.1239"}, r.versions(t))
}
