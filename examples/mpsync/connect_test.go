package main

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/mpsynctest"
	"mpsync.dev/mpsync/scom"
)

// writePack writes a generated pack to the fixture's directory.
func (f *fixture) writePack(t *testing.T, name, id, version string) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	require.NoError(t, os.WriteFile(p, mpsynctest.Pack(id, version), 0o600))
	return p
}

// A reconnect needs the Resources pack the operator imports; the catalog
// serving it does not count, nor does one of another language or an
// earlier release. A refusal exits 1, names the pack, the file and the
// folder, and changes nothing.
func TestReconnectResourcesPackThroughTheCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		imports func(t *testing.T, f *fixture) []string // files to import first
		version string                                  // --mg-version of connect
		code    int
		inErr   []string
	}{
		{name: "nothing imported", version: "7.1.10226.1239", code: 1,
			inErr: []string{resourcesID + " is not imported", resourcesID + ".mpb", scom.ResourcesFolder2012R2}},
		{name: "2012 SP1 names its folder", version: "7.0.9538.1117", code: 1,
			inErr: []string{scom.ResourcesFolder2012SP1}},
		{name: "wrong language", version: "7.1.10226.1239", code: 1,
			imports: func(t *testing.T, f *fixture) []string {
				return []string{f.writePack(t, "deu.xml", "Microsoft.SystemCenter.Advisor.Resources.DEU", "7.1.10226.1239")}
			},
			inErr: []string{resourcesID + " is not imported", "Microsoft.SystemCenter.Advisor.Resources.DEU", "language ENU"}},
		{name: "an earlier release's pack", version: "7.1.10226.1239", code: 1,
			imports: func(t *testing.T, f *fixture) []string {
				return []string{f.writePack(t, "sp1.xml", resourcesID, "7.0.9538.1117")}
			},
			inErr: []string{"imported at 7.0.9538.1117, below 7.1.10226.0"}},
		{name: "the operator's import", version: "7.1.10226.1239", code: 0,
			imports: func(t *testing.T, f *fixture) []string {
				return []string{filepath.Join(workspaceDir, "packs", resourcesID+".xml")}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.mustOK(t, "sync")
			f.mustOK(t, "disconnect")
			if tc.imports != nil {
				f.mustOK(t, append([]string{"import"}, tc.imports(t, f)...)...)
			}
			before := f.packs(t)
			r := f.run(t, "connect", "--mg-version", tc.version)
			require.Equal(t, tc.code, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			if tc.code == 0 {
				assert.Equal(t, "connected", f.status(t).Connection.State)
				return
			}
			line := oneLineErr(t, r.stderr)
			for _, want := range tc.inErr {
				assert.Contains(t, line, want)
			}
			assert.Equal(t, "disconnected", f.status(t).Connection.State)
			assert.Equal(t, before, f.packs(t), "a refused connect changes nothing")
		})
	}
}

func TestResourcesPackDowngradeRefusedByTheCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustOK(t, "sync")
	f.mustOK(t, "disconnect")
	f.mustOK(t, "import", filepath.Join(workspaceDir, "packs", resourcesID+".xml"))
	r := f.run(t, "import", f.writePack(t, "old.xml", resourcesID, "7.1.10226.1015"))
	assert.Equal(t, 1, r.code)
	line := oneLineErr(t, r.stderr)
	assert.Contains(t, line, "downgrade")
	assert.Contains(t, line, "old.xml")
	assert.Equal(t, "7.1.10226.1239 custom", f.packs(t)[resourcesID])
	f.mustOK(t, "connect", "--mg-version", "7.1.10226.1239")
}

// validateOut is the validate document.
type validateOut struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Name   string `json:"name"`
		OK     bool   `json:"ok"`
		Detail string `json:"detail"`
	} `json:"checks"`
	Error string `json:"error"`
}

func (v validateOut) check(name string) (ok bool, detail string, found bool) {
	for _, c := range v.Checks {
		if c.Name == name {
			return c.OK, c.Detail, true
		}
	}
	return false, "", false
}

// validate asks the service: a wrong key and an unreachable service are
// distinct failed checks.
func TestValidateAsksTheServiceThroughTheCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.mustOK(t, "sync")
	before := f.packs(t)
	wrong := filepath.Join(f.dir, "wrong-key")
	require.NoError(t, os.WriteFile(wrong, []byte("d3Jvbmcta2V5\n"), 0o600))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String() + "/"
	require.NoError(t, ln.Close())
	tests := []struct {
		name         string
		url, keyFile string
		code         int
		failed       string // the failed check
		detail       string
	}{
		{name: "service answers", url: f.srv.URL(), keyFile: f.keyFile, code: 0},
		{name: "wrong key", url: f.srv.URL(), keyFile: wrong, code: 1, failed: "service key", detail: "refused the key"},
		{name: "unreachable", url: closed, keyFile: f.keyFile, code: 1, failed: "service reachable", detail: "could not be reached"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, cleanEnv(), "--store", f.store, "--workspace-url", tc.url, "--allow-http",
				"--workspace-id", f.srv.WorkspaceID(), "--workspace-key-file", tc.keyFile, "--retries", "0", "validate", "--json")
			require.Equal(t, tc.code, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			var v validateOut
			oneJSON(t, r.stdout, &v)
			if tc.code == 0 {
				assert.True(t, v.OK)
				ok, _, found := v.check("service key")
				assert.True(t, found && ok)
				return
			}
			ok, detail, found := v.check(tc.failed)
			require.True(t, found, "%+v", v.Checks)
			assert.False(t, ok)
			assert.Contains(t, detail, tc.detail)
			assert.Contains(t, oneLineErr(t, r.stderr), tc.failed)
			assert.NotContains(t, r.stdout+r.stderr, "d3Jvbmcta2V5", "the key never appears")
		})
	}
	assert.Equal(t, before, f.packs(t), "validate changes nothing")
}

// connectOut is what the connect document says of the requirement.
type connectOut struct {
	RequirementChecked *bool `json:"requirementChecked"`
	Connection         struct {
		RequirementChecked *bool  `json:"requirementChecked"`
		Requirement        string `json:"requirement"`
	} `json:"connection"`
	Error string `json:"error"`
}

// connect without --mg-version says the requirement was not checked; the
// proxy minimum follows --proxy.
func TestConnectSaysWhetherTheRequirementWasChecked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.mustOK(t, "connect", "--json")
	var c connectOut
	oneJSON(t, r.stdout, &c)
	require.NotNil(t, c.RequirementChecked)
	assert.False(t, *c.RequirementChecked)
	require.NotNil(t, c.Connection.RequirementChecked, "the key is always present")
	assert.False(t, *c.Connection.RequirementChecked)

	r = f.mustOK(t, "connect")
	assert.Contains(t, r.stdout, "the version requirement was not checked, because the management group's version is not known")

	r = f.mustOK(t, "connect", "--mg-version", "7.1.10226.1239", "--json")
	c = connectOut{}
	oneJSON(t, r.stdout, &c)
	require.NotNil(t, c.RequirementChecked)
	assert.True(t, *c.RequirementChecked)
	assert.Contains(t, c.Connection.Requirement, "Operations Manager 2012 R2")
	r = f.mustOK(t, "status")
	assert.Contains(t, r.stdout, "Version requirement: checked")
}

func TestConnectProxyMinimumThroughTheCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// 2012 R2 UR2 meets the requirement, but not with a proxy (UR3).
	r := f.run(t, "connect", "--mg-version", "7.1.10226.1015", "--proxy", "http://127.0.0.1:1")
	assert.Equal(t, 1, r.code)
	line := oneLineErr(t, r.stderr)
	assert.Contains(t, line, "through a proxy")
	assert.Contains(t, line, "Update Rollup 3")
	assert.Equal(t, "never", f.status(t).Connection.State)
	assert.Empty(t, f.packs(t))
	f.mustOK(t, "connect", "--mg-version", "7.1.10226.1015")
}
