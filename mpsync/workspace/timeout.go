package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// The defaults of the time limits on one request (Config.HeaderTimeout,
// IdleTimeout, RequestTimeout).
const (
	// DefaultHeaderTimeout bounds the wait for the response headers.
	DefaultHeaderTimeout = 30 * time.Second
	// DefaultIdleTimeout bounds the wait between two reads of a body that
	// has started: a service that stops sending mid-pack.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultRequestTimeout bounds one attempt whole, body included: a
	// service that drips a byte a second. 15 minutes carries a 64 MiB pack
	// at 75 KB/s.
	DefaultRequestTimeout = 15 * time.Minute
)

// ErrTimeout is matched by a [*TimeoutError].
var ErrTimeout = errors.New("workspace request timed out")

// TimeoutError is a request to the workspace service (or a download
// server) that went past one of its time limits: the service accepted the
// connection and then stalled. Like a network error, it is retried up to
// Config.RetryMax; the last one is what the caller sees, inside an
// [*HTTPError] for the catalog or a [*PackError] for a pack.
type TimeoutError struct {
	// Method and URL name the request (the URL without user information or
	// query).
	Method, URL string
	// What timed out: "response headers", "the body (no data)" or "the
	// whole request".
	What string
	// After is the limit that ran out, and Setting the Config field that
	// sets it.
	After   time.Duration
	Setting string
}

// Error names the request, what it waited for and for how long.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s %s: %s not received within %s (Config.%s)", e.Method, e.URL, e.What, e.After, e.Setting)
}

// Timeout reports true, as net.Error does for a timeout.
func (e *TimeoutError) Timeout() bool { return true }

// Is reports whether target is [ErrTimeout].
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// stallGuard puts the time limits on every request it sends: no service,
// proxy or download server can hold a run by accepting a connection and
// then sending nothing, or sending a byte now and then. It wraps any
// transport, the caller's included, so the limits hold whatever sends the
// bytes.
type stallGuard struct {
	next                http.RoundTripper
	header, idle, total time.Duration
	redact              func(*http.Request) string
}

func (g *stallGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	timeout := func(what, setting string, d time.Duration) func() {
		return func() {
			cancel(&TimeoutError{Method: req.Method, URL: g.redact(req), What: what, After: d, Setting: setting})
		}
	}
	total := time.AfterFunc(g.total, timeout("the whole request", "RequestTimeout", g.total))
	header := time.AfterFunc(g.header, timeout("response headers", "HeaderTimeout", g.header))
	resp, err := g.next.RoundTrip(req.WithContext(ctx))
	if !header.Stop() && err == nil {
		// The limit ran out as the headers arrived: the request's context
		// is already cancelled, so report the timeout, not a broken body.
		resp.Body.Close()
		err = context.Cause(ctx)
	}
	if err != nil {
		total.Stop()
		err = causeOr(ctx, err)
		cancel(nil)
		return nil, err
	}
	b := &guardedBody{rc: resp.Body, ctx: ctx, cancel: cancel, total: total, idleFor: g.idle}
	b.idle = time.AfterFunc(g.idle, timeout("the body (no data)", "IdleTimeout", g.idle))
	b.idle.Stop() // armed only while a Read waits: a slow reader is not the service's fault
	resp.Body = b
	return resp, nil
}

// causeOr returns the timeout that cancelled ctx, if one did, else err.
func causeOr(ctx context.Context, err error) error {
	var te *TimeoutError
	if cause := context.Cause(ctx); errors.As(cause, &te) {
		return te
	}
	return err
}

// guardedBody runs the idle limit while a read waits and releases the
// request's timers and context when closed.
type guardedBody struct {
	rc          io.ReadCloser
	ctx         context.Context
	cancel      context.CancelCauseFunc
	total, idle *time.Timer
	idleFor     time.Duration
	once        sync.Once
	closed      atomic.Bool
}

func (b *guardedBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return b.rc.Read(p) // the body's own error for a read after Close
	}
	b.idle.Reset(b.idleFor)
	n, err := b.rc.Read(p)
	b.idle.Stop()
	if err != nil && err != io.EOF {
		err = causeOr(b.ctx, err)
	}
	return n, err
}

func (b *guardedBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() {
		b.closed.Store(true)
		b.idle.Stop()
		b.total.Stop()
		b.cancel(nil)
	})
	return err
}
