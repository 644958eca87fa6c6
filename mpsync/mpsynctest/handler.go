package mpsynctest

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind says what a request asked for.
type Kind string

const (
	// KindCatalog is a catalog request.
	KindCatalog Kind = "catalog"
	// KindPack is a pack download.
	KindPack Kind = "pack"
	// KindOther is anything else (answered 404).
	KindOther Kind = "other"
)

// Request is one request the server answered, as [Server.Requests] lists
// them. It never holds the Authorization header.
type Request struct {
	Method string
	Path   string
	Kind   Kind
	// PackID is the pack asked for, for KindPack.
	PackID string
	// IfNoneMatch is the request's If-None-Match header.
	IfNoneMatch string
	// Status is the status answered (200 for a dropped body, 0 while the
	// request is being answered).
	Status int
	// Bytes is the number of body bytes written.
	Bytes int64
	// Fault is true when an injected fault answered the request.
	Fault bool
}

// Stats counts what the server served since it started or since
// [Server.ResetStats].
type Stats struct {
	// Requests counts every request.
	Requests int
	// CatalogRequests counts catalog requests, NotModified those answered 304.
	CatalogRequests, NotModified int
	// PackRequests counts pack requests.
	PackRequests int
	// CatalogBytes and PackBytes count body bytes written.
	CatalogBytes, PackBytes int64
	// Refused counts requests refused for their signature (401/403).
	Refused int
	// Faults counts requests answered by an injected fault.
	Faults int
	// ByPath counts requests and body bytes per URL path.
	ByPath map[string]PathStats
}

// PathStats counts requests and body bytes for one URL path.
type PathStats struct {
	Requests int
	Bytes    int64
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByPath = make(map[string]PathStats, len(s.stats.ByPath))
	for k, v := range s.stats.ByPath {
		st.ByPath[k] = v
	}
	return st
}

// Requests returns the requests answered so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetStats zeroes the counters and forgets the request log.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{}
	s.requests = nil
}

// begin counts a request before anything is written, so a client that has
// seen a response always finds it counted; it returns its log index.
func (s *Server) begin(rq Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.stats
	st.Requests++
	switch rq.Kind {
	case KindCatalog:
		st.CatalogRequests++
	case KindPack:
		st.PackRequests++
	}
	if st.ByPath == nil {
		st.ByPath = map[string]PathStats{}
	}
	ps := st.ByPath[rq.Path]
	ps.Requests++
	st.ByPath[rq.Path] = ps
	s.requests = append(s.requests, rq)
	return len(s.requests) - 1
}

// markFault records that an injected fault answers request i.
func (s *Server) markFault(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Faults++
	if i < len(s.requests) {
		s.requests[i].Fault = true
	}
}

// status records the status of request i before it is sent.
func (s *Server) status(i int, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case code == http.StatusNotModified:
		s.stats.NotModified++
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		s.stats.Refused++
	}
	if i < len(s.requests) {
		s.requests[i].Status = code
	}
}

// addBytes counts n body bytes of request i (n may be negative to take
// back bytes that could not be written).
func (s *Server) addBytes(i int, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.requests) {
		return // ResetStats ran meanwhile
	}
	rq := &s.requests[i]
	rq.Bytes += n
	switch rq.Kind {
	case KindCatalog:
		s.stats.CatalogBytes += n
	case KindPack:
		s.stats.PackBytes += n
	}
	ps := s.stats.ByPath[rq.Path]
	ps.Bytes += n
	s.stats.ByPath[rq.Path] = ps
}

// ServeHTTP serves docs/protocol.md:
//
//	GET /workspaces/{id}/catalog
//	GET /workspaces/{id}/packs/{packId}/{version}
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := Request{Method: r.Method, Path: r.URL.Path, Kind: KindOther, IfNoneMatch: r.Header.Get("If-None-Match")}
	ws, rest, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/workspaces/"), "/")
	if !strings.HasPrefix(r.URL.Path, "/workspaces/") {
		ok = false
	}
	var packID, version string
	switch {
	case !ok:
	case rest == "catalog":
		rq.Kind = KindCatalog
	case strings.HasPrefix(rest, "packs/"):
		id, v, ok := strings.Cut(strings.TrimPrefix(rest, "packs/"), "/")
		if ok && id != "" && v != "" && !strings.Contains(v, "/") {
			rq.Kind, packID, version = KindPack, id, v
			rq.PackID = id
		}
	}
	idx := s.begin(rq)
	cw := &countingWriter{ResponseWriter: w, s: s, i: idx}
	defer func() {
		s.log.Debug("mpsynctest: served", "method", rq.Method, "path", rq.Path, "status", cw.code, "bytes", cw.n)
	}()
	if !ok {
		writeError(cw, http.StatusNotFound, "NotFound", "no such resource")
		return
	}

	if f := s.takeFault(r, rq.Kind, packID); f != nil {
		s.markFault(idx)
		if s.applyFault(cw, r, rq.Kind, packID, version, f) {
			return
		}
	}
	if r.Method != http.MethodGet {
		writeError(cw, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method+" is not supported")
		return
	}
	if ws != s.id {
		writeError(cw, http.StatusNotFound, "WorkspaceNotFound", fmt.Sprintf("workspace %s does not exist", ws))
		return
	}
	if status, code, msg := s.checkAuth(r, ws); status != 0 {
		writeError(cw, status, code, msg)
		return
	}
	switch rq.Kind {
	case KindCatalog:
		s.serveCatalog(cw, r)
	case KindPack:
		s.servePack(cw, r, packID, version, nil)
	default:
		writeError(cw, http.StatusNotFound, "NotFound", "no such resource")
	}
}

func (s *Server) serveCatalog(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body, etag := s.body, s.etag
	s.mu.Unlock()
	w.Header().Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// servePack writes the pack's bytes; f, when not nil, cuts the body short.
func (s *Server) servePack(w http.ResponseWriter, r *http.Request, id, version string, f *Fault) {
	s.mu.Lock()
	p, ok := s.packs[id]
	s.mu.Unlock()
	if !ok || p.entry.Version.String() != version {
		writeError(w, http.StatusNotFound, "PackNotFound", fmt.Sprintf("pack %s %s is not published", id, version))
		return
	}
	rc := p.reader()
	defer rc.Close()
	br := bufio.NewReader(rc)
	size := p.size
	var body io.Reader = br
	if f != nil && f.Truncate {
		size = min(size, f.TruncateTo)
		body = io.LimitReader(br, size)
	}
	w.Header().Set("Content-Type", packContentType(br))
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if f != nil && f.Drop {
		_, _ = io.CopyN(w, br, f.DropAfter)
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	_, _ = io.Copy(w, body)
}

// packContentType is the media type a workspace serves a pack with:
// application/octet-stream for a sealed pack (a .NET assembly, "MZ"),
// application/xml otherwise.
func packContentType(br *bufio.Reader) string {
	if head, _ := br.Peek(2); string(head) == "MZ" {
		return "application/octet-stream"
	}
	return "application/xml"
}

// countingWriter records the status and counts body bytes before they are
// sent.
type countingWriter struct {
	http.ResponseWriter
	s    *Server
	i    int
	code int
	n    int64
}

func (c *countingWriter) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
		c.s.status(c.i, code)
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.code == 0 {
		c.WriteHeader(http.StatusOK)
	}
	c.s.addBytes(c.i, int64(len(p)))
	n, err := c.ResponseWriter.Write(p)
	if n < len(p) {
		c.s.addBytes(c.i, int64(n-len(p)))
	}
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// sleep waits d or until the request is cancelled.
func sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
