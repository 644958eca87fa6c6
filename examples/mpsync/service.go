package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"time"
)

// The platform-independent part of running as a Windows service
// (service_windows.go): the control loop that turns the service control
// manager's requests into the command's context and reports the service's
// state, and the writer that turns the command's stderr into event log
// entries. Both run on every system, so their tests do.

// serviceName is the name the service is registered under (sc.exe create
// mpsync ...) and the event log source it writes as.
const serviceName = "mpsync"

// serviceCmd is a request of the service control manager.
type serviceCmd int

const (
	svcInterrogate serviceCmd = iota // report the current status again
	svcStop                          // Stop: sc.exe stop, Stop-Service, the Services console
	svcShutdown                      // the system shuts down
	svcOther                         // a request the service does not accept
)

// serviceState is a state the service reports.
type serviceState int

const (
	stateStartPending serviceState = iota
	stateRunning
	stateStopPending
)

// String names the state as the Services console does.
func (s serviceState) String() string {
	switch s {
	case stateStartPending:
		return "StartPending"
	case stateRunning:
		return "Running"
	case stateStopPending:
		return "StopPending"
	}
	return "unknown"
}

// serviceStatus is one status report: the state, whether Stop and Shutdown
// are accepted (only while running), and, while pending, a checkpoint that
// grows while the service makes progress and the time the next report is
// due at the latest.
type serviceStatus struct {
	state      serviceState
	acceptStop bool
	checkpoint uint32
	waitHint   time.Duration
}

// serviceStopHint is how long the control manager is told a stop may take
// before the next report; the control loop reports again every third of
// it while the command finishes the run in progress.
const serviceStopHint = 30 * time.Second

// serveService runs body, the command, under the service control loop. It
// reports StartPending, then Running (accepting Stop and Shutdown) once body
// runs; Interrogate repeats the current status; Stop and Shutdown report
// StopPending and cancel body's context, as SIGINT and SIGTERM do on other
// systems, and the loop keeps reporting StopPending with a growing
// checkpoint (every stopHint/3) until body returns. It returns body's exit
// code, whether body ended by itself (a disconnected store exits 1) or was
// stopped. Requests after body returned are not read.
func serveService(requests <-chan serviceCmd, report func(serviceStatus), stopHint time.Duration, body func(ctx context.Context) int) int {
	report(serviceStatus{state: stateStartPending, waitHint: stopHint})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- body(ctx) }()
	current := serviceStatus{state: stateRunning, acceptStop: true}
	report(current)

	var tick <-chan time.Time
	var ticker *time.Ticker
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	for {
		select {
		case code := <-done:
			return code
		case req := <-requests:
			switch req {
			case svcInterrogate:
				report(current)
			case svcStop, svcShutdown:
				if current.state == stateStopPending {
					report(current) // stopping already
					continue
				}
				current = serviceStatus{state: stateStopPending, checkpoint: 1, waitHint: stopHint}
				report(current)
				cancel()
				ticker = time.NewTicker(stopHint / 3)
				tick = ticker.C
			}
		case <-tick:
			current.checkpoint++
			report(current)
		}
	}
}

// eventLevel is the type of an event log entry.
type eventLevel int

const (
	eventInfo eventLevel = iota
	eventWarning
	eventError
)

// eventLines is an io.Writer that hands each line written to it to emit, as
// an event log entry of the level the line shows: slog's level=WARN and
// level=ERROR records, and the command's one-line error reports ("mpsync
// run: ..."), which are errors. A line is emitted once its newline arrives;
// flush emits what is left.
type eventLines struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	emit func(level eventLevel, line string)
}

func (w *eventLines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			// No newline yet: keep the start of the line for the next write.
			rest := []byte(line)
			w.buf.Reset()
			w.buf.Write(rest)
			return len(p), nil
		}
		w.send(strings.TrimRight(line, "\r\n"))
	}
}

// flush emits a last line that had no newline.
func (w *eventLines) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.send(w.buf.String())
		w.buf.Reset()
	}
}

func (w *eventLines) send(line string) {
	if strings.TrimSpace(line) == "" {
		return
	}
	w.emit(lineLevel(line), line)
}

// lineLevel is the event log level of one line of the command's stderr.
func lineLevel(line string) eventLevel {
	switch {
	case strings.Contains(line, " level=ERROR "), strings.HasPrefix(line, programName+" ") || strings.HasPrefix(line, programName+":"):
		return eventError
	case strings.Contains(line, " level=WARN "):
		return eventWarning
	}
	return eventInfo
}
