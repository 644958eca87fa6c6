package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/store/storetest"
)

// Open a store directory, import two packs and list them.
func ExampleOpenDir() {
	dir, err := os.MkdirTemp("", "mpsync-store-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := store.OpenDir(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ctx := context.Background()
	for _, p := range []struct{ id, version string }{
		{"Microsoft.SystemCenter.Advisor", "7.1.10226.1239"},
		{"Contoso.Example", "1.0.0.0"},
	} {
		data := storetest.Pack(p.id, p.version)
		req := storetest.Request(p.id, p.version, data) // id, version, size, sha256
		if _, err := s.Import(ctx, req, bytes.NewReader(data)); err != nil {
			log.Fatal(err)
		}
	}
	entries, err := s.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Println(e.ID, e.Version, e.Owner)
	}

	// A second OpenDir of the same directory is refused while s is open.
	_, err = store.OpenDir(dir, nil)
	fmt.Println(errors.Is(err, store.ErrLocked))
	// Output:
	// Contoso.Example 1.0.0.0 workspace
	// Microsoft.SystemCenter.Advisor 7.1.10226.1239 workspace
	// true
}

// Lose index.json and reopen: the index is rebuilt from the pack files, and
// each pack's provenance from the sidecar beside its file.
func ExampleDir_Report() {
	dir, err := os.MkdirTemp("", "mpsync-store-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := store.OpenDir(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	data := storetest.Pack("Contoso.Example", "1.0.0.0")
	req := storetest.Request("Contoso.Example", "1.0.0.0", data) // workspace provenance
	e, err := s.Import(ctx, req, bytes.NewReader(data))
	if err != nil {
		log.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "packs", "Contoso.Example", "*"))
	for _, f := range files {
		fmt.Println(filepath.Base(f) == e.SHA256+filepath.Ext(f), filepath.Ext(f))
	}
	s.Close()

	if err := os.Remove(filepath.Join(dir, "index.json")); err != nil {
		log.Fatal(err)
	}
	s, err = store.OpenDir(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	r := s.Report()
	fmt.Println("rebuilt:", r.Rebuilt, "restored:", len(r.Restored), "custom:", len(r.Unrestored))
	e, _ = s.Get(ctx, "Contoso.Example")
	fmt.Println(e.ID, e.Owner, e.WorkspaceID)
	// Output:
	// true .json
	// true .xml
	// rebuilt: true restored: 1 custom: 0
	// Contoso.Example workspace storetest-workspace
}

// Replace a pack, then roll back to the version it replaced.
func ExampleDir_Rollback() {
	dir, err := os.MkdirTemp("", "mpsync-store-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := store.OpenDir(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ctx := context.Background()
	for _, v := range []string{"1.0.0.0", "1.1.0.0"} {
		data := storetest.Pack("Contoso.Example", v)
		if _, err := s.Import(ctx, storetest.Request("Contoso.Example", v, data), bytes.NewReader(data)); err != nil {
			log.Fatal(err)
		}
	}
	e, _ := s.Get(ctx, "Contoso.Example")
	fmt.Println("current", e.Version, "previous", e.Previous.Version)
	e, err = s.Rollback(ctx, "Contoso.Example")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("current", e.Version, "previous", e.Previous.Version)
	// Output:
	// current 1.1.0.0 previous 1.0.0.0
	// current 1.0.0.0 previous 1.1.0.0
}

// An in-memory store refuses a pack whose bytes differ from the request
// and keeps what it holds.
func ExampleNewMemory() {
	s := store.NewMemory()
	ctx := context.Background()

	data := storetest.Pack("Contoso.Example", "1.0.0.0")
	if _, err := s.Import(ctx, storetest.Request("Contoso.Example", "1.0.0.0", data), bytes.NewReader(data)); err != nil {
		log.Fatal(err)
	}

	other := storetest.Pack("Contoso.Example", "2.0.0.0")
	req := storetest.Request("Contoso.Example", "2.0.0.0", other)
	req.SHA256 = storetest.Request("Contoso.Example", "1.0.0.0", data).SHA256 // wrong hash
	_, err := s.Import(ctx, req, bytes.NewReader(other))
	fmt.Println(errors.Is(err, storage.ErrMismatch))

	e, _ := s.Get(ctx, "Contoso.Example")
	fmt.Println(e.ID, e.Version)
	// Output:
	// true
	// Contoso.Example 1.0.0.0
}

// Meta records are small named files beside the packs.
func ExampleMemory_AppendMeta() {
	s := store.NewMemory() // a Dir behaves the same, durably
	ctx := context.Background()
	_ = s.AppendMeta(ctx, "runs.jsonl", []byte(`{"rule":"MPUpdate","result":"ok"}`+"\n"))
	_ = s.AppendMeta(ctx, "runs.jsonl", []byte(`{"rule":"MPUpdate","result":"error"}`+"\n"))
	b, _ := s.ReadMeta(ctx, "runs.jsonl")
	fmt.Print(string(b))

	err := s.WriteMeta(ctx, "../escape", nil)
	fmt.Println(errors.Is(err, storage.ErrInvalidName))
	// Output:
	// {"rule":"MPUpdate","result":"ok"}
	// {"rule":"MPUpdate","result":"error"}
	// true
}
