package overrides_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/overrides"
)

// writeAged writes a file and dates it in the past, as files are in
// production, so the size-and-time check alone decides.
func writeAged(t testing.TB, path, content string, age time.Duration) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	old := time.Now().Add(-age)
	require.NoError(t, os.Chtimes(path, old, old))
}

func TestSourceReloadsOnlyOnChange(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := filepath.Join(dir, "a.xml")
	writeAged(t, a, packXML("P.A", "1.0.0.0", ov{id: "A.1", rule: ruleGIP, setting: "Frequency", value: "3600"}), time.Hour)
	writeAged(t, filepath.Join(dir, "notes.txt"), "not a pack", time.Hour)
	src := overrides.NewSource(overrides.SourceOptions{Paths: []string{dir}})

	s1, err := src.Load(ctx)
	require.NoError(t, err)
	require.Len(t, s1.Overrides(), 1)
	s2, err := src.Load(ctx)
	require.NoError(t, err)
	assert.Same(t, s1, s2, "unchanged files give the same Set")

	// A new file in the directory is picked up.
	writeAged(t, filepath.Join(dir, "b.XML"), packXML("P.B", "1.0.0.0", ov{id: "B.1", rule: ruleMPUpdate, setting: "Enabled", value: "false"}), 30*time.Minute)
	s3, err := src.Load(ctx)
	require.NoError(t, err)
	assert.Len(t, s3.Overrides(), 2)

	// A changed file is re-read.
	writeAged(t, a, packXML("P.A", "1.0.0.1", ov{id: "A.1", rule: ruleGIP, setting: "Frequency", value: "7200"}), 10*time.Minute)
	s4, err := src.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, "7200", s4.Resolve(ruleGIP, overrides.Frequency, overrides.Target{}).Winner.Value)

	// An invalid edit: the error and the last valid set.
	writeAged(t, a, packXML("P.A", "1.0.0.2", ov{id: "A.1", rule: ruleGIP, setting: "Frequency", value: "soon"}), 5*time.Minute)
	s5, err := src.Load(ctx)
	require.ErrorIs(t, err, overrides.ErrInvalid)
	assert.Contains(t, err.Error(), a)
	assert.Contains(t, err.Error(), "soon")
	assert.Same(t, s4, s5)
	// Still reported while the file stays broken.
	s6, err := src.Load(ctx)
	require.ErrorIs(t, err, overrides.ErrInvalid)
	assert.Same(t, s4, s6)

	// Fixed: back to normal.
	writeAged(t, a, packXML("P.A", "1.0.0.3", ov{id: "A.1", rule: ruleGIP, setting: "Frequency", value: "900"}), time.Minute)
	s7, err := src.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, "900", s7.Resolve(ruleGIP, overrides.Frequency, overrides.Target{}).Winner.Value)

	// A removed file takes its overrides with it.
	require.NoError(t, os.Remove(filepath.Join(dir, "b.XML")))
	s8, err := src.Load(ctx)
	require.NoError(t, err)
	assert.Len(t, s8.Overrides(), 1)
}

// TestSourceSameSizeAndTime covers an edit that keeps the size and the
// modification time: a file read within the racy window is checked by hash.
func TestSourceSameSizeAndTime(t *testing.T) {
	ctx := context.Background()
	f := filepath.Join(t.TempDir(), "p.xml")
	mtime := time.Now()
	write := func(v string) {
		require.NoError(t, os.WriteFile(f, []byte(packXML("P.A", "1.0.0.0", ov{id: "A.1", rule: ruleGIP, setting: "Frequency", value: v})), 0o644))
		require.NoError(t, os.Chtimes(f, mtime, mtime))
	}
	write("3600")
	src := overrides.NewSource(overrides.SourceOptions{Paths: []string{f}})
	s1, err := src.Load(ctx)
	require.NoError(t, err)
	s2, err := src.Load(ctx)
	require.NoError(t, err)
	assert.Same(t, s1, s2, "same content, re-read by hash, same Set")
	write("7200")
	s3, err := src.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, "7200", s3.Overrides()[0].Value)
}

func TestSourceErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, err := overrides.NewSource(overrides.SourceOptions{Paths: []string{filepath.Join(dir, "missing.xml")}}).Load(ctx)
	require.ErrorIs(t, err, os.ErrNotExist)

	writeAged(t, filepath.Join(dir, "a.xml"), packXML("P.A", "1.0.0.0", ov{id: "X.1", rule: ruleGIP, setting: "Frequency", value: "60"}), time.Hour)
	writeAged(t, filepath.Join(dir, "b.xml"), packXML("P.B", "1.0.0.0", ov{id: "X.1", rule: ruleGIP, setting: "Frequency", value: "120"}), time.Hour)
	set, err := overrides.NewSource(overrides.SourceOptions{Paths: []string{dir}}).Load(ctx)
	require.ErrorIs(t, err, overrides.ErrInvalid)
	assert.Nil(t, set, "no valid load yet")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = overrides.NewSource(overrides.SourceOptions{Paths: []string{dir}}).Load(cctx)
	require.ErrorIs(t, err, context.Canceled)

	malformed := overrides.NewSource(overrides.SourceOptions{Paths: []string{testdata("malformed.xml")}})
	_, err = malformed.Load(ctx)
	require.ErrorIs(t, err, pack.ErrMalformed)
}

// BenchmarkSourceLoadUnchanged measures Load when no file changed: one stat
// per file plus one directory read.
func BenchmarkSourceLoadUnchanged(b *testing.B) {
	dir := b.TempDir()
	for i := range 5 {
		writeAged(b, filepath.Join(dir, fmt.Sprintf("p%d.xml", i)),
			packXML(fmt.Sprintf("P.%d", i), "1.0.0.0", ov{id: fmt.Sprintf("O.%d", i), rule: ruleGIP, setting: "Frequency", value: "3600"}), time.Hour)
	}
	src := overrides.NewSource(overrides.SourceOptions{Paths: []string{dir}})
	ctx := context.Background()
	if _, err := src.Load(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Load(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSourceLoadChanged is the comparison: every file re-read and parsed.
func BenchmarkSourceLoadChanged(b *testing.B) {
	dir := b.TempDir()
	var paths []string
	for i := range 5 {
		p := filepath.Join(dir, fmt.Sprintf("p%d.xml", i))
		paths = append(paths, p)
		writeAged(b, p, packXML(fmt.Sprintf("P.%d", i), "1.0.0.0", ov{id: fmt.Sprintf("O.%d", i), rule: ruleGIP, setting: "Frequency", value: "3600"}), time.Hour)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		src := overrides.NewSource(overrides.SourceOptions{Paths: paths})
		if _, err := src.Load(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatBaseline is the floor BenchmarkSourceLoadUnchanged is
// measured against: the same system calls, without a Source.
func BenchmarkStatBaseline(b *testing.B) {
	dir := b.TempDir()
	for i := range 5 {
		writeAged(b, filepath.Join(dir, fmt.Sprintf("p%d.xml", i)), packXML(fmt.Sprintf("P.%d", i), "1.0.0.0"), time.Hour)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := os.Stat(dir); err != nil {
			b.Fatal(err)
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range ents {
			if _, err := os.Stat(filepath.Join(dir, e.Name())); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// ctx whose Err turns non-nil after n calls.
type flakyCtx struct {
	context.Context
	n int
}

func (c *flakyCtx) Err() error {
	c.n--
	if c.n < 0 {
		return context.Canceled
	}
	return nil
}

// Regression: a Load cancelled midway recorded a refreshed file as seen, so
// the edit it had read was never picked up.
func TestRegressionCancelledLoadDoesNotLoseAnEdit(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.xml")
	b := filepath.Join(dir, "b.xml")
	require.NoError(t, os.WriteFile(a, []byte(packXML("A", "1.0.0.0", ov{id: "A.1", rule: ruleMPUpdate, setting: "Enabled", value: "true"})), 0o644))
	require.NoError(t, os.WriteFile(b, []byte(packXML("B", "1.0.0.0")), 0o644))
	old := time.Now().Add(-time.Hour)
	os.Chtimes(a, old, old)
	os.Chtimes(b, old, old)
	src := overrides.NewSource(overrides.SourceOptions{Paths: []string{dir}})
	set, err := src.Load(context.Background())
	require.NoError(t, err)
	require.Equal(t, "true", set.Overrides()[0].Value)

	// Edit a.xml (freeze: disable), keep it out of the racy window.
	require.NoError(t, os.WriteFile(a, []byte(packXML("A", "1.0.0.1", ov{id: "A.1", rule: ruleMPUpdate, setting: "Enabled", value: "false"})), 0o644))
	old2 := time.Now().Add(-30 * time.Minute)
	os.Chtimes(a, old2, old2)

	// A Load cancelled after a.xml was refreshed but before b.xml.
	_, err = src.Load(&flakyCtx{Context: context.Background(), n: 1})
	require.Error(t, err)

	set, err = src.Load(context.Background())
	require.NoError(t, err)
	require.Equal(t, "false", set.Overrides()[0].Value, "edit made before a cancelled Load is never seen")
}
