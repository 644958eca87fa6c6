package mpsync

import (
	"testing"

	"mpsync.dev/mpsync/approval"

	"github.com/stretchr/testify/assert"
)

func TestOutcomeExplain(t *testing.T) {
	planned := "solution X is enabled"
	tests := []struct {
		name              string
		o                 Outcome
		wantReason, wantE string
	}{
		{"applied", Outcome{Change: Change{Reason: planned}, Result: ResultApplied}, planned, ""},
		{"failed", Outcome{Change: Change{Reason: planned}, Result: ResultFailed,
			Err: &ChangeError{Pack: "F", Step: "import", Err: errString2("disk\nfull")}}, planned, "pack F: import: disk; full"},
		{"denied", Outcome{Change: Change{Reason: planned}, Result: ResultDenied, Decision: &approval.Decision{Reason: "frozen"}}, "frozen", ""},
		{"pending", Outcome{Change: Change{Reason: planned}, Result: ResultPending, Decision: &approval.Decision{Reason: "window closed"}},
			planned + "; window closed", ""},
		{"skipped", Outcome{Change: Change{Reason: planned}, Result: ResultSkipped,
			Err: &ChangeError{Pack: "S", Step: "dependency", Err: errString2("waits for F")}}, planned + "; waits for F", ""},
		{"blocked, cause already in the reason", Outcome{Change: Change{Reason: "waits for F"}, Result: ResultSkipped,
			Err: &ChangeError{Pack: "S", Step: "dependency", Err: errString2("waits for F")}}, "waits for F", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, e := tt.o.Explain()
			assert.Equal(t, tt.wantReason, reason)
			if tt.wantE == "" {
				assert.Empty(t, e)
			} else {
				assert.Contains(t, e, "disk; full")
				assert.NotContains(t, e, "\n")
			}
		})
	}
}
