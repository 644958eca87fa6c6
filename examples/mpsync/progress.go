package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"mpsync.dev/mpsync/event"
)

// progress shows long work on a terminal: packs downloaded and their bytes
// (counted by a wrapping transport when no proxy is configured), and changes
// applied, pending and failed (from the engine's events). It writes one line
// that it rewrites in place with "\r", and nothing at all when it is off
// (stderr is not a terminal, or --json).
type progress struct {
	w  io.Writer
	on bool

	mu                                      sync.Mutex
	shown                                   bool
	applied, pending, failed, denied, other int
	// total is the number of imports, upgrades and removals the runs
	// planned (event.PlanReady); 0 before a plan is ready.
	total int

	packs atomic.Int64
	bytes atomic.Int64
}

func newProgress(w io.Writer, on bool) *progress { return &progress{w: w, on: on} }

// event is the engine's OnEvent hook.
func (p *progress) event(ev event.Event) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Kind {
	case event.PlanReady:
		if ev.Plan != nil {
			p.total += len(ev.Plan.Actionable())
		}
	case event.ChangeApplied:
		p.applied++
	case event.ApprovalNeeded:
		p.pending++
	case event.ChangeFailed:
		p.failed++
	case event.ChangeDenied:
		p.denied++
	case event.ChangeBlocked:
		p.other++
	default:
		return
	}
	p.drawLocked()
}

// downloaded records one pack body read to its end.
func (p *progress) downloaded(n int64) {
	if !p.on {
		return
	}
	p.packs.Add(1)
	p.bytes.Add(n)
	p.mu.Lock()
	p.drawLocked()
	p.mu.Unlock()
}

func (p *progress) drawLocked() {
	line := fmt.Sprintf("packs downloaded %d (%s), applied %d, pending %d, failed %d",
		p.packs.Load(), humanBytes(p.bytes.Load()), p.applied, p.pending, p.failed)
	if p.total > 0 {
		line = fmt.Sprintf("changes %d/%d; %s", min(p.applied+p.pending+p.failed+p.denied, p.total), p.total, line)
	}
	fmt.Fprintf(p.w, "\r%-78s", line)
	p.shown = true
}

// done ends the progress line so that what follows starts on a fresh line.
func (p *progress) done() {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprintf(p.w, "\r%-78s\r", "")
		p.shown = false
	}
}

// transport wraps base and counts the bytes of pack downloads.
func (p *progress) transport(base http.RoundTripper) http.RoundTripper {
	return &countingTransport{base: base, p: p}
}

type countingTransport struct {
	base http.RoundTripper
	p    *progress
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(r.URL.Path, "/packs/") {
		return resp, err
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, p: t.p}
	return resp, nil
}

type countingBody struct {
	io.ReadCloser
	p    *progress
	n    int64
	done bool
}

func (b *countingBody) Read(buf []byte) (int, error) {
	n, err := b.ReadCloser.Read(buf)
	b.n += int64(n)
	if err == io.EOF && !b.done {
		b.done = true
		b.p.downloaded(b.n)
	}
	return n, err
}

// humanBytes formats n as B, KB, MB or GB (powers of 1024).
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 2; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "KMG"[exp])
}
