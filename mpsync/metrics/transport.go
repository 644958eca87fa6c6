package metrics

import (
	"io"
	"net/http"
	"strings"
)

// Transport wraps base (nil: [http.DefaultTransport]) so that the bodies
// of management pack downloads (GET requests whose path holds "/packs/",
// answered 200) count in mpsync_downloaded_bytes_total, and each body read
// to its end in mpsync_downloads_total. Give it to the workspace client
// (workspace.Config.Transport); the engine's events do not carry sizes.
// What is not counted: the catalog document, error bodies, and downloads
// abandoned before their end (their bytes read so far do count).
func (m *Metrics) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &countingTransport{base: base, m: m}
}

type countingTransport struct {
	base http.RoundTripper
	m    *Metrics
}

// RoundTrip sends r and wraps the body of a pack download.
func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/packs/") {
		return resp, err
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, m: t.m}
	return resp, nil
}

type countingBody struct {
	io.ReadCloser
	m    *Metrics
	done bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.m.bytes.Add(float64(n))
	}
	if err == io.EOF && !b.done {
		b.done = true
		b.m.downloads.Inc()
	}
	return n, err
}
