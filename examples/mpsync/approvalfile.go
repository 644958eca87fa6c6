package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"mpsync.dev/mpsync/approval"
	"mpsync.dev/mpsync/ledger"
	"mpsync.dev/mpsync/store"
)

// loadPolicy reads the --approval-file policy: manual keeps its queue in
// meta (the store), promotion reads l (the store's ledger: until the
// command can share a database between groups, only the results recorded
// in this store count). A bad file is bad configuration (exit 2).
func loadPolicy(name string, meta approval.Meta, l ledger.Ledger) (*approval.PolicyFile, error) {
	pf, err := approval.LoadPolicyFile(name, approval.PolicyOptions{Meta: meta, Ledger: l})
	if err != nil {
		return nil, usagef("flag --approval-file: %v", err)
	}
	return pf, nil
}

// policyCheckDoc is the document of "approval check --json".
type policyCheckDoc struct {
	File     string           `json:"file"`
	Version  int              `json:"version"`
	At       string           `json:"at"`
	Approver string           `json:"approver"`
	Policy   *policyNodeJSON  `json:"policy"`
	Windows  []policyWindowJS `json:"windows"`
	Notes    []string         `json:"notes"`
	Error    string           `json:"error,omitempty"`
}

// policyNodeJSON is one approver of the policy tree.
type policyNodeJSON struct {
	Kind     string            `json:"kind"`
	Field    string            `json:"field"`
	Line     int               `json:"line"`
	Approver string            `json:"approver"`
	Parts    []*policyNodeJSON `json:"parts,omitempty"`
}

// policyWindowJS says when a window of the policy opens.
type policyWindowJS struct {
	Field string `json:"field"`
	Line  int    `json:"line"`
	Open  bool   `json:"open"`
	// NextOpen is when it next opens ("" when open now, or when it does not
	// open within the search horizon).
	NextOpen string `json:"nextOpen"`
}

// approvalCommand runs "approval check FILE [--at TIME]": it reads the
// policy as sync and run would and prints it, with when each window opens.
// It needs neither the store nor the service.
func (a *app) approvalCommand(args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return shapef("approval needs a subcommand: approval check FILE")
	}
	if len(args) != 2 {
		return shapef("approval check needs exactly one FILE")
	}
	at := time.Now().UTC()
	if a.cfg.at != "" {
		t, err := time.Parse(time.RFC3339, a.cfg.at)
		if err != nil {
			return usagef("flag --at %q: want an RFC 3339 time, e.g. 2026-06-03T12:00:00Z", a.cfg.at)
		}
		at = t
	}
	// The check reads the policy with an in-memory queue and ledger: it
	// looks at nothing in the store and changes nothing.
	pf, err := approval.LoadPolicyFile(args[1], approval.PolicyOptions{Meta: store.NewMemory(), Ledger: ledger.NewMemory()})
	if err != nil {
		return usagef("%v", err)
	}
	doc := policyCheckDoc{File: args[1], Version: pf.Version, At: timeJSON(at), Approver: approval.Name(pf.Approver()),
		Policy: nodeJSON(pf.Root), Windows: []policyWindowJS{}, Notes: []string{}}
	for _, n := range pf.Windows() {
		w := n.Approver.(*approval.Window)
		pw := policyWindowJS{Field: n.Field, Line: n.Line, Open: w.Open(at)}
		if !pw.Open {
			pw.NextOpen = timeJSON(w.NextOpen(at))
		}
		doc.Windows = append(doc.Windows, pw)
	}
	walkPolicy(pf.Root, func(n *approval.PolicyNode) {
		switch n.Kind {
		case approval.KindPromotion:
			doc.Notes = append(doc.Notes, fmt.Sprintf("line %d: %s reads the ledger in the store (--store): only results recorded there count; "+
				"a ledger shared between groups (--database) is not available in the command yet", n.Line, approval.Name(n.Approver)))
		case approval.KindManual:
			doc.Notes = append(doc.Notes, fmt.Sprintf("line %d: manual keeps its queue in the store; approve with 'mpsync approve'", n.Line))
		}
	})
	a.output(doc, func(w io.Writer) { writePolicyCheck(w, doc) })
	return nil
}

func nodeJSON(n *approval.PolicyNode) *policyNodeJSON {
	out := &policyNodeJSON{Kind: n.Kind, Field: n.Field, Line: n.Line, Approver: approval.Name(n.Approver)}
	for _, p := range n.Parts {
		out.Parts = append(out.Parts, nodeJSON(p))
	}
	return out
}

func walkPolicy(n *approval.PolicyNode, fn func(*approval.PolicyNode)) {
	fn(n)
	for _, p := range n.Parts {
		walkPolicy(p, fn)
	}
}

func writePolicyCheck(w io.Writer, doc policyCheckDoc) {
	fmt.Fprintf(w, "policy %s (version %d), as the engine reads it at %s:\n", doc.File, doc.Version, doc.At)
	windows := map[string]policyWindowJS{}
	for _, pw := range doc.Windows {
		windows[pw.Field] = pw
	}
	var write func(n *policyNodeJSON, depth int)
	write = func(n *policyNodeJSON, depth int) {
		indent := strings.Repeat("  ", depth+1)
		text := n.Approver
		if len(n.Parts) > 0 {
			text = n.Kind + " of:"
		}
		fmt.Fprintf(w, "%sline %-3d %s\n", indent, n.Line, text)
		if pw, ok := windows[n.Field]; ok {
			switch {
			case pw.Open:
				fmt.Fprintf(w, "%s         open now\n", indent)
			case pw.NextOpen == "":
				fmt.Fprintf(w, "%s         closed; does not open within %v\n", indent, approval.SearchHorizon)
			default:
				fmt.Fprintf(w, "%s         closed; next opens %s\n", indent, pw.NextOpen)
			}
		}
		for _, p := range n.Parts {
			write(p, depth+1)
		}
	}
	write(doc.Policy, 0)
	fmt.Fprintf(w, "approver: %s\n", doc.Approver)
	for _, n := range doc.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}
