package mpsynctest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is a failure the server injects into matching requests (see
// [Server.Fail]). Fields combine: Delay happens first, then either an error
// status, a replaced body, or a pack body cut short; a Fault with only Delay
// delays the normal answer.
type Fault struct {
	// Status, when not 0 and not 200, answers with this status and a JSON
	// error body {"error":{"code":Code,"message":Message}} (defaults derived
	// from the status).
	Status int
	// Code and Message fill the error body.
	Code, Message string
	// RetryAfter, when set, is sent as the Retry-After header (seconds or
	// an HTTP date).
	RetryAfter string
	// Delay waits before answering (or until the request is cancelled).
	Delay time.Duration
	// Body, when not nil, is served as is with status 200 (or Status) and
	// Content-Type application/json; use it for a malformed or hand-written
	// catalog. The ETag header is the current catalog's.
	Body []byte
	// Drop, for a pack, sends the headers with the full Content-Length, then
	// DropAfter bytes of the body, then cuts the connection.
	Drop      bool
	DropAfter int64
	// Truncate, for a pack, serves only the first TruncateTo bytes as a
	// complete response (Content-Length TruncateTo).
	Truncate   bool
	TruncateTo int64
	// Times is how many matching requests the fault answers; 0 means every
	// one until [Server.ClearFaults].
	Times int
}

type faultRule struct {
	match func(*http.Request, Kind, string) bool
	f     Fault
	left  int // remaining uses; -1 unlimited
}

// Fail injects f into the requests target names:
//
//   - "" or "*": every request
//   - "catalog": catalog requests
//   - "packs": every pack download
//   - a path starting with "/": requests for exactly that URL path
//   - anything else: downloads of the pack with that id
//
// Faults are tried in the order they were added; the first one that matches
// and has uses left answers.
func (s *Server) Fail(target string, f Fault) {
	var m func(*http.Request, Kind, string) bool
	switch {
	case target == "" || target == "*":
		m = func(*http.Request, Kind, string) bool { return true }
	case target == "catalog":
		m = func(_ *http.Request, k Kind, _ string) bool { return k == KindCatalog }
	case target == "packs":
		m = func(_ *http.Request, k Kind, _ string) bool { return k == KindPack }
	case strings.HasPrefix(target, "/"):
		m = func(r *http.Request, _ Kind, _ string) bool { return r.URL.Path == target }
	default:
		m = func(_ *http.Request, k Kind, id string) bool { return k == KindPack && id == target }
	}
	s.addFault(m, f)
}

// FailFunc injects f into the requests match accepts.
func (s *Server) FailFunc(match func(*http.Request) bool, f Fault) {
	s.addFault(func(r *http.Request, _ Kind, _ string) bool { return match(r) }, f)
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) addFault(m func(*http.Request, Kind, string) bool, f Fault) {
	left := f.Times
	if left <= 0 {
		left = -1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultRule{match: m, f: f, left: left})
}

// takeFault returns the fault for r, using up one of its times.
func (s *Server) takeFault(r *http.Request, k Kind, packID string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fr := range s.faults {
		if fr.left == 0 || !fr.match(r, k, packID) {
			continue
		}
		if fr.left > 0 {
			fr.left--
		}
		f := fr.f
		return &f
	}
	return nil
}

// applyFault answers r according to f; it reports whether it answered (a
// delay-only fault lets the normal answer follow).
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, k Kind, packID, version string, f *Fault) bool {
	if f.Delay > 0 && !sleep(r, f.Delay) {
		writeError(w, http.StatusServiceUnavailable, "Cancelled", "the request was cancelled during an injected delay")
		return true
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	switch {
	case f.Body != nil:
		s.mu.Lock()
		etag := s.etag
		s.mu.Unlock()
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(f.Body)))
		w.WriteHeader(status)
		_, _ = w.Write(f.Body)
		return true
	case f.Status != 0 && f.Status != http.StatusOK:
		code, msg := f.Code, f.Message
		if code == "" {
			code = strings.ReplaceAll(http.StatusText(f.Status), " ", "")
		}
		if msg == "" {
			msg = "injected fault: " + http.StatusText(f.Status)
		}
		writeError(w, f.Status, code, msg)
		return true
	case (f.Drop || f.Truncate) && k == KindPack:
		s.servePack(w, r, packID, version, f)
		return true
	}
	return false
}
