package approvaltest_test

import (
	"context"
	"fmt"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync"
	"mpsync.dev/mpsync/approval/approvaltest"
)

// Check tells what is wrong with one decision; Run applies it (and more) to
// an approver from a test.
func ExampleCheck() {
	mine := mpsync.ApproverFunc(func(_ context.Context, req mpsync.ApprovalRequest) (mpsync.Decision, error) {
		if req.Change.Action == mpsync.ActionRemove {
			return mpsync.Decision{Verdict: plan.Deny}, nil // forgot to say why
		}
		return mpsync.Decision{Verdict: plan.Approve, By: "mine"}, nil
	})
	for _, c := range approvaltest.Changes() {
		req := approvaltest.Request(c)
		d, _ := mine.Decide(context.Background(), req)
		fmt.Printf("%s: %v\n", c.Action, approvaltest.Check(d, req))
	}
	// Output:
	// import: <nil>
	// upgrade: <nil>
	// remove: a denial must say why (Reason is empty)
}
