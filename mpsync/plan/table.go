package plan

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable renders changes as an aligned table for people, with a
// RESULT column when results is not nil (results[i] is changes[i]'s). Kept
// changes are left out to keep the table short. The layout may change:
// programs read the values.
func WriteTable(w io.Writer, changes []Change, results []string) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	header := "  ACTION\tPACK\tFROM\tTO\tRULE\tREASON"
	if results != nil {
		header += "\tRESULT"
	}
	fmt.Fprintln(tw, header)
	shown := 0
	for i, c := range changes {
		if c.Action == ActionKeep {
			continue
		}
		shown++
		line := fmt.Sprintf("  %s\t%s\t%s\t%s\t%s\t%s", c.Action, c.Pack, versionText(c.From), versionText(c.To), c.Rule.ShortName(), c.Reason)
		if results != nil {
			line += "\t" + results[i]
		}
		fmt.Fprintln(tw, line)
	}
	kept := len(changes) - shown
	tw.Flush()
	if shown == 0 {
		fmt.Fprintf(w, "  (no changes; %d packs current)\n", kept)
	} else if kept > 0 {
		fmt.Fprintf(w, "  (%d packs current)\n", kept)
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
