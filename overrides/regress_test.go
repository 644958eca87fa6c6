package overrides_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/unicode"

	"github.com/stretchr/testify/require"

	"mpsync.dev/overrides"
)

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

// The pack holds a wrong-target override whose id is the default id that
// SetEnabled derives: the new override gets a unique id and the pack stays
// valid.
func TestRegressionDocumentIDCollisionGetsAUniqueID(t *testing.T) {
	xml := packXML("Contoso.Ov", "1.0.0.0", ov{id: "Contoso.Ov.MPUpdate.Enabled", rule: ruleMPUpdate, setting: "Enabled", value: "true", context: "Windows!Microsoft.Windows.Computer"})
	d, err := overrides.OpenDocument(strings.NewReader(xml), nil)
	require.NoError(t, err)
	o, err := d.SetEnabled(ruleMPUpdate, false, nil)
	require.NoError(t, err)
	require.Equal(t, "Contoso.Ov.MPUpdate.Enabled.2", o.ID)
	var buf bytes.Buffer
	_, err = d.WriteTo(&buf)
	require.NoError(t, err)
	p, err := overrides.ReadPack(&buf)
	require.NoError(t, err, "the written pack reads back")
	require.Len(t, p.Overrides(), 2)
	set, err := overrides.NewSet(p)
	require.NoError(t, err)
	res := set.Resolve(ruleMPUpdate, overrides.Enabled, overrides.Target{})
	require.NotNil(t, res.Winner)
	require.Equal(t, "false", res.Winner.Value)
}

// An id that is already taken, given explicitly, is refused without
// changing the document.
func TestRegressionExplicitIDTakenLeavesTheDocumentAlone(t *testing.T) {
	xml := packXML("Contoso.Ov", "1.0.0.0", ov{id: "Contoso.Taken", rule: ruleMPUpdate, setting: "Enabled", value: "true"})
	d, err := overrides.OpenDocument(strings.NewReader(xml), nil)
	require.NoError(t, err)
	_, _, err = d.SetFrequency(ruleMPUpdate, 3600, &overrides.SetOptions{ID: "Contoso.Taken"})
	require.Error(t, err)
	require.False(t, d.Changed())
	require.Equal(t, "1.0.0.0", d.Version().String())
}

func TestRegressionUTF16BE(t *testing.T) {
	xml := strings.Replace(packXML("Contoso.BE", "1.0.0.0", ov{id: "X", rule: ruleMPUpdate, setting: "Enabled", value: "false"}), "utf-8", "utf-16", 1)
	be, err := unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(xml))
	require.NoError(t, err)
	p, err := overrides.ReadPack(bytes.NewReader(be))
	require.NoError(t, err)
	require.Len(t, p.Overrides(), 1)
	d, err := overrides.OpenDocument(bytes.NewReader(be), nil)
	require.NoError(t, err)
	_, _, err = d.SetFrequency(ruleGIP, 3600, nil)
	require.NoError(t, err)
	var buf bytes.Buffer
	d.WriteTo(&buf)
	require.Equal(t, []byte{0xFE, 0xFF}, buf.Bytes()[:2])
	p2, err := overrides.ReadPack(&buf)
	require.NoError(t, err)
	require.Len(t, p2.Overrides(), 2)
}

func TestRegressionSetByIDRetargets(t *testing.T) {
	xml := packXML("Contoso.Ov", "1.0.0.0", ov{id: "Contoso.Ov.X", rule: ruleMPUpdate, setting: "Enabled", value: "true", instance: "11111111-1111-1111-1111-111111111111"})
	d, err := overrides.OpenDocument(strings.NewReader(xml), nil)
	require.NoError(t, err)
	o, err := d.SetEnabled(ruleMPUpdate, false, &overrides.SetOptions{ID: "Contoso.Ov.X"})
	require.NoError(t, err)
	require.Equal(t, "", o.ContextInstance, "asked for a class override (empty ContextInstance), got instance %s", o.ContextInstance)
}
