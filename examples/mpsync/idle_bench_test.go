package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/pack"
)

// writeWorkspaceDir writes a workspace directory for serve-workspace (see
// mpsynctest.LoadDir) to dir: the Advisor base pack and n-1 packs of one
// enabled solution, each of about size bytes.
func writeWorkspaceDir(tb testing.TB, dir string, n, size int) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "packs"), 0o755); err != nil {
		tb.Fatal(err)
	}
	lib := mpsynctest.PlatformReference("SC", "Microsoft.SystemCenter.Library", "7.0.8433.0")
	adv := pack.Reference{Alias: "Advisor", ID: advisorID, Version: pack.MustParseVersion("7.1.10226.0"), PublicKeyToken: "31bf3856ad364e35"}
	cfg := mpsynctest.DirConfig{
		Key:       "bXBzeW5jLWlkbGUtYmVuY2gta2V5LW5vdC1hLXNlY3JldA==",
		Solutions: []catalog.Solution{{Name: "Big", Enabled: true}},
		Packs:     map[string]mpsynctest.DirPack{advisorID: {Channel: catalog.ChannelBase}},
	}
	write := func(id, version string, refs ...pack.Reference) {
		b, err := packgen.Spec{ID: id, Version: pack.MustParseVersion(version), References: refs, Rules: 1, TargetSize: size}.Bytes()
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "packs", id+".xml"), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write(advisorID, "7.1.10226.1239", lib)
	for i := range n - 1 {
		id := fmt.Sprintf("Microsoft.IntelligencePacks.Big.P%04d", i)
		cfg.Packs[id] = mpsynctest.DirPack{Channel: catalog.ChannelSolution, Solution: "Big"}
		write(id, "7.2.1.0", lib, adv)
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "workspace.json"), b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkIdleSync measures an idle `mpsync sync` (nothing to do) of a
// store holding 1,000 packs, process start to exit: the built command
// against `mpsync serve-workspace --dir` on loopback, after one cold sync.
// Set MPSYNC_BENCH_DIR to keep the workspace directory, the key and the
// store there (for hyperfine; the benchmark logs the command).
func BenchmarkIdleSync(b *testing.B) {
	const n = 1000
	dir := os.Getenv("MPSYNC_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	wsDir := filepath.Join(dir, "workspace")
	if _, err := os.Stat(filepath.Join(wsDir, "workspace.json")); err != nil {
		writeWorkspaceDir(b, wsDir, n, 4<<10)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	keyFile := filepath.Join(dir, "key")
	srv := exec.Command(binary, "serve-workspace", "--dir", wsDir, "--addr", addr, "--key-out", keyFile, "--json")
	srv.Env = cleanEnv()
	out, err := srv.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		srv.Process.Signal(syscall.SIGINT)
		srv.Wait()
	}()
	var sd serveDoc
	if err := json.NewDecoder(out).Decode(&sd); err != nil {
		b.Fatalf("serve-workspace: %v", err)
	}
	args := []string{"--store", filepath.Join(dir, "store"), "--workspace-url", sd.URL, "--allow-http",
		"--workspace-id", sd.WorkspaceID, "--workspace-key-file", keyFile, "sync"}
	run := func() {
		cmd := exec.Command(binary, args...)
		cmd.Env = cleanEnv()
		if o, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("mpsync sync: %v\n%s", err, o)
		}
	}
	start := time.Now()
	run() // the cold sync
	b.Logf("cold sync of %d packs through the command: %v; hyperfine: hyperfine -N --warmup 3 '%s %s'",
		n, time.Since(start).Round(time.Millisecond), binary, shellJoin(args))
	run()
	for b.Loop() {
		run()
	}
}

func shellJoin(args []string) string {
	s := ""
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		s += a
	}
	return s
}
