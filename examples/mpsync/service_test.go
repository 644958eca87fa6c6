package main

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// statusLog collects what serveService reports, as the service control
// manager would see it.
type statusLog struct {
	mu  sync.Mutex
	got []serviceStatus
	ch  chan serviceStatus
}

func newStatusLog() *statusLog { return &statusLog{ch: make(chan serviceStatus, 100)} }

func (l *statusLog) report(s serviceStatus) {
	l.mu.Lock()
	l.got = append(l.got, s)
	l.mu.Unlock()
	l.ch <- s
}

// next waits for the next report.
func (l *statusLog) next(t *testing.T) serviceStatus {
	t.Helper()
	select {
	case s := <-l.ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no status report")
		return serviceStatus{}
	}
}

func TestServiceStopCancelsTheCommand(t *testing.T) {
	for _, stop := range []serviceCmd{svcStop, svcShutdown} {
		requests := make(chan serviceCmd)
		log := newStatusLog()
		running := make(chan struct{})
		release := make(chan struct{})
		var cancelled bool
		result := make(chan int, 1)
		go func() {
			result <- serveService(requests, log.report, 30*time.Millisecond, func(ctx context.Context) int {
				close(running)
				<-ctx.Done()
				cancelled = true
				<-release // the run in progress finishes
				return exitOK
			})
		}()
		assert.Equal(t, serviceStatus{state: stateStartPending, waitHint: 30 * time.Millisecond}, log.next(t))
		assert.Equal(t, serviceStatus{state: stateRunning, acceptStop: true}, log.next(t))
		<-running

		requests <- svcOther // not accepted: nothing happens
		requests <- svcInterrogate
		assert.Equal(t, serviceStatus{state: stateRunning, acceptStop: true}, log.next(t), "Interrogate repeats the status")

		requests <- stop
		st := log.next(t)
		assert.Equal(t, stateStopPending, st.state)
		assert.False(t, st.acceptStop, "a stopping service accepts no second stop")
		assert.Equal(t, uint32(1), st.checkpoint)
		assert.Equal(t, 30*time.Millisecond, st.waitHint)

		// While the command finishes its run, the checkpoint grows.
		assert.Equal(t, uint32(2), log.next(t).checkpoint)
		assert.Equal(t, uint32(3), log.next(t).checkpoint)
		requests <- stop
		assert.Equal(t, stateStopPending, log.next(t).state, "a second stop only reports again")
		close(release)
		select {
		case code := <-result:
			assert.Equal(t, exitOK, code)
		case <-time.After(10 * time.Second):
			t.Fatal("serveService did not return after the command stopped")
		}
		assert.True(t, cancelled, "Stop cancels the command's context (%v)", stop)
	}
}

func TestServiceCommandEndsByItself(t *testing.T) {
	requests := make(chan serviceCmd)
	log := newStatusLog()
	code := serveService(requests, log.report, time.Second, func(ctx context.Context) int {
		return exitFailed // e.g. the store is disconnected
	})
	assert.Equal(t, exitFailed, code, "the command's exit code is the service's")
	require.Len(t, log.got, 2)
	assert.Equal(t, stateStartPending, log.got[0].state)
	assert.Equal(t, stateRunning, log.got[1].state)
}

func TestEventLines(t *testing.T) {
	type entry struct {
		level eventLevel
		line  string
	}
	var got []entry
	w := &eventLines{emit: func(l eventLevel, s string) { got = append(got, entry{l, s}) }}
	for _, chunk := range []string{
		`time=2026-12-02T10:00:00Z level=INFO msg="engine event" event=run-started` + "\n",
		`time=2026-12-02T10:00:01Z level=WARN msg="engine ev`, `ent" event=run-finished err=boom` + "\r\n\n",
		`time=2026-12-02T10:00:02Z level=ERROR msg="lease lost"` + "\n",
		"mpsync run: store is disconnected; nothing was changed\n",
		"no newline at the end",
	} {
		n, err := w.Write([]byte(chunk))
		require.NoError(t, err)
		assert.Equal(t, len(chunk), n)
	}
	require.Len(t, got, 4, "a line is emitted once its newline arrives; empty lines are dropped")
	w.flush()
	assert.Equal(t, []entry{
		{eventInfo, `time=2026-12-02T10:00:00Z level=INFO msg="engine event" event=run-started`},
		{eventWarning, `time=2026-12-02T10:00:01Z level=WARN msg="engine event" event=run-finished err=boom`},
		{eventError, `time=2026-12-02T10:00:02Z level=ERROR msg="lease lost"`},
		{eventError, "mpsync run: store is disconnected; nothing was changed"},
		{eventInfo, "no newline at the end"},
	}, got)
	w.flush()
	assert.Len(t, got, 5, "flush emits nothing more")
}

// TestServiceRunsTheCommand runs the real command under the control loop:
// a Stop ends "mpsync run" as SIGINT does, with exit code 0.
func TestServiceRunsTheCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	requests := make(chan serviceCmd)
	log := newStatusLog()
	finished := make(chan struct{}, 2)
	stderr := &eventLines{emit: func(_ eventLevel, line string) {
		if strings.Contains(line, "event=run-finished") {
			select {
			case finished <- struct{}{}:
			default:
			}
		}
	}}
	result := make(chan int, 1)
	go func() {
		result <- serveService(requests, log.report, serviceStopHint, func(ctx context.Context) int {
			return run(ctx, f.args("run"), io.Discard, stderr, noEnv, false)
		})
	}()
	for range 2 {
		select {
		case <-finished:
		case <-time.After(30 * time.Second):
			t.Fatal("the rules did not run")
		}
	}
	requests <- svcStop
	select {
	case code := <-result:
		assert.Equal(t, exitOK, code)
	case <-time.After(30 * time.Second):
		t.Fatal("the command did not stop")
	}
	assert.Len(t, f.packs(t), 6, "the scheduler ran the rules before it stopped")
}
