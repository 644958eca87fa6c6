package approval

import (
	"fmt"
	"strings"
	"time"
)

// ParseMode returns the approver a command-line mode names (the command's
// --approval flag):
//
//	auto                            approve everything ([Auto])
//	freeze[:<reason>]               deny everything ([Freeze])
//	manual                          wait for an operator ([NewManual] on meta)
//	window:<cron>:<duration>[:<tz>] approve inside a window ([ParseWindow]),
//	                                e.g. "window:0 2 * * SAT:4h:Europe/Berlin"
//
// The duration is in [time.ParseDuration] form; without a zone the window is
// in UTC. meta is needed only for manual. Errors wrap [ErrInvalid] and quote
// the mode.
func ParseMode(s string, meta Meta) (Approver, error) {
	kind, rest, hasRest := strings.Cut(strings.TrimSpace(s), ":")
	switch kind {
	case "auto", "manual":
		if hasRest {
			return nil, fmt.Errorf("approval: mode %q: %w: %s takes no argument", s, ErrInvalid, kind)
		}
		if kind == "auto" {
			return Auto(), nil
		}
		if meta == nil {
			return nil, fmt.Errorf("approval: mode %q: %w: manual approval needs a store", s, ErrInvalid)
		}
		return NewManual(meta), nil
	case "freeze":
		return Freeze(rest), nil
	case "window":
		parts := strings.Split(rest, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return nil, fmt.Errorf("approval: mode %q: %w: want window:<cron>:<duration>[:<tz>]", s, ErrInvalid)
		}
		d, err := time.ParseDuration(strings.TrimSpace(parts[1]))
		if err != nil {
			return nil, fmt.Errorf("approval: mode %q: %w: duration: %v", s, ErrInvalid, err)
		}
		zone := ""
		if len(parts) == 3 {
			zone = strings.TrimSpace(parts[2])
		}
		w, err := ParseWindow(parts[0], d, zone)
		if err != nil {
			return nil, fmt.Errorf("approval: mode %q: %w", s, err)
		}
		return w, nil
	default:
		return nil, fmt.Errorf("approval: mode %q: %w: want auto, manual, freeze or window:<cron>:<duration>[:<tz>]", s, ErrInvalid)
	}
}
