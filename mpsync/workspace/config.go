package workspace

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Defaults for the zero values of [Config].
const (
	// DefaultMaxPackSize is the largest pack Fetch downloads: 64 MiB.
	DefaultMaxPackSize = 64 << 20
	// DefaultParallel is how many packs FetchAll downloads at once.
	DefaultParallel = 4
	// DefaultRetryMax is how many times a request is retried.
	DefaultRetryMax = 4
	// DefaultRetryWaitMin is the first backoff wait.
	DefaultRetryWaitMin = 1 * time.Second
	// DefaultRetryWaitMax caps a backoff wait (Retry-After is honoured
	// beyond it).
	DefaultRetryWaitMax = 30 * time.Second
	// DefaultMaxRetryAfter is the longest Retry-After honoured by default.
	DefaultMaxRetryAfter = 5 * time.Minute
	// MaxCatalogSize bounds a catalog document: 32 MiB.
	MaxCatalogSize = 32 << 20
)

// Config configures a [Client]. Only BaseURL, WorkspaceID and Key are
// required; every other zero value takes the default its field names.
type Config struct {
	// BaseURL is the service's base URL, e.g. "https://workspace.example.test/".
	// It must be https unless AllowHTTP, and must not carry user information
	// or a query. The catalog is {BaseURL}/workspaces/{WorkspaceID}/catalog.
	BaseURL string
	// WorkspaceID is the workspace id: 1 to 128 characters from
	// A-Z a-z 0-9 . _ -.
	WorkspaceID string
	// Key is the workspace key as the user has it: standard base64. New
	// decodes it and refuses bad base64. It never appears in logs or errors.
	Key string

	// Proxy is an explicit HTTP proxy URL, e.g. "http://corpproxy:80".
	// Empty: no proxy (the environment's HTTPS_PROXY is not consulted, so a
	// configuration says exactly where traffic goes). Credentials in the URL
	// are refused: use ProxyUser and ProxyPassword.
	Proxy string
	// ProxyUser and ProxyPassword are sent to the proxy as
	// Proxy-Authorization: Basic, for plain http targets and on the CONNECT
	// of https targets alike. They never appear in logs or errors.
	ProxyUser, ProxyPassword string
	// RootCAs verifies the service's certificate; nil: the system roots.
	// TLS verification cannot be turned off.
	RootCAs *x509.CertPool
	// AllowHTTP accepts plain http:// for BaseURL and pack hrefs (tests, the
	// quickstart). Default false: https only.
	AllowHTTP bool

	// CacheDir keeps the last good catalog (with its ETag, serial and fetch
	// time) across restarts, in catalog.<WorkspaceID>.cache (a compact
	// binary form, validated again when loaded), written atomically. Empty: no persistent cache, only the in-memory one.
	CacheDir string
	// TempDir holds packs while they download and are verified. Empty:
	// CacheDir when set, else os.TempDir().
	TempDir string
	// MaxPackSize is the largest pack Fetch accepts, in bytes; default
	// DefaultMaxPackSize (64 MiB).
	MaxPackSize int64
	// Parallel is how many packs FetchAll downloads at once; default
	// DefaultParallel (4).
	Parallel int

	// Logger receives debug and warning records; nil discards them. Secrets
	// are scrubbed from everything logged through it, and from every error:
	// the key and the proxy password by value, and by pattern every
	// Authorization and Proxy-Authorization value (a request's SharedKey
	// signature differs on each request) a server or proxy echoes. Text
	// from the service in an error has its control characters escaped.
	Logger *slog.Logger
	// Transport sends the requests. Nil: a pooled transport (as
	// hashicorp/go-cleanhttp builds it) with Proxy, ProxyUser, ProxyPassword
	// and RootCAs applied. When set, those four fields must be empty: the
	// transport is used as is (tests pass mpsynctest's in-memory transport).
	Transport http.RoundTripper
	// Now is the clock for x-ms-date, Retry-After dates and FetchedAt; nil:
	// time.Now.
	Now func() time.Time

	// RetryMax is how many times a request that failed with a network error,
	// 429 or 5xx is retried; 0: DefaultRetryMax (4); negative: never.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff (with
	// jitter) between retries; defaults DefaultRetryWaitMin (1 s) and
	// DefaultRetryWaitMax (30 s). A Retry-After header on 429 or 503 is
	// honoured as given, up to MaxRetryAfter.
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits for; a
	// service asking for a longer wait is treated as unavailable at once
	// (the last-known catalog is served, marked stale) rather than holding
	// the run for hours. Default DefaultMaxRetryAfter (5 min).
	MaxRetryAfter time.Duration
	// HeaderTimeout bounds the wait for a response's headers, IdleTimeout
	// the wait between two reads of its body, and RequestTimeout one attempt
	// whole, body included; defaults DefaultHeaderTimeout (30 s),
	// DefaultIdleTimeout (60 s) and DefaultRequestTimeout (15 min). A
	// request past one fails with a [*TimeoutError] naming it, and is
	// retried like a network error. They hold for the caller's Transport
	// too.
	HeaderTimeout, IdleTimeout, RequestTimeout time.Duration
	// AcceptLowerSerial accepts a catalog whose serial is lower than the one
	// held. Default false: such a catalog is refused with ErrSerialRegressed.
	AcceptLowerSerial bool
}

// settings is a validated Config with defaults applied.
type settings struct {
	Config
	base    *url.URL
	key     []byte
	catalog *url.URL
	secrets []string
}

func (c Config) validate() (*settings, error) {
	s := &settings{Config: c}
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, args...))
	}
	if c.BaseURL == "" {
		return nil, bad("BaseURL", "is empty")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return nil, bad("BaseURL", "does not parse")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && c.AllowHTTP:
	case u.Scheme == "http":
		return nil, bad("BaseURL", "%s is plain http; use https or set AllowHTTP", redactURL(u))
	default:
		return nil, bad("BaseURL", "scheme %q is not https", u.Scheme)
	}
	if u.Host == "" {
		return nil, bad("BaseURL", "%q has no host", c.BaseURL)
	}
	if u.User != nil {
		return nil, bad("BaseURL", "must not carry user information")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, bad("BaseURL", "must not carry a query or fragment")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	s.base = u
	if err := checkWorkspaceID(c.WorkspaceID); err != nil {
		return nil, bad("WorkspaceID", "%v", err)
	}
	s.catalog = u.JoinPath("workspaces", c.WorkspaceID, "catalog")
	if c.Key == "" {
		return nil, bad("Key", "is empty")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(c.Key))
	if err != nil || len(key) == 0 {
		return nil, bad("Key", "is not standard base64 (the key is not shown)")
	}
	s.key = key
	s.secrets = append(s.secrets, strings.TrimSpace(c.Key))
	if c.ProxyPassword != "" {
		s.secrets = append(s.secrets, c.ProxyPassword,
			base64.StdEncoding.EncodeToString([]byte(c.ProxyUser+":"+c.ProxyPassword)))
	}
	if (c.ProxyUser != "" || c.ProxyPassword != "") && c.Proxy == "" && c.Transport == nil {
		return nil, bad("ProxyUser", "proxy credentials are set but Proxy is empty")
	}
	if c.Transport != nil && (c.Proxy != "" || c.ProxyUser != "" || c.ProxyPassword != "" || c.RootCAs != nil) {
		return nil, bad("Transport", "is set together with Proxy, proxy credentials or RootCAs; configure those on the transport")
	}
	if c.Proxy != "" {
		pu, err := url.Parse(c.Proxy)
		if err != nil || pu.Host == "" {
			return nil, bad("Proxy", "is not a URL like http://corpproxy:80")
		}
		if pu.User != nil {
			return nil, bad("Proxy", "must not carry credentials; use ProxyUser and ProxyPassword")
		}
		if pu.Scheme != "http" && pu.Scheme != "https" {
			return nil, bad("Proxy", "scheme %q is not http or https", pu.Scheme)
		}
	}
	if c.MaxPackSize < 0 {
		return nil, bad("MaxPackSize", "%d is negative", c.MaxPackSize)
	}
	if s.MaxPackSize == 0 {
		s.MaxPackSize = DefaultMaxPackSize
	}
	if c.Parallel < 0 {
		return nil, bad("Parallel", "%d is negative", c.Parallel)
	}
	if s.Parallel == 0 {
		s.Parallel = DefaultParallel
	}
	switch {
	case c.RetryMax == 0:
		s.RetryMax = DefaultRetryMax
	case c.RetryMax < 0:
		s.RetryMax = 0
	}
	if c.RetryWaitMin < 0 || c.RetryWaitMax < 0 {
		return nil, bad("RetryWaitMin", "retry waits must not be negative")
	}
	if s.RetryWaitMin == 0 {
		s.RetryWaitMin = DefaultRetryWaitMin
	}
	if s.RetryWaitMax == 0 {
		s.RetryWaitMax = DefaultRetryWaitMax
	}
	switch {
	case c.MaxRetryAfter < 0:
		return nil, bad("MaxRetryAfter", "%s is negative", c.MaxRetryAfter)
	case c.MaxRetryAfter == 0:
		s.MaxRetryAfter = DefaultMaxRetryAfter
	}
	for _, t := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"HeaderTimeout", &s.HeaderTimeout, DefaultHeaderTimeout},
		{"IdleTimeout", &s.IdleTimeout, DefaultIdleTimeout},
		{"RequestTimeout", &s.RequestTimeout, DefaultRequestTimeout},
	} {
		switch {
		case *t.v < 0:
			return nil, bad(t.name, "%s is negative", *t.v)
		case *t.v == 0:
			*t.v = t.def
		}
	}
	if s.RetryWaitMax < s.RetryWaitMin {
		return nil, bad("RetryWaitMax", "%s is below RetryWaitMin %s", s.RetryWaitMax, s.RetryWaitMin)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.TempDir == "" {
		s.TempDir = s.CacheDir
	}
	if s.TempDir == "" {
		s.TempDir = os.TempDir()
	}
	if s.CacheDir != "" {
		if err := os.MkdirAll(s.CacheDir, 0o700); err != nil {
			return nil, bad("CacheDir", "%v", err)
		}
	}
	return s, nil
}

func checkWorkspaceID(id string) error {
	if id == "" {
		return fmt.Errorf("is empty")
	}
	if len(id) > 128 {
		return fmt.Errorf("is longer than 128 characters")
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("%q holds %q; only A-Z a-z 0-9 . _ - are allowed", id, r)
		}
	}
	if id == "." || id == ".." {
		return fmt.Errorf("%q is not a usable id", id)
	}
	return nil
}

// newTransport builds the default transport: pooled like go-cleanhttp's,
// with the explicit proxy (credentials on its URL, which net/http sends as
// Proxy-Authorization to plain-http targets and on CONNECT) and RootCAs.
func (s *settings) newTransport() http.RoundTripper {
	t := &http.Transport{
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
		MaxIdleConnsPerHost:   s.Parallel + 1,
		TLSClientConfig:       &tls.Config{RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12},
	}
	if s.Proxy != "" {
		pu, _ := url.Parse(s.Proxy) // checked in validate
		if s.ProxyUser != "" || s.ProxyPassword != "" {
			pu.User = url.UserPassword(s.ProxyUser, s.ProxyPassword)
		}
		t.Proxy = http.ProxyURL(pu)
	}
	return t
}

// redactURL returns u without user information, query or fragment.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.ForceQuery = false
	c.Fragment = ""
	c.RawFragment = ""
	return c.String()
}
