// Package workspace is the HTTP client for the workspace catalog protocol
// (docs/protocol.md): it asks a workspace which management packs it wants and
// downloads them, verified.
//
// # Using it
//
// Create a [Client] with [New] and a [Config]; only BaseURL, WorkspaceID and
// Key are required, every other field documents its default:
//
//	c, err := workspace.New(workspace.Config{
//		BaseURL:     "https://workspace.example.test/",
//		WorkspaceID: "6f0c3a52-7d1e-4c1b-9a53-0d9f4f2b1e11",
//		Key:         keyBase64,
//		CacheDir:    "/var/lib/mpsync/cache",
//		Logger:      logger,
//	})
//	res, err := c.Catalog(ctx)        // 200, 304 or a stale answer
//	rc, err := c.Fetch(ctx, res.Catalog.Packs[0])
//	defer rc.Close()                  // removes the verified temporary file
//
// *Client implements mpsync.Workspace, so it plugs straight into the engine.
//
// # What it guarantees
//
//   - Every request is signed (SharedKey, docs/protocol.md §4) with a
//     fresh x-ms-date, also on retries. Network errors, 429 and 5xx are
//     retried with exponential backoff and jitter, honouring Retry-After;
//     other 4xx never are. Every call is bounded by its context.
//   - The catalog is requested with If-None-Match; a 304 costs no parsing
//     and no disk write. A 200 is validated whole (catalog.Decode, the
//     workspace id, a serial that does not go backwards) before it replaces
//     the held catalog; an invalid catalog changes nothing.
//   - With CacheDir set, the last good catalog survives restarts, and when
//     the service cannot be reached Catalog answers from it with Stale set
//     (the engine then never removes packs). 401, 403 and 404 are never
//     answered from the cache: they mean the configuration is wrong.
//   - Fetch streams a pack to a temporary file while hashing it, never reads
//     past the catalog's size, and checks length, SHA-256 and the manifest's
//     own id and version. A refused pack leaves no file behind.
//   - FetchStream hands the body over as it arrives, for a consumer (a
//     store's Import) that hashes, validates and writes it in one pass: the
//     read that would complete the body fails instead when the length or
//     the SHA-256 is not the catalog's, and a body cut off by the network is
//     requested again and resumed where it stopped.
//   - Pack hrefs must resolve to the BaseURL's host (and scheme https, or
//     http with AllowHTTP): the signature is never sent to another host, and
//     redirects are not followed.
//   - The workspace key, the Authorization header and proxy credentials
//     never appear in errors or log records.
//
// # Errors
//
// Callers branch with [errors.Is] on the sentinels ([ErrUnauthorized],
// [ErrNotFound], [ErrUnavailable], [ErrProxyAuth], [ErrInvalidCatalog],
// [ErrSerialRegressed], [ErrPackRefused], [ErrHashMismatch], ...) and read
// details with [errors.As]: [*HTTPError] carries the status, the service's
// error code and message and the attempts made; [*PackError] the pack and
// the step that refused it.
//
// # Proxies
//
// Config.Proxy names an explicit proxy ("http://corpproxy:80"), and
// ProxyUser/ProxyPassword its credentials, sent as Proxy-Authorization:
// Basic to plain-http targets and on the CONNECT of https targets. The
// environment's proxy variables are not consulted. TLS verification is
// always on; RootCAs replaces the system roots.
//
// # Testing
//
// [mpsync.dev/mpsync/mpsynctest] serves the same protocol from memory, as a
// loopback server or an in-memory http.RoundTripper (Config.Transport) for
// tests inside testing/synctest bubbles, with fault injection and counters.
package workspace
