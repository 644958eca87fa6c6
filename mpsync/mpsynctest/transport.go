package mpsynctest

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// Transport returns an [http.RoundTripper] that hands each request to the
// server in memory, without a network: the handler runs in a goroutine and
// the body streams through a pipe, so large packs are not buffered and a
// dropped connection (Fault.Drop) reaches the client as
// io.ErrUnexpectedEOF. It works for servers made by [NewWorkspace] and
// [NewServer] alike, and inside testing/synctest bubbles.
func (s *Server) Transport() http.RoundTripper { return memTransport{s: s} }

type memTransport struct{ s *Server }

func (t memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	pr, pw := io.Pipe()
	rw := &pipeWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					rw.abort(io.ErrUnexpectedEOF)
				} else {
					rw.abort(fmt.Errorf("mpsynctest: handler panicked: %v", r))
				}
				return
			}
			rw.finish()
		}()
		t.s.ServeHTTP(rw, req.Clone(req.Context()))
	}()
	select {
	case <-rw.ready:
	case <-req.Context().Done():
		pr.CloseWithError(req.Context().Err())
		return nil, req.Context().Err()
	}
	if rw.err != nil && rw.status == 0 {
		return nil, rw.err
	}
	resp := &http.Response{
		Status:     fmt.Sprintf("%d %s", rw.status, http.StatusText(rw.status)),
		StatusCode: rw.status,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        rw.sent,
		Body:          pr,
		ContentLength: -1,
		Request:       req,
	}
	if cl, err := strconv.ParseInt(rw.sent.Get("Content-Length"), 10, 64); err == nil {
		resp.ContentLength = cl
	}
	if rw.status == http.StatusNotModified || req.Method == http.MethodHead {
		pr.Close()
		resp.Body = http.NoBody
		resp.ContentLength = 0
	}
	return resp, nil
}

// pipeWriter is the http.ResponseWriter of an in-memory request.
type pipeWriter struct {
	header http.Header
	sent   http.Header
	pw     *io.PipeWriter
	status int
	err    error
	once   sync.Once
	ready  chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	w.once.Do(func() {
		w.status = code
		w.sent = w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(p)
}

// Flush does nothing: the pipe hands bytes over as they are written.
func (w *pipeWriter) Flush() {}

func (w *pipeWriter) finish() {
	w.WriteHeader(http.StatusOK)
	w.pw.Close()
}

func (w *pipeWriter) abort(err error) {
	w.once.Do(func() {
		w.err = err
		close(w.ready)
	})
	w.pw.CloseWithError(err)
}
