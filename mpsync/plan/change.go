package plan

import (
	"crypto/sha256"
	"encoding/hex"

	"mpsync.dev/mpsync/pack"
	"mpsync.dev/rules"
)

// Action is what a plan does with one pack.
type Action string

const (
	// ActionImport imports a pack the store does not hold.
	ActionImport Action = "import"
	// ActionUpgrade replaces a pack with a higher version.
	ActionUpgrade Action = "upgrade"
	// ActionRemove removes a workspace pack that is no longer wanted.
	ActionRemove Action = "remove"
	// ActionKeep leaves a pack that is current as it is.
	ActionKeep Action = "keep"
	// ActionBlocked is a change that cannot be applied; Change.Reason says why.
	ActionBlocked Action = "blocked"
	// ActionRollback is recorded in the ledger by [Engine.Rollback]; no
	// plan holds it.
	ActionRollback Action = "rollback"
)

// Change is one step of a [Plan]. Its ID is derived from the rule, the pack,
// the target version and hash, and the action, so an approval given for a
// change binds to exactly that change: if the catalog publishes another
// version or hash, the change gets a new ID and needs a new approval.
type Change struct {
	ID     string     `json:"id"`
	Rule   rules.Rule `json:"rule"`
	Action Action     `json:"action"`
	Pack   string     `json:"pack"`
	// From is the version imported now; zero for an import.
	From pack.Version `json:"from"`
	// To is the target version; zero for a removal.
	To pack.Version `json:"to"`
	// Solution is the solution a solution pack belongs to.
	Solution string `json:"solution,omitempty"`
	// SHA256 is the target's hash (imports and upgrades) or the hash of the
	// pack removed (removals).
	SHA256 string `json:"sha256,omitempty"`
	// Size is the target's size in bytes (imports and upgrades).
	Size int64 `json:"size,omitempty"`
	// Reason says why the change is in the plan, or why it is blocked.
	Reason string `json:"reason"`
	// Href is where the catalog serves the target (imports and upgrades).
	Href string `json:"href,omitempty"`
	// Error says why the planner could not check the change (for example,
	// the pack could not be downloaded); such a change is blocked.
	Error string `json:"error,omitempty"`
}

// ChangeID derives a change's stable id from the rule, the action, the
// pack, the version (the target's, or for a removal the version removed)
// and the hash: an approval given for one binds to exactly that change.
func ChangeID(rule rules.Rule, action Action, packID string, to pack.Version, sha string) string {
	// The bytes hashed are those of
	// fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s", rule, action, packID, to, sha),
	// built without fmt: a plan computes one id per pack.
	var buf [256]byte
	b := append(buf[:0], rule...)
	b = append(b, 0)
	b = append(b, action...)
	b = append(b, 0)
	b = append(b, packID...)
	b = append(b, 0)
	b, _ = to.AppendText(b)
	b = append(b, 0)
	b = append(b, sha...)
	sum := sha256.Sum256(b)
	var out [4 + 16]byte
	copy(out[:], "chg-")
	hex.Encode(out[4:], sum[:8])
	return string(out[:])
}
