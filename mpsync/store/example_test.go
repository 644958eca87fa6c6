package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

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

	// A second OpenDir of the same directory waits up to LockTimeout, then
	// is refused while s is open.
	_, err = store.OpenDir(dir, &store.DirOptions{LockTimeout: 100 * time.Millisecond})
	fmt.Println(errors.Is(err, store.ErrLocked))

	// Shared, a reader opens beside the holder (a running scheduler).
	r, err := store.OpenDir(dir, &store.DirOptions{Shared: true})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	entries, _ = r.List(ctx)
	fmt.Println(len(entries))
	// Output:
	// Contoso.Example 1.0.0.0 workspace
	// Microsoft.SystemCenter.Advisor 7.1.10226.1239 workspace
	// true
	// 2
}

// Damage the database and recover: OpenDir refuses, naming the file, and
// Rebuild rebuilds the database from the pack files, keeping what the old
// database still gives.
func ExampleRebuild() {
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
	files, _ := filepath.Glob(filepath.Join(dir, "packs", "*"))
	fmt.Println(len(files), filepath.Base(files[0]) == e.SHA256)
	s.Close()

	// Lose the database: the packs are still there, their provenance is not.
	for _, f := range []string{"store.db", "store.db-wal", "store.db-shm"} {
		os.Remove(filepath.Join(dir, f))
	}
	r, err := store.Rebuild(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("restored:", len(r.Restored), "custom:", len(r.Unrestored), r.Unrestored[0].ID)
	s, err = store.OpenDir(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	e, _ = s.Get(ctx, "Contoso.Example")
	fmt.Println(e.ID, e.Owner, s.Rebuilt())
	// Output:
	// 1 true
	// restored: 0 custom: 1 Contoso.Example
	// Contoso.Example custom true
}

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
