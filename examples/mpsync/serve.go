package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"mpsync.dev/mpsync/mpsynctest"
)

// serveShutdownTimeout bounds how long serve-workspace waits for requests in
// flight when it is stopped.
const serveShutdownTimeout = 5 * time.Second

// serveDoc is the document serve-workspace writes (one line with --json) once
// it listens.
type serveDoc struct {
	URL         string `json:"url"`
	WorkspaceID string `json:"workspaceId"`
	// KeyFile is where the key was written (--key-out); Key is the key itself
	// when no --key-out was given.
	KeyFile string `json:"keyFile,omitempty"`
	Key     string `json:"key,omitempty"`
	Serial  int64  `json:"serial"`
	Packs   int    `json:"packs"`
}

// serveWorkspace serves a workspace directory over docs/protocol.md until ctx is
// cancelled (SIGINT, SIGTERM).
func (a *app) serveWorkspace(ctx context.Context) error {
	c := a.cfg
	if c.dir == "" {
		return usagef("serve-workspace needs --dir DIR (a directory with workspace.json and packs/*.xml)")
	}
	opts, err := mpsynctest.LoadDir(c.dir)
	if err != nil {
		return usagef("workspace directory %s: %v", c.dir, err)
	}
	opts = append(opts, mpsynctest.WithLogger(a.log))
	srv := mpsynctest.NewWorkspace(opts...)

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	doc := serveDoc{
		URL:         "http://" + ln.Addr().String() + "/",
		WorkspaceID: srv.WorkspaceID(),
		Serial:      srv.Serial(),
		Packs:       len(srv.Catalog().Packs),
	}
	if c.keyOut != "" {
		if err := os.WriteFile(c.keyOut, []byte(srv.Key()+"\n"), 0o600); err != nil {
			ln.Close()
			return fmt.Errorf("flag --key-out: write %s: %w", c.keyOut, unwrapPathError(err))
		}
		doc.KeyFile = c.keyOut
	} else {
		doc.Key = srv.Key()
	}

	if c.json {
		writeJSONLine(a.stdout, doc)
		a.wroteJSON = true
	} else {
		fmt.Fprintf(a.stdout, "serving workspace %s (%d packs, serial %d) from %s\n", doc.WorkspaceID, doc.Packs, doc.Serial, c.dir)
		fmt.Fprintf(a.stdout, "url: %s\n", doc.URL)
		if doc.KeyFile != "" {
			fmt.Fprintf(a.stdout, "key: written to %s\n", doc.KeyFile)
		} else {
			fmt.Fprintf(a.stdout, "key: %s\n", doc.Key)
		}
		fmt.Fprintln(a.stdout, "stop with Ctrl-C")
	}
	if f, ok := a.stdout.(interface{ Sync() error }); ok {
		f.Sync()
	}

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", doc.URL, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), serveShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("stop serving on %s: %w", doc.URL, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve on %s: %w", doc.URL, err)
	}
	a.log.Info("serve-workspace stopped", "url", doc.URL)
	return nil
}

// serveMetrics listens on addr and serves a.metrics' /metrics, /healthz and
// /readyz until the returned stop is called. It logs the address it
// listens on (with port 0, the one picked).
func (a *app) serveMetrics(addr string) (stop func(), err error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, usagef("flag --metrics-addr %q: want HOST:PORT, e.g. 127.0.0.1:9410: %v", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("flag --metrics-addr: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: a.metrics.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics server stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	a.log.Info("serving metrics", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String()+"/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), serveShutdownTimeout)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}, nil
}
