package plan

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// resultOrder is the order in which WriteTable counts results: the engine's
// results from done to not done; any other result follows in the order it
// first appears.
var resultOrder = []string{"applied", "pending", "denied", "failed", "skipped"}

// WriteTable renders changes as an aligned table for people, one row per
// change in the order given: the change's id (what an approval names), its
// rule, action, pack, versions ("-" for none) and reason, with the change's
// Error folded into the reason (unless the reason already says it). When
// results is not nil (results[i] is changes[i]'s) a RESULT column comes
// before the reason and a line counting the results follows the table. An
// empty list is the line "no changes: every pack is current". Every change
// given is a row ([WriteChanges] leaves kept packs out); the mpsync command
// prints its plans and runs with this table. The layout may change:
// programs read the values.
func WriteTable(w io.Writer, changes []Change, results []string) {
	if len(changes) == 0 {
		fmt.Fprintln(w, "no changes: every pack is current")
		return
	}
	withResult := results != nil
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if withResult {
		fmt.Fprintln(tw, "CHANGE\tRULE\tACTION\tPACK\tFROM\tTO\tRESULT\tREASON")
	} else {
		fmt.Fprintln(tw, "CHANGE\tRULE\tACTION\tPACK\tFROM\tTO\tREASON")
	}
	for i, c := range changes {
		reason := c.Reason
		if c.Error != "" && !strings.Contains(reason, c.Error) {
			reason = strings.TrimSpace(reason + " (error: " + c.Error + ")")
		}
		cols := []string{c.ID, c.Rule.ShortName(), string(c.Action), c.Pack, versionText(c.From), versionText(c.To)}
		if withResult {
			cols = append(cols, results[i])
		}
		fmt.Fprintln(tw, strings.Join(append(cols, reason), "\t"))
	}
	tw.Flush()
	if withResult {
		fmt.Fprintln(w, countResults(results))
	}
}

// countResults is "2 applied, 1 pending": each result with its count.
func countResults(results []string) string {
	counts := map[string]int{}
	order := append([]string(nil), resultOrder...)
	for _, r := range results {
		if counts[r] == 0 && !slices.Contains(order, r) {
			order = append(order, r)
		}
		counts[r]++
	}
	var parts []string
	for _, r := range order {
		if counts[r] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[r], r))
		}
	}
	return strings.Join(parts, ", ")
}

// WriteChanges is WriteTable for a whole plan or run: kept packs are left
// out of the table and counted on a line after it ("(6 packs current)").
// results, when not nil, is as for WriteTable (results[i] is changes[i]'s).
// [Plan.String] and mpsync.Report.String print with it.
func WriteChanges(w io.Writer, changes []Change, results []string) {
	var shown []Change
	var shownResults []string
	if results != nil {
		shownResults = []string{}
	}
	for i, c := range changes {
		if c.Action == ActionKeep {
			continue
		}
		shown = append(shown, c)
		if results != nil {
			shownResults = append(shownResults, results[i])
		}
	}
	WriteTable(w, shown, shownResults)
	if kept := len(changes) - len(shown); kept > 0 {
		fmt.Fprintf(w, "(%d packs current)\n", kept)
	}
}

func versionText(v interface {
	IsZero() bool
	String() string
}) string {
	if v.IsZero() {
		return "-"
	}
	return v.String()
}
