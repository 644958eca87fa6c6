package mpsync

import (
	"time"

	"mpsync.dev/mpsync/event"
)

// sinceText formats a time for messages.
func sinceText(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// emit stamps ev with the engine's clock and hands it to Options.OnEvent.
func (e *Engine) emit(ev event.Event) {
	if ev.Time.IsZero() {
		ev.Time = e.clock.Now()
	}
	if e.onEvent == nil {
		return
	}
	// A panicking hook (a metrics exporter's bug) must not take down a
	// run, nor the scheduler's goroutine and with it the process.
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("Options.OnEvent panicked; the event is dropped", "kind", ev.Kind, "panic", p)
		}
	}()
	e.onEvent(ev)
}
