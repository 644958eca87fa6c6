package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"mpsync.dev/mpsync/status"

	"github.com/hashicorp/go-retryablehttp"

	"mpsync.dev/internal/safetext"
	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/catalog"
)

var (
	_ mpsync.Workspace     = (*Client)(nil)
	_ mpsync.ProxyReporter = (*Client)(nil)
)

// Client speaks docs/protocol.md to one workspace. It is safe for concurrent use.
// Create it with [New].
type Client struct {
	s      *settings
	log    *slog.Logger
	rc     *retryablehttp.Client
	scrub  scrubber
	fetchM sync.Mutex // serialises Catalog calls

	mu   sync.Mutex
	held *heldCatalog
}

// heldCatalog is the last good catalog, as kept in memory and in CacheDir.
type heldCatalog struct {
	cat       *catalog.Catalog
	etag      string
	fetchedAt time.Time
}

// New validates cfg, applies its defaults and returns a client. It reads
// the cached catalog from cfg.CacheDir when one is there (a cache that does
// not load is logged and ignored); it sends no request.
func New(cfg Config) (*Client, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	c := &Client{s: s}
	pairs := make([]string, 0, 2*len(s.secrets))
	for _, sec := range s.secrets {
		pairs = append(pairs, sec, "[REDACTED]")
	}
	c.scrub = scrubber{strings.NewReplacer(pairs...)}
	h := slog.Handler(slog.DiscardHandler)
	if s.Logger != nil {
		h = s.Logger.Handler()
	}
	c.log = slog.New(&scrubHandler{h: h, c: c}).With("workspace", s.WorkspaceID)

	base := s.Transport
	if base == nil {
		base = s.newTransport()
	}
	rc := retryablehttp.NewClient()
	guard := &stallGuard{next: base, header: s.HeaderTimeout, idle: s.IdleTimeout, total: s.RequestTimeout,
		redact: func(r *http.Request) string { return redactURL(r.URL) }}
	rc.HTTPClient = &http.Client{
		Transport: &signer{next: guard, s: s},
		// A redirect would carry the signature elsewhere; refuse it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	rc.Logger = leveled{c.log}
	rc.RetryMax = s.RetryMax
	rc.RetryWaitMin = s.RetryWaitMin
	rc.RetryWaitMax = s.RetryWaitMax
	rc.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if retryable(resp) {
			if d, ok := retryAfter(resp.Header.Get("Retry-After"), s.Now()); ok && d > s.MaxRetryAfter {
				return false, nil // give up now: the service is unavailable for longer than we wait
			}
		}
		return checkRetry(ctx, resp, err)
	}
	rc.Backoff = c.backoff
	rc.ErrorHandler = c.giveUp
	c.rc = rc

	if s.CacheDir != "" {
		h, err := c.loadCache()
		switch {
		case err != nil:
			c.log.Warn("ignoring cached catalog", "dir", s.CacheDir, "error", err)
		case h != nil:
			c.held = h
			c.log.Debug("loaded cached catalog", "serial", h.cat.Serial, "etag", h.etag, "fetchedAt", h.fetchedAt)
		}
	}
	return c, nil
}

// ID returns the workspace id.
func (c *Client) ID() string { return c.s.WorkspaceID }

// ProxyInfo returns the proxy of Config.Proxy and Config.ProxyUser (never
// the password), the zero status.Proxy when the client uses no proxy; ok is
// false when Config.Transport was given, since the client cannot tell where
// that transport sends its requests. It implements [mpsync.ProxyReporter],
// so an engine over this client checks the proxy minimum of the version
// requirement without a second setting.
func (c *Client) ProxyInfo() (p status.Proxy, ok bool) {
	if c.s.Transport != nil {
		return status.Proxy{}, false
	}
	return status.Proxy{URL: c.s.Proxy, User: c.s.ProxyUser}, true
}

// CatalogURL returns the URL the catalog is requested from.
func (c *Client) CatalogURL() string { return c.s.catalog.String() }

// Held returns the catalog the client holds (from the last successful
// request or the cache), its ETag and when the service last confirmed it;
// ok is false when it holds none.
func (c *Client) Held() (cat *catalog.Catalog, etag string, fetchedAt time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held == nil {
		return nil, "", time.Time{}, false
	}
	return c.held.cat, c.held.etag, c.held.fetchedAt, true
}

// Catalog requests the catalog, conditionally when one is held.
//
//   - 200: the body is decoded and validated whole (catalog.Decode), its
//     workspaceId must be this client's and its serial must not be lower than
//     the held one (unless AcceptLowerSerial). It then replaces the held
//     catalog and the cache. An invalid catalog is an error wrapping
//     ErrInvalidCatalog or ErrSerialRegressed and changes nothing.
//   - 304: the held catalog is returned without being parsed again, with
//     NotModified set; the cache file is not rewritten.
//   - the service unreachable (network errors, 429 or 5xx after retries):
//     with a held catalog, it is returned with Stale, FetchedAt and Err set
//     and a nil error; with none, the [*HTTPError] (ErrUnavailable).
//   - 401/403/404 and other 4xx: an [*HTTPError], never a stale answer.
//
// The call is bounded by ctx, backoff waits included.
func (c *Client) Catalog(ctx context.Context) (mpsync.CatalogResult, error) {
	c.fetchM.Lock()
	defer c.fetchM.Unlock()

	c.mu.Lock()
	held := c.held
	c.mu.Unlock()

	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, c.s.catalog.String(), nil)
	if err != nil {
		return mpsync.CatalogResult{}, fmt.Errorf("workspace catalog: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if held != nil && held.etag != "" {
		req.Header.Set("If-None-Match", held.etag)
	}
	// The body is read inside the attempt, so that a body that stalls or
	// breaks is retried like a request that did, and counts as the service
	// unreachable (the last-known catalog answers) once retries run out.
	var raw []byte
	req.SetResponseHandler(func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return nil // do reports the status
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, MaxCatalogSize+1))
		if err != nil {
			return c.transportError("", resp.Request.URL, 1, err)
		}
		raw = b
		return nil
	})
	resp, err := c.do(ctx, req, "catalog")
	if err != nil {
		if errors.Is(err, ErrUnavailable) && held != nil {
			c.log.Warn("workspace unreachable; using the last-known catalog",
				"serial", held.cat.Serial, "fetchedAt", held.fetchedAt, "error", err)
			return mpsync.CatalogResult{
				Catalog: held.cat, ETag: held.etag, Stale: true, FetchedAt: held.fetchedAt, Err: err,
			}, nil
		}
		return mpsync.CatalogResult{}, err
	}
	defer resp.Body.Close()
	now := c.s.Now()

	if resp.StatusCode == http.StatusNotModified {
		if held == nil {
			return mpsync.CatalogResult{}, fmt.Errorf("%w: %s answered 304 Not Modified but no catalog is held", ErrInvalidCatalog, redactURL(c.s.catalog))
		}
		c.mu.Lock()
		if c.held == held {
			c.held = &heldCatalog{cat: held.cat, etag: held.etag, fetchedAt: now}
		}
		c.mu.Unlock()
		c.log.Debug("catalog not modified", "serial", held.cat.Serial, "etag", held.etag)
		return mpsync.CatalogResult{Catalog: held.cat, ETag: held.etag, NotModified: true, FetchedAt: now}, nil
	}

	if len(raw) > MaxCatalogSize {
		return mpsync.CatalogResult{}, fmt.Errorf("%w: %s: the catalog is larger than %d bytes", ErrInvalidCatalog, redactURL(c.s.catalog), MaxCatalogSize)
	}
	cat, err := c.check(raw, held)
	if err != nil {
		c.log.Warn("refused catalog", "error", err)
		return mpsync.CatalogResult{}, err
	}
	h := &heldCatalog{cat: cat, etag: resp.Header.Get("ETag"), fetchedAt: now}
	if c.s.CacheDir != "" {
		if err := c.saveCache(h); err != nil {
			// The catalog is good; a cache that cannot be written only
			// costs a full request after a restart.
			c.log.Warn("could not write the catalog cache", "dir", c.s.CacheDir, "error", err)
		}
	}
	c.mu.Lock()
	c.held = h
	c.mu.Unlock()
	c.log.Debug("catalog fetched", "serial", cat.Serial, "etag", h.etag, "packs", len(cat.Packs))
	return mpsync.CatalogResult{Catalog: cat, ETag: h.etag, FetchedAt: now}, nil
}

// check decodes and validates a served catalog against this client and the
// held catalog.
func (c *Client) check(raw []byte, held *heldCatalog) (*catalog.Catalog, error) {
	where := redactURL(c.s.catalog)
	cat, err := catalog.Decode(strings.NewReader(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidCatalog, where, err)
	}
	if cat.WorkspaceID != c.s.WorkspaceID {
		return nil, fmt.Errorf("%w: %s: workspaceId is %q, this client is for %q", ErrInvalidCatalog, where, cat.WorkspaceID, c.s.WorkspaceID)
	}
	if held != nil && !c.s.AcceptLowerSerial {
		if err := catalog.CheckSerial(cat, held.cat.Serial, held.cat.WorkspaceID, "the held catalog's "); err != nil {
			return nil, fmt.Errorf("%s: %w (a replayed or rolled-back catalog; set AcceptLowerSerial to take it)", where, err)
		}
	}
	return cat, nil
}

// do sends req and turns every failure into a typed error. A returned
// response has status 2xx or 304.
func (c *Client) do(ctx context.Context, req *retryablehttp.Request, op string) (*http.Response, error) {
	attempts := new(int)
	req.Request = req.Request.WithContext(context.WithValue(req.Context(), attemptsKey{}, attempts))
	resp, err := c.rc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("workspace %s: %s: %w", op, redactURL(req.URL), ctxErr)
		}
		var he *HTTPError
		if errors.As(err, &he) {
			he.Op = op
			return nil, he
		}
		var pe *PackError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, c.transportError(op, req.URL, *attempts, err)
	}
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusNotModified {
		return resp, nil
	}
	he := c.statusError(resp, *attempts)
	he.Op = op
	return nil, he
}

type attemptsKey struct{}

// transportError wraps a transport failure as an *HTTPError with its text
// scrubbed of secrets.
func (c *Client) transportError(op string, u *url.URL, attempts int, err error) *HTTPError {
	return &HTTPError{
		Op: op, URL: redactURL(u), Attempts: max(attempts, 1),
		Err:  &redactedError{msg: safetext.Escape(c.scrub.Replace(err.Error())), err: err},
		kind: transportKind(err),
	}
}

// transportKind classifies an error without a response: a proxy that
// refused the CONNECT credentials, else the service unreachable.
func transportKind(err error) error {
	if strings.Contains(err.Error(), "Proxy Authentication Required") {
		return ErrProxyAuth
	}
	return ErrUnavailable
}

// statusError reads (a bounded part of) an error response and closes it.
func (c *Client) statusError(resp *http.Response, attempts int) *HTTPError {
	defer resp.Body.Close()
	he := &HTTPError{URL: redactURL(resp.Request.URL), Status: resp.StatusCode, Attempts: max(attempts, 1), kind: classify(resp.StatusCode)}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if c.s.Proxy != "" && resp.StatusCode == http.StatusUnauthorized &&
		strings.HasPrefix(strings.ToLower(resp.Header.Get("WWW-Authenticate")), "basic") {
		// Some proxies (tinyproxy among them) answer wrong proxy
		// credentials with 401 and a Basic challenge; the workspace
		// service never asks for Basic.
		he.kind = ErrProxyAuth
	}
	if json.Unmarshal(body, &eb) == nil {
		// Regression (issue 15, points 4 and 6): a server or proxy that
		// echoes the request's headers put the SharedKey signature in the
		// error, and escape sequences reached the terminal raw. Scrubbed
		// (secrets by value and by pattern) and escaped before truncating,
		// so that a cut never splits a secret out of reach.
		he.Code = truncate(safetext.Escape(c.scrub.Replace(eb.Error.Code)), 200)
		he.Message = truncate(safetext.Escape(c.scrub.Replace(eb.Error.Message)), 1000)
	}
	return he
}

// scrubber removes secrets from text: the client's own (the key, the
// proxy password and its Basic form) by value, and by pattern every
// Authorization and Proxy-Authorization value and SharedKey, Basic or
// Bearer credential, since a request's signature differs on each request
// ([safetext.Redact]).
type scrubber struct{ static *strings.Replacer }

// Replace returns s without secrets.
func (s scrubber) Replace(text string) string {
	return safetext.Redact(s.static.Replace(text))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// giveUp is retryablehttp's ErrorHandler: it replaces the untyped "giving
// up after N attempt(s)" error with an *HTTPError.
func (c *Client) giveUp(resp *http.Response, err error, attempts int) (*http.Response, error) {
	if resp != nil {
		if err != nil && resp.StatusCode/100 == 2 {
			// The response handler refused a 2xx body; report why.
			resp.Body.Close()
			return nil, err
		}
		return nil, c.statusError(resp, attempts)
	}
	if err == nil {
		err = errors.New("no response")
	}
	var pe *PackError
	if errors.As(err, &pe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	u := &url.URL{}
	var ue *url.Error
	if errors.As(err, &ue) {
		if pu, perr := url.Parse(ue.URL); perr == nil {
			u = pu
		}
		err = ue.Err
	}
	return nil, c.transportError("", u, attempts, err)
}

// checkRetry retries network errors, 429 and every 5xx (docs/protocol.md section
// 1), and body read failures; never other statuses, a refused pack, or a
// cancelled context.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		var pe *PackError
		if errors.As(err, &pe) && pe.Step != "download" {
			return false, err
		}
		if transportKind(err) == ErrProxyAuth {
			return false, err
		}
		return retryablehttp.ErrorPropagatedRetryPolicy(ctx, resp, err)
	}
	return retryable(resp), nil
}

// retryable reports whether a response's status is one docs/protocol.md retries:
// 429 and 5xx (including 501, which retryablehttp's default policy skips).
func retryable(resp *http.Response) bool {
	return resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500)
}

// backoff waits min·2^n capped at max, with "equal jitter" (a random part of
// up to half), and honours Retry-After (seconds or an HTTP date) on 429 and
// 5xx.
func (c *Client) backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if retryable(resp) {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), c.s.Now()); ok {
			return d
		}
	}
	d := hi
	if attempt < 62 {
		if m := lo << attempt; m > 0 && m < hi {
			d = m
		}
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		// Clamp absurd values rather than drop them, so MaxRetryAfter's
		// "give up" applies to them too.
		return time.Duration(min(n, 366*24*3600)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// signer signs every request with SharedKey and a fresh x-ms-date, so each
// retry carries a current date.
type signer struct {
	next http.RoundTripper
	s    *settings
}

func (t *signer) RoundTrip(req *http.Request) (*http.Response, error) {
	if n, ok := req.Context().Value(attemptsKey{}).(*int); ok {
		*n++
	}
	r := req.Clone(req.Context())
	Sign(r, t.s.WorkspaceID, t.s.key, t.s.Now())
	return t.next.RoundTrip(r)
}
