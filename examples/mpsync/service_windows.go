//go:build windows

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
)

// runService runs the command line as a Windows service when the service
// control manager started the process, and reports whether it did: the
// command runs under serveService, its stderr goes to the Application
// event log (source mpsync) and its exit code becomes the service's.
func runService(args []string) (code int, ok bool) {
	is, err := svc.IsWindowsService()
	if err != nil || !is {
		return 0, false
	}
	var emit func(level eventLevel, line string)
	if elog, err := eventlog.Open(serviceName); err == nil {
		defer elog.Close()
		emit = func(level eventLevel, line string) {
			switch level {
			case eventError:
				elog.Error(1, line)
			case eventWarning:
				elog.Warning(2, line)
			default:
				elog.Info(3, line)
			}
		}
	} else {
		emit = func(eventLevel, string) {} // no event log: the service still runs
	}
	h := &serviceHandler{args: args, stderr: &eventLines{emit: emit}}
	if err := svc.Run(serviceName, h); err != nil {
		emit(eventError, fmt.Sprintf("%s: service: %v", programName, err))
		return exitFailed, true
	}
	return h.code, true
}

// serviceHandler is the svc.Handler of the command.
type serviceHandler struct {
	args   []string
	stderr *eventLines
	code   int
}

// Execute runs the command until it ends or the service is stopped.
func (h *serviceHandler) Execute(_ []string, r <-chan svc.ChangeRequest, s chan<- svc.Status) (bool, uint32) {
	requests := make(chan serviceCmd)
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		for {
			select {
			case c := <-r:
				cmd := svcOther
				switch c.Cmd {
				case svc.Interrogate:
					cmd = svcInterrogate
				case svc.Stop:
					cmd = svcStop
				case svc.Shutdown:
					cmd = svcShutdown
				}
				select {
				case requests <- cmd:
				case <-quit:
					return
				}
			case <-quit:
				return
			}
		}
	}()
	report := func(st serviceStatus) {
		out := svc.Status{CheckPoint: st.checkpoint, WaitHint: uint32(st.waitHint / time.Millisecond)}
		switch st.state {
		case stateStartPending:
			out.State = svc.StartPending
		case stateRunning:
			out.State = svc.Running
		case stateStopPending:
			out.State = svc.StopPending
		}
		if st.acceptStop {
			out.Accepts = svc.AcceptStop | svc.AcceptShutdown
		}
		s <- out
	}
	h.code = serveService(requests, report, serviceStopHint, func(ctx context.Context) int {
		defer h.stderr.flush()
		return run(ctx, h.args, io.Discard, h.stderr, os.Getenv, false)
	})
	return h.code != 0, uint32(h.code)
}
