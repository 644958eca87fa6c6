package plan

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mpsync.dev/mpsync/catalog"
	"mpsync.dev/mpsync/pack"
	"mpsync.dev/mpsync/scom"
	"mpsync.dev/mpsync/storage"
	"mpsync.dev/rules"
)

const ws = "ws-1"

func v(s string) pack.Version { return pack.MustParseVersion(s) }

func sha(c byte) string { return strings.Repeat(string(c), 64) }

func base(id, ver string, h byte) catalog.Pack {
	return catalog.Pack{ID: id, Version: v(ver), Channel: catalog.ChannelBase, SHA256: sha(h), Size: 1, Href: "packs/" + id}
}

func sol(id, ver, solution string, h byte) catalog.Pack {
	return catalog.Pack{ID: id, Version: v(ver), Channel: catalog.ChannelSolution, Solution: solution, SHA256: sha(h), Size: 1, Href: "packs/" + id}
}

func owned(id, ver string, h byte, rule rules.Rule, refs ...pack.Reference) storage.Entry {
	return storage.Entry{ID: id, Version: v(ver), SHA256: sha(h), References: refs,
		Provenance: storage.Provenance{Owner: storage.OwnerWorkspace, WorkspaceID: ws, Rule: string(rule)}}
}

func ref(id, ver string) pack.Reference { return pack.Reference{ID: id, Version: v(ver)} }

// man gives the manifest a catalog pack declares.
func man(p catalog.Pack, refs ...pack.Reference) manPair {
	return manPair{p.SHA256, ManifestResult{Manifest: pack.Manifest{ID: p.ID, Version: p.Version, References: refs}}}
}

type manPair struct {
	sha string
	res ManifestResult
}

type step struct {
	action Action
	pack   string
	reason string // substring
}

func TestPlanDiff(t *testing.T) {
	advisor := base("Microsoft.SystemCenter.Advisor", "7.1.10226.1239", 'a')
	alert := sol("Microsoft.IntelligencePacks.AlertManagement", "7.2.11719.0", "AlertManagement", 'b')
	updates := sol("Microsoft.IntelligencePacks.Updates", "7.2.100.0", "Updates", 'c')
	solutions := []catalog.Solution{{Name: "AlertManagement", Enabled: true}, {Name: "Updates", Enabled: false}}
	custom := storage.Entry{ID: "Microsoft.IntelligencePacks.AlertManagement", Version: v("1.0.0.0"), SHA256: sha('z'),
		Provenance: storage.Provenance{Owner: storage.OwnerCustom}}

	tests := []struct {
		name      string
		rules     []rules.Rule
		packs     []catalog.Pack
		solutions []catalog.Solution
		entries   []storage.Entry
		manifests map[string]ManifestResult
		stale     bool
		noCatalog bool
		want      []step
	}{
		{
			name:  "first sync imports base then solution",
			rules: rules.All(), packs: []catalog.Pack{alert, advisor}, solutions: solutions,
			manifests: mans(man(advisor, ref("System.Library", "7.5.8501.0")), man(alert, ref(advisor.ID, "7.1.10226.0"))),
			want:      []step{{ActionImport, advisor.ID, "base pack"}, {ActionImport, alert.ID, "AlertManagement is enabled"}},
		},
		{
			name:  "same version and hash is kept",
			rules: rules.All(), packs: []catalog.Pack{advisor}, entries: []storage.Entry{owned(advisor.ID, "7.1.10226.1239", 'a', rules.MPUpdate)},
			want: []step{{ActionKeep, advisor.ID, "current"}},
		},
		{
			name:  "higher version upgrades",
			rules: rules.All(), packs: []catalog.Pack{advisor}, entries: []storage.Entry{owned(advisor.ID, "7.1.10226.1000", 'x', rules.MPUpdate)},
			manifests: mans(man(advisor)),
			want:      []step{{ActionUpgrade, advisor.ID, "catalog has 7.1.10226.1239"}},
		},
		{
			name:  "downgrade is blocked",
			rules: rules.All(), packs: []catalog.Pack{advisor}, entries: []storage.Entry{owned(advisor.ID, "7.1.10226.2000", 'x', rules.MPUpdate)},
			want: []step{{ActionBlocked, advisor.ID, "downgrade from 7.1.10226.2000 to 7.1.10226.1239 refused"}},
		},
		{
			name:  "same version different hash is blocked",
			rules: rules.All(), packs: []catalog.Pack{advisor}, entries: []storage.Entry{owned(advisor.ID, "7.1.10226.1239", 'x', rules.MPUpdate)},
			want: []step{{ActionBlocked, advisor.ID, "different content"}},
		},
		{
			name:  "custom pack with an Advisor-like name is never touched",
			rules: rules.All(), packs: []catalog.Pack{alert}, solutions: solutions, entries: []storage.Entry{custom},
			want: []step{{ActionBlocked, alert.ID, "owned by the operator (custom)"}},
		},
		{
			name:  "custom pack not wanted is left out of the plan",
			rules: rules.All(), packs: []catalog.Pack{updates}, solutions: solutions,
			entries: []storage.Entry{{ID: updates.ID, Version: v("1.0.0.0"), Provenance: storage.Provenance{Owner: storage.OwnerCustom}}},
			want:    nil,
		},
		{
			name:  "disabled solution is removed",
			rules: rules.All(), packs: []catalog.Pack{updates}, solutions: solutions,
			entries: []storage.Entry{owned(updates.ID, "7.2.100.0", 'c', rules.GetIntelligencePacks)},
			want:    []step{{ActionRemove, updates.ID, "solution Updates is disabled"}},
		},
		{
			name:  "pack gone from the catalog is removed",
			rules: rules.All(), entries: []storage.Entry{owned("Old.Pack", "1.0.0.0", 'o', rules.GetIntelligencePacks)},
			want: []step{{ActionRemove, "Old.Pack", "no longer in the workspace catalog"}},
		},
		{
			name:  "solution missing from solutions is not wanted",
			rules: rules.All(), packs: []catalog.Pack{sol("X.Pack", "1.0.0.0", "Ghost", 'g')},
			entries: []storage.Entry{owned("X.Pack", "1.0.0.0", 'g', rules.GetIntelligencePacks)},
			want:    []step{{ActionRemove, "X.Pack", "solution Ghost is not listed"}},
		},
		{
			name:  "stale catalog never removes",
			rules: rules.All(), stale: true, entries: []storage.Entry{owned("Old.Pack", "1.0.0.0", 'o', rules.GetIntelligencePacks)},
			want: []step{{ActionBlocked, "Old.Pack", "removal withheld: the catalog is stale"}},
		},
		{
			name:  "missing catalog never removes",
			rules: rules.All(), noCatalog: true, entries: []storage.Entry{owned("Old.Pack", "1.0.0.0", 'o', rules.GetIntelligencePacks)},
			want: []step{{ActionBlocked, "Old.Pack", "removal withheld: no catalog"}},
		},
		{
			name:  "core packs are never removed",
			rules: rules.All(), entries: []storage.Entry{owned("Microsoft.SystemCenter.Advisor.Internal", "1.0.0.0", 'i', rules.MPUpdate)},
			want: []step{{ActionBlocked, "Microsoft.SystemCenter.Advisor.Internal", "stays imported"}},
		},
		{
			name:  "reference nothing satisfies is blocked",
			rules: rules.All(), packs: []catalog.Pack{alert}, solutions: solutions,
			manifests: mans(man(alert, ref("Contoso.Missing", "1.0.0.0"))),
			want:      []step{{ActionBlocked, alert.ID, "reference Contoso.Missing >= 1.0.0.0 not satisfied: no imported"}},
		},
		{
			name:  "reference present at a lower version is blocked",
			rules: rules.All(), packs: []catalog.Pack{alert}, solutions: solutions,
			entries:   []storage.Entry{{ID: "Contoso.Lib", Version: v("1.0.0.0"), Provenance: storage.Provenance{Owner: storage.OwnerCustom}}},
			manifests: mans(man(alert, ref("Contoso.Lib", "2.0.0.0"))),
			want:      []step{{ActionBlocked, alert.ID, "Contoso.Lib is present at 1.0.0.0"}},
		},
		{
			name:  "reference to a sealed pack signed with another key is blocked",
			rules: rules.All(), packs: []catalog.Pack{alert}, solutions: solutions,
			entries:   []storage.Entry{{ID: "Contoso.Lib", Version: v("2.0.0.0"), Sealed: pack.SealedYes, PublicKeyToken: "0123456789abcdef", Provenance: storage.Provenance{Owner: storage.OwnerCustom}}},
			manifests: mans(man(alert, tokenRef("Contoso.Lib", "2.0.0.0", "31BF3856AD364E35"))),
			want:      []step{{ActionBlocked, alert.ID, "wants public key token 31bf3856ad364e35, but Contoso.Lib is sealed with key token 0123456789abcdef"}},
		},
		{
			name:  "reference token matches case-insensitively",
			rules: rules.All(), packs: []catalog.Pack{alert}, solutions: solutions,
			entries:   []storage.Entry{{ID: "Contoso.Lib", Version: v("2.0.0.0"), Sealed: pack.SealedYes, PublicKeyToken: "31bf3856ad364e35", Provenance: storage.Provenance{Owner: storage.OwnerCustom}}},
			manifests: mans(man(alert, tokenRef("Contoso.Lib", "2.0.0.0", "31BF3856AD364E35"))),
			want:      []step{{ActionImport, alert.ID, "enabled"}},
		},
		{
			name:  "reference token against an XML pack (token unknown) is not blocked",
			rules: rules.All(), packs: []catalog.Pack{alert}, solutions: solutions,
			entries:   []storage.Entry{{ID: "Contoso.Lib", Version: v("2.0.0.0"), Provenance: storage.Provenance{Owner: storage.OwnerCustom}}},
			manifests: mans(man(alert, tokenRef("Contoso.Lib", "2.0.0.0", "31bf3856ad364e35"))),
			want:      []step{{ActionImport, alert.ID, "enabled"}},
		},
		{
			name:  "platform packs satisfy references",
			rules: rules.All(), packs: []catalog.Pack{alert}, solutions: solutions,
			manifests: mans(man(alert, ref("Microsoft.SystemCenter.Library", "7.0.8433.0"), ref("System.Library", "7.5.8501.0"))),
			want:      []step{{ActionImport, alert.ID, "enabled"}},
		},
		{
			name:  "solution waits for MPUpdate when only its rule runs",
			rules: []rules.Rule{rules.GetIntelligencePacks}, packs: []catalog.Pack{advisor, alert}, solutions: solutions,
			manifests: mans(man(alert, ref(advisor.ID, "7.1.10226.0"))),
			want:      []step{{ActionBlocked, alert.ID, "waits for MPUpdate to import base pack Microsoft.SystemCenter.Advisor"}},
		},
		{
			name:  "a blocked update of a present pack does not block its users",
			rules: rules.All(), packs: []catalog.Pack{advisor, alert}, solutions: solutions,
			entries:   []storage.Entry{owned(advisor.ID, "7.1.10226.1239", 'x', rules.MPUpdate)},
			manifests: mans(man(alert, ref(advisor.ID, "7.1.10226.1239"))),
			want: []step{
				{ActionImport, alert.ID, "enabled"},
				{ActionBlocked, advisor.ID, "different content"},
			},
		},
		{
			name:  "a pack referencing a blocked import is blocked too",
			rules: rules.All(), packs: []catalog.Pack{advisor, alert}, solutions: solutions,
			manifests: map[string]ManifestResult{
				advisor.SHA256: {Err: assert.AnError},
				alert.SHA256:   man(alert, ref(advisor.ID, "7.1.10226.0")).res,
			},
			want: []step{
				{ActionBlocked, alert.ID, "waits for Microsoft.SystemCenter.Advisor 7.1.10226.1239, which is blocked"},
				{ActionBlocked, advisor.ID, "cannot read the pack"},
			},
		},
		{
			name:  "removal that would break a pack that stays is blocked",
			rules: []rules.Rule{rules.MPUpdate},
			entries: []storage.Entry{
				owned("Base.Lib", "1.0.0.0", 'l', rules.MPUpdate),
				{ID: "Contoso.Custom", Version: v("1.0.0.0"), References: []pack.Reference{ref("Base.Lib", "1.0.0.0")}, Provenance: storage.Provenance{Owner: storage.OwnerCustom}},
			},
			want: []step{{ActionBlocked, "Base.Lib", "Contoso.Custom references it and stays"}},
		},
		{
			name:  "removals go dependents first",
			rules: rules.All(),
			entries: []storage.Entry{
				owned("A.Lib", "1.0.0.0", 'l', rules.GetIntelligencePacks),
				owned("B.Uses.A", "1.0.0.0", 'u', rules.GetIntelligencePacks, ref("A.Lib", "1.0.0.0")),
			},
			want: []step{{ActionRemove, "B.Uses.A", ""}, {ActionRemove, "A.Lib", ""}},
		},
		{
			name:  "download failure blocks with the error",
			rules: rules.All(), packs: []catalog.Pack{advisor},
			manifests: map[string]ManifestResult{advisor.SHA256: {Err: assert.AnError}},
			want:      []step{{ActionBlocked, advisor.ID, "cannot read the pack from the workspace"}},
		},
		{
			name:  "packs referencing each other in a loop are blocked",
			rules: rules.All(), packs: []catalog.Pack{base("Loop.A", "1.0.0.0", 'l'), base("Loop.B", "1.0.0.0", 'm')},
			manifests: mans(man(base("Loop.A", "1.0.0.0", 'l'), ref("Loop.B", "1.0.0.0")), man(base("Loop.B", "1.0.0.0", 'm'), ref("Loop.A", "1.0.0.0"))),
			want: []step{
				{ActionBlocked, "Loop.A", "loop (Loop.A -> Loop.B -> Loop.A)"},
				{ActionBlocked, "Loop.B", "loop"},
			},
		},
		{
			name:  "pack of a previous workspace not wanted is removed",
			rules: rules.All(),
			entries: []storage.Entry{{ID: "Old.Ws.Pack", Version: v("1.0.0.0"),
				Provenance: storage.Provenance{Owner: storage.OwnerWorkspace, WorkspaceID: "old-ws", Rule: string(rules.GetIntelligencePacks)}}},
			want: []step{{ActionRemove, "Old.Ws.Pack", "imported for workspace old-ws"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Rules: tt.rules, WorkspaceID: ws, Stale: tt.stale, Entries: tt.entries,
				Platform: r2Platform(), Manifests: tt.manifests}
			if !tt.noCatalog {
				in.Catalog = &catalog.Catalog{SchemaVersion: "1.0", WorkspaceID: ws, Solutions: tt.solutions, Packs: tt.packs}
			}
			changes, _ := Classify(in)
			got := Resolve(in, changes)
			require.Len(t, got, len(tt.want), "changes: %+v", got)
			for i, w := range tt.want {
				assert.Equal(t, w.action, got[i].Action, "change %d (%s): %s", i, got[i].Pack, got[i].Reason)
				assert.Equal(t, w.pack, got[i].Pack, "change %d", i)
				assert.Contains(t, got[i].Reason, w.reason, "change %d", i)
				assert.NotEmpty(t, got[i].ID)
			}
		})
	}
}

func mans(pairs ...manPair) map[string]ManifestResult {
	m := map[string]ManifestResult{}
	for _, p := range pairs {
		m[p.sha] = p.res
	}
	return m
}

func TestChangeIDStable(t *testing.T) {
	a := ChangeID(rules.GetIntelligencePacks, ActionImport, "P", v("1.0.0.0"), sha('a'))
	assert.Equal(t, a, ChangeID(rules.GetIntelligencePacks, ActionImport, "P", v("1.0.0.0"), sha('a')))
	for _, other := range []string{
		ChangeID(rules.MPUpdate, ActionImport, "P", v("1.0.0.0"), sha('a')),
		ChangeID(rules.GetIntelligencePacks, ActionUpgrade, "P", v("1.0.0.0"), sha('a')),
		ChangeID(rules.GetIntelligencePacks, ActionImport, "Q", v("1.0.0.0"), sha('a')),
		ChangeID(rules.GetIntelligencePacks, ActionImport, "P", v("1.0.0.1"), sha('a')),
		ChangeID(rules.GetIntelligencePacks, ActionImport, "P", v("1.0.0.0"), sha('b')),
	} {
		assert.NotEqual(t, a, other)
	}
	assert.True(t, strings.HasPrefix(a, "chg-"))
}

// r2Platform is the built-in platform of an Operations Manager 2012 R2 group.
func r2Platform() pack.Inventory {
	r, ok := scom.ReleaseNamed("2012 R2")
	if !ok {
		panic("scom has no 2012 R2 release")
	}
	return r.Platform()
}

// tokenRef is a reference that names the referenced sealed pack's key token.
func tokenRef(id, version, token string) pack.Reference {
	r := ref(id, version)
	r.PublicKeyToken = token
	return r
}
