package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestRun runs the whole walkthrough and checks the lines a newcomer is told
// to look for: if the engine stops importing, upgrading or removing as the
// workspace changes, this test fails.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, defaultDir()); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	text := out.String()
	steps := splitSteps(t, text)

	wants := []struct {
		step  string
		lines []string // regular expressions, each matching one line
	}{
		{"1.", []string{
			`^chg-\S+\s+MPUpdate\s+import\s+Microsoft\.SystemCenter\.Advisor\s+-\s+7\.1\.10226\.1239\s+applied\s`,
			`^chg-\S+\s+GetIntelligencePacks\s+import\s+Microsoft\.IntelligencePacks\.AlertManagement\s+-\s+7\.2\.11719\.0\s+applied\s`,
			`^Applied: 6 imported, 0 upgraded, 0 removed\.$`,
		}},
		{"2.", []string{
			`^chg-\S+\s+\S+\s+import\s+Microsoft\.IntelligencePacks\.ChangeTracking\s+-\s+7\.2\.11720\.0\s+applied\s`,
			`^chg-\S+\s+\S+\s+import\s+Microsoft\.IntelligencePacks\.ChangeTracking\.Windows\s+-\s+7\.2\.11720\.0\s+applied\s`,
			`^Applied: 2 imported, 0 upgraded, 0 removed\.$`,
		}},
		{"3.", []string{
			`^chg-\S+\s+\S+\s+upgrade\s+Microsoft\.IntelligencePacks\.AlertManagement\s+7\.2\.11719\.0\s+7\.2\.11800\.0\s+applied\s`,
			`^Applied: 0 imported, 1 upgraded, 0 removed\.$`,
		}},
		{"4.", []string{
			`^chg-\S+\s+\S+\s+remove\s+Microsoft\.IntelligencePacks\.UpdateAssessment\.Configuration\s+7\.2\.11719\.0\s+-\s+applied\s`,
			`^chg-\S+\s+\S+\s+remove\s+Microsoft\.IntelligencePacks\.UpdateAssessment\s+7\.2\.11719\.0\s+-\s+applied\s`,
			`^Applied: 0 imported, 0 upgraded, 2 removed\.$`,
		}},
		{"5.", []string{
			`^Packs \(6\):$`,
			`^\s+Microsoft\.IntelligencePacks\.AlertManagement\s+7\.2\.11800\.0\s+workspace\s+GetIntelligencePacks\s+AlertManagement\s+7\.2\.11719\.0$`,
			`^\s+MPUpdate\s+true\s+43200 s\s+default\s+\S+\s+ok$`,
			`^\s+GetIntelligencePacks\s+true\s+300 s\s+default\s+\S+\s+ok$`,
			`^Connection: connected to workspace 6f0c3a52-7d1e-4c1b-9a53-0d9f4f2b1e11 since`,
		}},
	}
	for _, w := range wants {
		body, ok := steps[w.step]
		if !ok {
			t.Errorf("no step %q in output:\n%s", w.step, text)
			continue
		}
		for _, pattern := range w.lines {
			if !regexp.MustCompile(`(?m)` + pattern).MatchString(body) {
				t.Errorf("step %s: no line matches %s in:\n%s", w.step, pattern, body)
			}
		}
	}

	// Removals go dependents first: the Configuration pack references
	// UpdateAssessment, so it must leave before it.
	removals := steps["4."]
	if cfg, ua := strings.Index(removals, "UpdateAssessment.Configuration"), strings.Index(removals, "UpdateAssessment  "); cfg < 0 || ua < 0 || cfg > ua {
		t.Errorf("step 4: the dependent pack is not removed first:\n%s", removals)
	}
	if strings.Contains(steps["5."], "UpdateAssessment") {
		t.Errorf("step 5: a removed pack is still listed:\n%s", steps["5."])
	}
}

// splitSteps cuts the output at its "== N." headings and returns each step's
// text by its number ("1.", "2.", ...).
func splitSteps(t *testing.T, text string) map[string]string {
	t.Helper()
	steps := map[string]string{}
	for _, part := range strings.Split(text, "\n== ")[1:] {
		num, _, _ := strings.Cut(part, " ")
		steps[num] = part
	}
	if len(steps) == 0 {
		t.Fatalf("no step headings in output:\n%s", text)
	}
	return steps
}

func TestRunRefusesMissingDirectory(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "workspace.json") {
		t.Fatalf("run on an empty directory: got %v, want an error naming workspace.json", err)
	}
}
