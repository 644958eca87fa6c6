package store_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/store/storetest"
)

func benchPacks(n int) (ids []string, data map[string][]byte) {
	lib := pack.Reference{Alias: "SC", ID: "Microsoft.SystemCenter.Library", Version: pack.MustParseVersion("7.0.8427.0"), PublicKeyToken: "31bf3856ad364e35"}
	win := pack.Reference{Alias: "Windows", ID: "Microsoft.Windows.Library", Version: pack.MustParseVersion("7.5.8501.0"), PublicKeyToken: "31bf3856ad364e35"}
	data = make(map[string][]byte, n)
	for i := range n {
		id := fmt.Sprintf("Contoso.Bench.Pack%04d", i)
		ids = append(ids, id)
		data[id] = storetest.Pack(id, "1.0.0.0", lib, win)
	}
	return ids, data
}

// BenchmarkDir1000 measures a store directory holding 1,000 packs: List,
// OpenDir, and Rebuild from the pack files (reading the old database).
func BenchmarkDir1000(b *testing.B) {
	const n = 1000
	dir := b.TempDir()
	d, err := store.OpenDir(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	ids, data := benchPacks(n)
	ctx := context.Background()
	for _, id := range ids {
		if _, err := d.Import(ctx, storetest.Request(id, "1.0.0.0", data[id]), bytes.NewReader(data[id])); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("List", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l, err := d.List(ctx)
			if err != nil || len(l) != n {
				b.Fatal(len(l), err)
			}
		}
	})
	if err := d.Close(); err != nil {
		b.Fatal(err)
	}

	b.Run("OpenDir", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d, err := store.OpenDir(dir, nil)
			if err != nil {
				b.Fatal(err)
			}
			d.Close()
		}
	})

	b.Run("Rebuild", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rep, err := store.Rebuild(dir, nil)
			if err != nil || len(rep.Restored) != n {
				b.Fatal(err, len(rep.Restored))
			}
		}
	})
}

// BenchmarkMemoryList1000 is List on an in-memory store of 1,000 packs.
func BenchmarkMemoryList1000(b *testing.B) {
	s := store.NewMemory()
	ids, data := benchPacks(1000)
	ctx := context.Background()
	for _, id := range ids {
		if _, err := s.Import(ctx, storetest.Request(id, "1.0.0.0", data[id]), bytes.NewReader(data[id])); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.List(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImport1MB imports a 1 MB pack, rotating three versions so that
// every import writes a new pack file, syncs it and the index, and deletes
// the version two imports old.
func BenchmarkImport1MB(b *testing.B) {
	const id = "Contoso.Bench.Large"
	versions := []string{"1.0.0.1", "1.0.0.2", "1.0.0.3"}
	var docs [][]byte
	var reqs []storage.ImportRequest
	for _, v := range versions {
		data := storetest.PaddedPack(id, v, 1<<20)
		docs = append(docs, data)
		reqs = append(reqs, storetest.Request(id, v, data))
	}
	run := func(b *testing.B, imp func(storage.ImportRequest, []byte) error) {
		b.SetBytes(int64(len(docs[0])))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := imp(reqs[i%3], docs[i%3]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	}
	ctx := context.Background()
	b.Run("Dir", func(b *testing.B) {
		d, err := store.OpenDir(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close()
		run(b, func(r storage.ImportRequest, data []byte) error {
			_, err := d.Import(ctx, r, bytes.NewReader(data))
			return err
		})
	})
	b.Run("Memory", func(b *testing.B) {
		m := store.NewMemory()
		run(b, func(r storage.ImportRequest, data []byte) error {
			_, err := m.Import(ctx, r, bytes.NewReader(data))
			return err
		})
	})
}
