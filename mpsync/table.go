package mpsync

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// writeChangeTable renders changes (and, when given, their outcomes) as an
// aligned table. Kept changes are left out to keep the table short.
func writeChangeTable(w io.Writer, changes []Change, outcomes []Outcome) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	header := "  ACTION\tPACK\tFROM\tTO\tRULE\tREASON"
	if outcomes != nil {
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
		if outcomes != nil {
			res := string(outcomes[i].Result)
			if outcomes[i].Result == ResultFailed && outcomes[i].Err != nil {
				res += ": " + outcomes[i].Err.Error()
			}
			line += "\t" + res
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
