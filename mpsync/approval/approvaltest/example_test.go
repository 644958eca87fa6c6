package approvaltest_test

import (
	"context"
	"fmt"

	"mpsync.dev/mpsync/approval"

	"mpsync.dev/mpsync/plan"

	"mpsync.dev/mpsync/approval/approvaltest"
)

// Check tells what is wrong with one decision; Run applies it (and more) to
// an approver from a test.
func ExampleCheck() {
	mine := approval.ApproverFunc(func(_ context.Context, req approval.Request) (approval.Decision, error) {
		if req.Change.Action == plan.ActionRemove {
			return approval.Decision{Verdict: plan.Deny}, nil // forgot to say why
		}
		return approval.Decision{Verdict: plan.Approve, By: "mine"}, nil
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
