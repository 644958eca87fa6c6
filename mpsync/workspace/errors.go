package workspace

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/catalog"
)

// Sentinel errors. Errors returned by a [Client] wrap one of these (test with
// [errors.Is]); HTTP failures are also a [*HTTPError] (test with [errors.As]).
var (
	// ErrConfig is wrapped by every error [New] returns for a bad Config.
	ErrConfig = errors.New("workspace: invalid configuration")

	// ErrUnauthorized: the service refused the signature (401 or 403): a
	// wrong key, a clock more than 15 minutes off, or a key that belongs to
	// another workspace. Never retried and never answered from the cache.
	// It is mpsync.ErrUnauthorized, so the engine tells a wrong key apart.
	ErrUnauthorized = mpsync.ErrUnauthorized
	// ErrNotFound: the service does not know the workspace or the pack (404).
	// Never retried and never answered from the cache.
	ErrNotFound = errors.New("workspace or pack not found")
	// ErrProxyAuth: the proxy refused the proxy credentials: a 407, a failed
	// CONNECT, or a 401 with a Basic challenge while a proxy is configured
	// (tinyproxy answers wrong credentials that way; the workspace service
	// never asks for Basic).
	ErrProxyAuth = errors.New("proxy refused the proxy credentials")
	// ErrRejected: the service answered with another 4xx status.
	ErrRejected = errors.New("workspace rejected the request")
	// ErrUnavailable: the service could not be reached, or kept answering
	// 429 or 5xx, after every retry. Catalog answers from its last-known
	// catalog (Stale) when it holds one. It is mpsync.ErrUnavailable.
	ErrUnavailable = mpsync.ErrUnavailable

	// ErrInvalidCatalog: the service served a catalog that is not valid for
	// this client: it breaks docs/protocol.md (it then also wraps
	// catalog.ErrInvalid), names another workspace, or answered 304 without
	// the client holding a catalog. The held catalog and the cache are
	// unchanged.
	ErrInvalidCatalog = errors.New("workspace served an invalid catalog")
	// ErrSerialRegressed: the catalog's serial is lower than the one held
	// (a replayed or rolled-back catalog) and Config.AcceptLowerSerial is
	// false. The held catalog and the cache are unchanged. It is
	// [catalog.ErrSerialRegressed].
	ErrSerialRegressed = catalog.ErrSerialRegressed

	// ErrPackRefused is wrapped by every error Fetch returns for a pack whose
	// bytes do not match its catalog entry (see the more precise sentinels
	// below) or that breaks a limit. A refused pack leaves no file behind.
	ErrPackRefused = errors.New("pack refused")
	// ErrSizeMismatch: the body length differs from the catalog's size.
	ErrSizeMismatch = errors.New("size differs from the catalog")
	// ErrHashMismatch: the body's SHA-256 differs from the catalog's.
	ErrHashMismatch = errors.New("sha256 differs from the catalog")
	// ErrTooLarge: the catalog's size is over Config.MaxPackSize.
	ErrTooLarge = errors.New("pack larger than the configured maximum")
	// ErrBadHref: the pack's href does not resolve to an allowed URL (its
	// scheme is not https, or http with AllowHTTP, or its host is not the
	// BaseURL's host).
	ErrBadHref = errors.New("pack href not allowed")
)

// HTTPError is a failed request to the workspace service: an error status
// after any retries, or a transport failure (Status 0). It never holds the
// Authorization header, the workspace key or proxy credentials.
type HTTPError struct {
	// Op is what the client was doing: "catalog" or "fetch <id> <version>".
	Op string
	// URL is the request URL without its query and user information.
	URL string
	// Status is the last HTTP status code, 0 when no response was received.
	Status int
	// Code and Message come from an {"error":{"code":..,"message":..}} body.
	Code, Message string
	// Attempts is how many requests were sent (1 + retries).
	Attempts int
	// Err is the transport error when Status is 0, else nil.
	Err error

	kind error
}

// Error describes the failure: op, URL, status, the service's code and
// message, and the attempts made.
func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "workspace %s: GET %s: ", e.Op, e.URL)
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	} else if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("no response")
	}
	if e.Code != "" || e.Message != "" {
		fmt.Fprintf(&b, " (%s: %s)", e.Code, e.Message)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

// Unwrap returns the sentinel that classifies the failure (ErrUnauthorized,
// ErrNotFound, ErrProxyAuth, ErrRejected or ErrUnavailable) and Err.
func (e *HTTPError) Unwrap() []error {
	out := make([]error, 0, 2)
	if e.kind != nil {
		out = append(out, e.kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// classify returns the sentinel for an HTTP status.
func classify(status int) error {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ErrUnauthorized
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusProxyAuthRequired:
		return ErrProxyAuth
	case status == http.StatusTooManyRequests || status >= 500:
		return ErrUnavailable
	default:
		return ErrRejected
	}
}

// redactedError carries a transport error whose text was scrubbed of
// secrets; Unwrap keeps the original for errors.Is.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// PackError is a refused pack: which pack, which step, and why.
type PackError struct {
	// ID and Version are the catalog entry's.
	ID, Version string
	// Step is what failed: "href", "size", "download", "sha256", "manifest".
	Step string
	// Err wraps ErrPackRefused and the precise reason.
	Err error
}

// Error names the pack, the step and the reason.
func (e *PackError) Error() string {
	return fmt.Sprintf("workspace fetch %s %s: %s: %v", e.ID, e.Version, e.Step, e.Err)
}

// Unwrap returns Err.
func (e *PackError) Unwrap() error { return e.Err }
