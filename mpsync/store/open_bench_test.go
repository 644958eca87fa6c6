package store_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"mpsync.dev/mpsync/storage"
	"mpsync.dev/mpsync/store"
	"mpsync.dev/mpsync/store/storetest"
)

// fillDir imports n small packs into the directory store at dir, in one
// batch when the store offers batches.
func fillDir(tb testing.TB, dir string, n int) {
	tb.Helper()
	d, err := store.OpenDir(dir, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	imp := func(ctx context.Context, req storage.ImportRequest, data []byte) error {
		_, err := d.Import(ctx, req, bytes.NewReader(data))
		return err
	}
	var commit func() error
	if bt, ok := any(d).(storage.Batcher); ok {
		b, err := bt.Batch(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		imp = func(ctx context.Context, req storage.ImportRequest, data []byte) error {
			_, err := b.Import(ctx, req, bytes.NewReader(data))
			return err
		}
		commit = func() error { return b.Commit(ctx) }
	}
	for i := range n {
		id := fmt.Sprintf("Contoso.Open.Pack%05d", i)
		data := storetest.Pack(id, "1.0.0.0")
		if err := imp(ctx, storetest.Request(id, "1.0.0.0", data), data); err != nil {
			tb.Fatal(err)
		}
	}
	if commit != nil {
		if err := commit(); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkOpen measures OpenDir and Close of a store holding 10 and
// 10,000 packs: the cost must not grow with the packs.
func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("packs=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			fillDir(b, dir, n)
			b.ReportAllocs()
			for b.Loop() {
				d, err := store.OpenDir(dir, nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := d.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenList measures what each mpsync command pays before any
// work: OpenDir, the first List (reading and decoding the whole index) and
// Close, at 1,000 packs.
func BenchmarkOpenList(b *testing.B) {
	dir := b.TempDir()
	fillDir(b, dir, 1000)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d, err := store.OpenDir(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		if l, err := d.List(ctx); err != nil || len(l) != 1000 {
			b.Fatal(len(l), err)
		}
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
