package approval

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"mpsync.dev/mpsync/plan"

	"github.com/robfig/cron/v3"
)

// SearchHorizon is how far ahead [Window.NextOpen] looks for the next
// allowed moment before it gives up and returns the zero time.
const SearchHorizon = 400 * 24 * time.Hour

// maxSearchSteps bounds the work of one NextOpen call whatever the
// expressions are (a window every minute denied every minute).
const maxSearchSteps = 100_000

// Span is a recurring stretch of time: it begins at every activation of a
// cron expression and lasts a fixed duration. The expression is read by
// robfig/cron's standard parser: five fields (minute hour day-of-month month
// day-of-week) or a descriptor (@yearly, @monthly, @weekly, @daily,
// @hourly); "@every" is refused because it has no fixed start. Activations
// are computed in the span's time zone, so "0 2 * * SAT" in Europe/Berlin
// means 02:00 Berlin wall-clock time in summer and in winter.
//
// The duration is elapsed time, not wall-clock time: a 4h span that starts
// at 01:00 on the night clocks go back ends at 04:00 by the clock (after
// five wall-clock hours). An activation in a wall-clock hour that does not
// exist (clocks going forward) is skipped, as robfig/cron skips it.
type Span struct {
	expr  string
	d     time.Duration
	loc   *time.Location
	sched cron.Schedule
}

// NewSpan returns the span that begins at every activation of expr in loc
// and lasts d. A nil loc means UTC, unless expr starts with "CRON_TZ=<zone>"
// (or "TZ="), which then names the zone; giving both is an error. It returns
// an error wrapping [ErrInvalid] for a bad expression or a duration ≤ 0.
func NewSpan(expr string, d time.Duration, loc *time.Location) (Span, error) {
	expr = strings.TrimSpace(expr)
	if d <= 0 {
		return Span{}, fmt.Errorf("approval: window %q: %w: duration %v must be positive", expr, ErrInvalid, d)
	}
	hasTZ := strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=")
	if hasTZ && loc != nil {
		return Span{}, fmt.Errorf("approval: window %q: %w: time zone given twice (in the expression and as %s)", expr, ErrInvalid, loc)
	}
	if hasTZ && !strings.Contains(expr, " ") {
		// robfig/cron v3.0.1 panics on a zone prefix with nothing after it
		// (robfig/cron#554, unfixed upstream); found by FuzzParseSpan.
		return Span{}, fmt.Errorf("approval: window %q: %w: a time zone prefix needs a schedule after it (\"TZ=Europe/Berlin 0 2 * * SAT\")", expr, ErrInvalid)
	}
	sched, err := parseCron(expr)
	if err != nil {
		return Span{}, fmt.Errorf("approval: window %q: %w: %v", expr, ErrInvalid, err)
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return Span{}, fmt.Errorf("approval: window %q: %w: @every has no fixed start; use a cron expression", expr, ErrInvalid)
	}
	if !hasTZ {
		if loc == nil {
			loc = time.UTC
		}
		spec.Location = loc
	}
	// Refuse expressions that never fire (such as February 30th).
	if spec.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return Span{}, fmt.Errorf("approval: window %q: %w: the expression never fires", expr, ErrInvalid)
	}
	return Span{expr: expr, d: d, loc: spec.Location, sched: spec}, nil
}

// parseCron is cron.ParseStandard, with a panic of the parser (it has had
// several on malformed input) turned into an error.
func parseCron(expr string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("the cron parser failed on it: %v", r)
		}
	}()
	return cron.ParseStandard(expr)
}

// ParseSpan is [NewSpan] with the time zone given by name ("Europe/Berlin",
// "UTC", "Local"); an empty name means UTC unless expr names a zone.
func ParseSpan(expr string, d time.Duration, zone string) (Span, error) {
	loc, err := loadZone(zone)
	if err != nil {
		return Span{}, fmt.Errorf("approval: window %q: %w", expr, err)
	}
	return NewSpan(expr, d, loc)
}

func loadZone(zone string) (*time.Location, error) {
	if zone == "" {
		return nil, nil
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("%w: unknown time zone %q: %v", ErrInvalid, zone, err)
	}
	return loc, nil
}

// Expr returns the cron expression as given.
func (s Span) Expr() string { return s.expr }

// Duration returns how long each stretch lasts.
func (s Span) Duration() time.Duration { return s.d }

// Location returns the zone activations are computed in.
func (s Span) Location() *time.Location { return s.loc }

// String returns the span as `"<expr>" for <duration> (<zone>)`.
func (s Span) String() string {
	return fmt.Sprintf("%q for %v (%s)", s.expr, s.d, s.loc)
}

// Contains reports whether t falls in a stretch: an activation a with
// a <= t < a+duration. Activations are whole seconds.
func (s Span) Contains(t time.Time) bool {
	if s.sched == nil {
		return false
	}
	// Next returns the first activation strictly after its argument.
	a := s.sched.Next(t.Add(-s.d).In(s.loc))
	return !a.IsZero() && !a.After(t)
}

// coverEnd returns the end of the latest stretch that contains t, or the
// zero time when none does.
func (s Span) coverEnd(t time.Time) time.Time {
	var last time.Time
	for a := s.sched.Next(t.Add(-s.d).In(s.loc)); !a.IsZero() && !a.After(t); a = s.sched.Next(a) {
		last = a
	}
	if last.IsZero() {
		return last
	}
	return last.Add(s.d)
}

// Window is an approver that approves changes only inside allowed windows
// and outside denied ones; deny wins where they overlap. Outside, it defers
// with NotBefore set to the next moment that is inside an allow window and
// not inside a deny window ([Window.NextOpen]). A Window is immutable and
// safe for concurrent use.
type Window struct {
	allow []Span
	deny  []Span

	// memo keeps the last NextOpen answer: the engine asks once per change
	// of a run with the same clock reading, and a search through dense deny
	// spans can take a while.
	memo struct {
		sync.Mutex
		now, next time.Time
		ok        bool
	}
}

// NewWindow returns a window approver. With no allow spans every moment
// outside the deny spans is allowed (a "freeze on Fridays" policy); with
// neither it returns an error wrapping [ErrInvalid]. Spans must come from
// [NewSpan] or [ParseSpan].
func NewWindow(allow, deny []Span) (*Window, error) {
	if len(allow) == 0 && len(deny) == 0 {
		return nil, fmt.Errorf("approval: window: %w: no allow or deny span", ErrInvalid)
	}
	for i, s := range append(append([]Span(nil), allow...), deny...) {
		if s.sched == nil {
			return nil, fmt.Errorf("approval: window: %w: span %d is the zero Span; build spans with NewSpan", ErrInvalid, i+1)
		}
	}
	return &Window{allow: append([]Span(nil), allow...), deny: append([]Span(nil), deny...)}, nil
}

// ParseWindow returns a window approver with one allow span:
// ParseWindow("0 2 * * SAT", 4*time.Hour, "Europe/Berlin") allows changes on
// Saturdays from 02:00 to 06:00 Berlin time.
func ParseWindow(expr string, d time.Duration, zone string) (*Window, error) {
	s, err := ParseSpan(expr, d, zone)
	if err != nil {
		return nil, err
	}
	return NewWindow([]Span{s}, nil)
}

// Allow returns the window's allow spans.
func (w *Window) Allow() []Span { return append([]Span(nil), w.allow...) }

// Deny returns the window's deny spans.
func (w *Window) Deny() []Span { return append([]Span(nil), w.deny...) }

// String names the window by its spans; it is the Decision.By of its
// decisions.
func (w *Window) String() string {
	var parts []string
	for _, s := range w.allow {
		parts = append(parts, "allow "+s.String())
	}
	for _, s := range w.deny {
		parts = append(parts, "deny "+s.String())
	}
	return "window(" + strings.Join(parts, ", ") + ")"
}

// Open reports whether changes may be applied at t.
func (w *Window) Open(t time.Time) bool {
	return w.inAllow(t) && w.denyEnd(t).IsZero()
}

func (w *Window) inAllow(t time.Time) bool {
	if len(w.allow) == 0 {
		return true
	}
	for _, s := range w.allow {
		if s.Contains(t) {
			return true
		}
	}
	return false
}

// denyEnd returns when the deny stretches that contain t end (the latest),
// or the zero time when t is not denied.
func (w *Window) denyEnd(t time.Time) time.Time {
	var end time.Time
	for _, s := range w.deny {
		if e := s.coverEnd(t); e.After(end) {
			end = e
		}
	}
	return end
}

// nextAllowStart returns the first allow activation after t, or zero.
func (w *Window) nextAllowStart(t time.Time) time.Time {
	var next time.Time
	for _, s := range w.allow {
		if a := s.sched.Next(t.In(s.loc)); !a.IsZero() && (next.IsZero() || a.Before(next)) {
			next = a
		}
	}
	return next
}

// NextOpen returns the first moment at or after now at which changes may be
// applied: now itself when the window is open, otherwise the start of the
// next allow stretch, or the end of a deny stretch inside an allow stretch,
// whichever comes first and is not denied. It returns the zero time when no
// such moment lies within [SearchHorizon]. The result is in now's location.
func (w *Window) NextOpen(now time.Time) time.Time {
	w.memo.Lock()
	defer w.memo.Unlock()
	if w.memo.ok && w.memo.now.Equal(now) {
		return w.memo.next.In(now.Location())
	}
	next := w.nextOpen(now)
	w.memo.now, w.memo.next, w.memo.ok = now, next, true
	return next
}

func (w *Window) nextOpen(now time.Time) time.Time {
	limit := now.Add(SearchHorizon)
	t := now
	for range maxSearchSteps {
		if t.After(limit) {
			return time.Time{}
		}
		if !w.inAllow(t) {
			if t = w.nextAllowStart(t); t.IsZero() {
				return time.Time{}
			}
			continue
		}
		end := w.denyEnd(t)
		if end.IsZero() {
			return t.In(now.Location())
		}
		t = end
	}
	return time.Time{}
}

// Decide approves when req.Now is inside the window and defers otherwise,
// with NotBefore set to [Window.NextOpen] (or, when it finds no opening
// within [SearchHorizon], to req.Now plus the horizon). The verdict depends
// only on req.Now and the change is not looked at.
func (w *Window) Decide(_ context.Context, req Request) (Decision, error) {
	by := w.String()
	if w.Open(req.Now) {
		return Decision{Verdict: plan.Approve, By: by, Reason: "inside the change window"}, nil
	}
	why := "outside the allowed change windows"
	if w.inAllow(req.Now) {
		why = "inside a denied change window"
	}
	next := w.NextOpen(req.Now)
	if next.IsZero() {
		// Look again once the horizon has moved: a window that opens
		// rarely (29 February) comes within it one day, and an engine
		// reusing its plan asks again only at NotBefore.
		return Decision{Verdict: plan.Defer, By: by, NotBefore: req.Now.Add(SearchHorizon),
			Reason: fmt.Sprintf("%s; no allowed moment within %v", why, SearchHorizon)}, nil
	}
	return Decision{Verdict: plan.Defer, By: by, NotBefore: next,
		Reason: fmt.Sprintf("%s; next opens at %s", why, next.In(w.zone()).Format(time.RFC3339))}, nil
}

// zone is the location the window's reasons are written in: its first
// span's.
func (w *Window) zone() *time.Location {
	if len(w.allow) > 0 {
		return w.allow[0].loc
	}
	return w.deny[0].loc
}
