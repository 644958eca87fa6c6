package pack_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/pack"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    pack.Version
		wantErr string // substring of the error; empty means success
	}{
		{in: "7.1.10226.1239", want: pack.Version{Major: 7, Minor: 1, Build: 10226, Revision: 1239}},
		{in: "1.0.0.0", want: pack.Version{Major: 1}},
		{in: "7.1", want: pack.Version{Major: 7, Minor: 1}},
		{in: "7", want: pack.Version{Major: 7}},
		{in: "7.1.10226", want: pack.Version{Major: 7, Minor: 1, Build: 10226}},
		{in: "07.01.0010226.01", want: pack.Version{Major: 7, Minor: 1, Build: 10226, Revision: 1}},
		{in: "2147483647.0.0.2147483647", want: pack.Version{Major: pack.MaxVersionPart, Revision: pack.MaxVersionPart}},
		{in: "", wantErr: "empty string"},
		{in: "7.1.x", wantErr: `part 3 ("x") is not a non-negative decimal integer`},
		{in: "-1", wantErr: `part 1 ("-1") is not a non-negative decimal integer`},
		{in: "1..2", wantErr: "part 2 is empty"},
		{in: "1.2.", wantErr: "part 3 is empty"},
		{in: ".1", wantErr: "part 1 is empty"},
		{in: "2147483648", wantErr: "part 1 (2147483648) exceeds 2147483647"},
		{in: "1.99999999999999999999999", wantErr: "exceeds 2147483647"},
		{in: "1.2.3.4.5", wantErr: "5 parts, at most 4 allowed"},
		{in: "+1.2", wantErr: `part 1 ("+1") is not`},
		{in: " 1.2", wantErr: "not a non-negative decimal integer"},
		{in: "1.2 ", wantErr: "not a non-negative decimal integer"},
		{in: "1. 2", wantErr: "part 2"},
		{in: "v1.2", wantErr: "part 1"},
		{in: "1.2-beta", wantErr: "part 2"},
		{in: "١.٢", wantErr: "part 1"}, // Arabic-Indic digits are not ASCII digits
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := pack.ParseVersion(tt.in)
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, pack.ErrInvalidVersion)
			assert.Contains(t, err.Error(), tt.wantErr)
			if tt.in != "" {
				assert.Contains(t, err.Error(), `"`+tt.in+`"`, "error quotes the input")
			}
		})
	}
}

func TestMustParseVersionPanics(t *testing.T) {
	assert.Panics(t, func() { pack.MustParseVersion("1.x") })
	assert.NotPanics(t, func() { pack.MustParseVersion("1.2") })
}

func TestVersionCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"7.1.10226.1239", "7.1.10226.1240", -1},
		{"7.1.10226.1240", "7.2.0.0", -1},
		{"7.2", "7.1.99999.99999", 1},
		{"7.1.10226", "7.1.10226.0", 0},
		{"1.0.0.58", "1.0.0.56", 1},
		{"1.0.0.9", "1.0.0.10", -1}, // numeric, not lexical
		{"10.0", "9.9.9.9", 1},
		{"0", "0.0.0.0", 0},
		{"2147483647.0", "2147483646.2147483647", 1},
		{"1.2.3.4", "1.2.4.0", -1},
		{"1.3.0.0", "1.2.9.9", 1},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			a, b := pack.MustParseVersion(tt.a), pack.MustParseVersion(tt.b)
			assert.Equal(t, tt.want, a.Compare(b))
			assert.Equal(t, -tt.want, b.Compare(a), "antisymmetric")
			assert.Equal(t, tt.want < 0, a.Less(b))
			assert.Equal(t, tt.want > 0, b.Less(a))
			assert.Equal(t, tt.want == 0, a.Equal(b))
		})
	}
}

func TestVersionStringAndZero(t *testing.T) {
	assert.Equal(t, "7.1.0.0", pack.MustParseVersion("7.1").String())
	assert.Equal(t, "0.0.0.0", pack.Version{}.String())
	assert.True(t, pack.Version{}.IsZero())
	assert.False(t, pack.MustParseVersion("0.0.0.1").IsZero())
}

func TestVersionTextAndJSON(t *testing.T) {
	type doc struct {
		V pack.Version  `json:"v"`
		P *pack.Version `json:"p,omitempty"`
	}
	in := doc{V: pack.MustParseVersion("7.1.10226.1239")}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.JSONEq(t, `{"v":"7.1.10226.1239"}`, string(b))

	var out doc
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)

	require.NoError(t, json.Unmarshal([]byte(`{"v":"7.1"}`), &out))
	assert.Equal(t, "7.1.0.0", out.V.String())

	err = json.Unmarshal([]byte(`{"v":"7.1.x"}`), &out)
	assert.ErrorIs(t, err, pack.ErrInvalidVersion)
	err = json.Unmarshal([]byte(`{"v":7}`), &out)
	assert.Error(t, err, "a number is not a version string")

	var v pack.Version
	require.NoError(t, v.UnmarshalText([]byte("1.2.3.4")))
	txt, err := v.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "1.2.3.4", string(txt))
	before := v
	assert.Error(t, v.UnmarshalText([]byte("bad")))
	assert.Equal(t, before, v, "a failed UnmarshalText leaves the value alone")
}

func TestConstraintCheck(t *testing.T) {
	tests := []struct {
		constraint string
		yes, no    []string
	}{
		{"~7.1", []string{"7.1.0.0", "7.1.10226.1239", "7.1.99999.0"}, []string{"7.0.8433.0", "7.2.0.0", "8.0"}},
		{"^7.1", []string{"7.1.0.0", "7.5.8501.0"}, []string{"7.0.9999.9", "8.0.0.0"}},
		{">= 7.0.8433", []string{"7.0.8433.0", "7.0.8433.5", "7.1.10226.0", "10.19.10050.0"}, []string{"7.0.8427.0", "6.9"}},
		{">=7.0.8433", []string{"7.0.8433.0"}, []string{"7.0.8432.99"}},
		// Four-part bounds: the revision breaks ties within the same build.
		{">= 7.1.10226.1239", []string{"7.1.10226.1239", "7.1.10226.1240", "7.1.10227.0", "7.2.0.0"}, []string{"7.1.10226.1238", "7.1.10226.0", "7.1.10225.9999"}},
		{"> 7.1.10226.1239", []string{"7.1.10226.1240", "7.1.10227.0"}, []string{"7.1.10226.1239", "7.1.10226.1"}},
		{"< 7.1.10226.1239", []string{"7.1.10226.1238", "7.1.10225.9999", "7.0"}, []string{"7.1.10226.1239", "7.1.10227.0"}},
		{"<= 7.1.10226.1239", []string{"7.1.10226.1239", "7.1.10226.0"}, []string{"7.1.10226.1240", "7.2"}},
		{"= 7.1.10226.1239", []string{"7.1.10226.1239"}, []string{"7.1.10226.1238", "7.1.10226.1240"}},
		{"7.1.10226.1239", []string{"7.1.10226.1239"}, []string{"7.1.10226.1240"}},
		{"!= 7.1.10226.1239", []string{"7.1.10226.1238", "7.1.10226.1240", "1.0"}, []string{"7.1.10226.1239"}},
		{"!= 7.1.10226", []string{"7.1.10225.0", "7.1.10227.0"}, []string{"7.1.10226.0", "7.1.10226.3"}},
		{"< 8", []string{"7.99.99.99"}, []string{"8.0.0.0", "8.0.0.1"}},
		{"~7.1.10226.1239", []string{"7.1.10226.1239", "7.1.20000.0"}, []string{"7.1.10226.1238", "7.2.0.0"}},
		{">= 7.0.8433, < 8", []string{"7.0.8433.0", "7.5.8501.0"}, []string{"7.0.8427.0", "8.0.0.0"}},
		{">= 7.0.8433 < 8", []string{"7.5.8501.0"}, []string{"8.0.0.0", "7.0.1"}},
		{">= 7.1.10226.1239, < 7.1.10226.1300", []string{"7.1.10226.1239", "7.1.10226.1299"}, []string{"7.1.10226.1300", "7.1.10226.1238"}},
		{"~7.1 || ~7.5", []string{"7.1.1.1", "7.5.8501.0"}, []string{"7.2.0.0", "7.0.1.0"}},
		{"< 7.0.8433.5 || >= 7.1.10226.1239", []string{"7.0.8433.4", "7.1.10226.1239"}, []string{"7.0.8433.5", "7.1.10226.1238"}},
		{"7.0 - 7.1", []string{"7.0.0.0", "7.1.5.5"}, []string{"6.9", "7.2.0.0"}},
		{"7.0.8433.10 - 7.1.10226.1239", []string{"7.0.8433.10", "7.1.10226.1239", "7.1.0.0"}, []string{"7.0.8433.9", "7.1.10226.1240"}},
		{"1.0.0.56 - 2", []string{"1.0.0.56", "1.0.0.58", "2.0.0.0"}, []string{"1.0.0.55", "3.0.0.0"}},
		{"7.1.x", []string{"7.1.0.0", "7.1.10226.1239"}, []string{"7.2.0.0"}},
		{"*", []string{"0.0.0.0", "7.1.10226.1239"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.constraint, func(t *testing.T) {
			c, err := pack.ParseConstraint(tt.constraint)
			require.NoError(t, err)
			assert.Equal(t, tt.constraint, c.String())
			for _, v := range tt.yes {
				assert.True(t, c.Check(pack.MustParseVersion(v)), "%s should satisfy %s", v, tt.constraint)
				ok, err := pack.MustParseVersion(v).Satisfies(tt.constraint)
				require.NoError(t, err)
				assert.True(t, ok)
			}
			for _, v := range tt.no {
				assert.False(t, c.Check(pack.MustParseVersion(v)), "%s should not satisfy %s", v, tt.constraint)
			}
		})
	}
}

func TestParseConstraintErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "empty string"},
		{"   ", "empty string"},
		{">=", `operator ">=" has no version`},
		{"~7.1 ||", "alternative 2: empty term"},
		{">= 7.0,", "empty term"},
		{">= 7.1.10226.x", "invalid management pack version"},
		{"7.1.10226.2147483648", "exceeds 2147483647"},
		{"1.2.3.4.5", "5 parts"},
		{"- 7.1", "range needs a version on each side"},
		{"7.0 -", "range needs a version on each side"},
		{">= <= 7.1", "two operators"},
		{"> seven", "alternative 1"},
		{"=> 7.0.0.1", "two operators"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := pack.ParseConstraint(tt.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, pack.ErrInvalidConstraint)
			assert.Contains(t, err.Error(), tt.want)
			_, err = pack.Version{}.Satisfies(tt.in)
			assert.ErrorIs(t, err, pack.ErrInvalidConstraint)
		})
	}
}

func TestConstraintZeroAndText(t *testing.T) {
	var zero pack.Constraint
	assert.False(t, zero.Check(pack.Version{}), "the zero Constraint admits nothing")

	var c pack.Constraint
	require.NoError(t, json.Unmarshal([]byte(`">= 7.1.10226.1239"`), &c))
	assert.True(t, c.Check(pack.MustParseVersion("7.1.10226.1239")))
	assert.False(t, c.Check(pack.MustParseVersion("7.1.10226.1238")))
	b, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, `">= 7.1.10226.1239"`, string(b))

	err = json.Unmarshal([]byte(`"~~"`), &c)
	assert.True(t, errors.Is(err, pack.ErrInvalidConstraint), "got %v", err)
	assert.Panics(t, func() { pack.MustParseConstraint(">=") })
}
