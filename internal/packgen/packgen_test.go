package packgen_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/internal/packgen"
	"mpsync.dev/mpsync/pack"
)

func refs() []pack.Reference {
	return []pack.Reference{
		{Alias: "SC", ID: "Microsoft.SystemCenter.Library", Version: pack.MustParseVersion("7.0.8433.0"), PublicKeyToken: "31bf3856ad364e35"},
		{ID: "System.Library", Version: pack.MustParseVersion("7.5.8501.0")},
	}
}

func TestSpecReadsBack(t *testing.T) {
	tests := []struct {
		enc    packgen.Encoding
		prefix []byte
	}{
		{packgen.UTF8, []byte("<?xml")},
		{packgen.UTF8BOM, []byte{0xEF, 0xBB, 0xBF, '<'}},
		{packgen.UTF16LE, []byte{0xFF, 0xFE, '<', 0}},
		{packgen.UTF16BE, []byte{0xFE, 0xFF, 0, '<'}},
	}
	for _, tt := range tests {
		for _, target := range []int{0, 10_000, 300_000} {
			t.Run(tt.enc.String(), func(t *testing.T) {
				spec := packgen.Spec{
					ID: "Contoso.Gen", Version: pack.MustParseVersion("1.2.3.4"), Name: "Contoso <Gen> & Co",
					References: refs(), Rules: 3, TargetSize: target, Encoding: tt.enc,
				}
				b, err := spec.Bytes()
				require.NoError(t, err)
				assert.True(t, bytes.HasPrefix(b, tt.prefix), "starts with % x", b[:4])
				assert.GreaterOrEqual(t, len(b), target)
				if target > 0 {
					// Padding stops within a rule and its display string of the target.
					assert.Less(t, len(b), target+8<<10)
				}

				m, err := pack.ReadManifest(bytes.NewReader(b))
				require.NoError(t, err)
				assert.Equal(t, "Contoso.Gen", m.ID)
				assert.Equal(t, "Contoso <Gen> & Co", m.Name)
				assert.Equal(t, "1.2.3.4", m.Version.String())
				require.Len(t, m.References, 2)
				assert.Equal(t, "SC", m.References[0].Alias)
				assert.Equal(t, "31bf3856ad364e35", m.References[0].PublicKeyToken)
				assert.Equal(t, "Ref2", m.References[1].Alias)
				assert.Equal(t, "System.Library", m.References[1].ID)

				v, err := pack.Validate(bytes.NewReader(b), pack.Expect{ID: "Contoso.Gen", Version: m.Version}, pack.Limits{})
				require.NoError(t, err)
				assert.Equal(t, m, v)
			})
		}
	}
}

func TestSpecRulesAndDisplayStrings(t *testing.T) {
	b, err := packgen.Spec{ID: "Contoso.Rules", Rules: 25}.Bytes()
	require.NoError(t, err)
	s := string(b)
	assert.Equal(t, 25, strings.Count(s, "<Rule ID="))
	assert.Equal(t, 26, strings.Count(s, "<DisplayString ElementID="), "one per rule plus the pack")
	assert.Contains(t, s, `<DisplayString ElementID="Contoso.Rules.Rule00025">`)
	assert.Contains(t, s, "<![CDATA[")
	assert.Contains(t, s, `<OverrideableParameter ID="IntervalSeconds"`)
}

func TestSpecDeterministic(t *testing.T) {
	spec := packgen.Spec{ID: "Contoso.Same", Rules: 4, TargetSize: 40_000, Encoding: packgen.UTF16LE}
	a, err := spec.Bytes()
	require.NoError(t, err)
	b, err := spec.Bytes()
	require.NoError(t, err)
	assert.Equal(t, a, b)
}

func TestWriteToCountsBytes(t *testing.T) {
	for _, enc := range []packgen.Encoding{packgen.UTF8, packgen.UTF8BOM, packgen.UTF16LE, packgen.UTF16BE} {
		t.Run(enc.String(), func(t *testing.T) {
			spec := packgen.Spec{ID: "Contoso.Count", Rules: 2, TargetSize: 100_000, Encoding: enc}
			var buf bytes.Buffer
			n, err := spec.WriteTo(&buf)
			require.NoError(t, err)
			assert.Equal(t, int64(buf.Len()), n)
			assert.GreaterOrEqual(t, n, int64(100_000))
		})
	}
}

// TestWriteToStreams pipes a 20 MB pack straight into pack.Validate: the
// generator never needs the whole document.
func TestWriteToStreams(t *testing.T) {
	pr, pw := io.Pipe()
	spec := packgen.Spec{ID: "Contoso.Stream", Version: pack.MustParseVersion("2.0.0.0"), TargetSize: 20 << 20, Encoding: packgen.UTF16BE}
	done := make(chan error, 1)
	go func() {
		_, err := spec.WriteTo(pw)
		pw.CloseWithError(err)
		done <- err
	}()
	m, err := pack.Validate(pr, pack.Expect{ID: "Contoso.Stream"}, pack.Limits{})
	require.NoError(t, err)
	require.NoError(t, <-done)
	assert.Equal(t, "2.0.0.0", m.Version.String())
}

type failWriter struct{ after int }

var errDiskFull = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.after {
		n := f.after
		f.after = 0
		return n, errDiskFull
	}
	f.after -= len(p)
	return len(p), nil
}

func TestWriteToWriterError(t *testing.T) {
	for _, enc := range []packgen.Encoding{packgen.UTF8, packgen.UTF8BOM, packgen.UTF16LE} {
		n, err := packgen.Spec{ID: "Contoso.Fail", TargetSize: 1 << 20, Encoding: enc}.WriteTo(&failWriter{after: 100_000})
		assert.ErrorIs(t, err, errDiskFull, enc.String())
		assert.Equal(t, int64(100_000), n, enc.String())
	}
}

func TestSpecInvalid(t *testing.T) {
	tests := []struct {
		name string
		spec packgen.Spec
		want string
	}{
		{"no id", packgen.Spec{}, "Spec.ID"},
		{"bad id", packgen.Spec{ID: "a/b"}, "Spec.ID"},
		{"bad reference", packgen.Spec{ID: "A", References: []pack.Reference{{ID: ""}}}, "Spec.References[0].ID"},
		{"negative rules", packgen.Spec{ID: "A", Rules: -1}, "Spec.Rules"},
		{"negative size", packgen.Spec{ID: "A", TargetSize: -1}, "Spec.TargetSize"},
		{"bad encoding", packgen.Spec{ID: "A", Encoding: 9}, "Encoding(9)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			n, err := tt.spec.WriteTo(&buf)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Zero(t, n)
			assert.Zero(t, buf.Len())
			_, err = tt.spec.Bytes()
			assert.Error(t, err)
		})
	}
	_, err := packgen.Spec{ID: "a/b"}.Bytes()
	assert.ErrorIs(t, err, pack.ErrInvalidID)
}
