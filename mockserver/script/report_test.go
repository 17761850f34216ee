package script_test

import (
	"testing"

	"github.com/crmmock/crmmock/mockserver/script"
)

// Ensure the summary names the facts whose expectations went unchecked, in number order.
func TestSummaryNamesUncheckedFacts(t *testing.T) {
	suites := []script.Suite{
		{File: "a.yaml", Facts: []string{"F10", "F7"}, Steps: []script.StepResult{{Status: script.Skipped, Unchecked: true}}},
		{File: "b.yaml", Facts: []string{"F2", "F9"}, Steps: []script.StepResult{{Status: script.Skipped, Unchecked: true}}},
		{File: "c.yaml", Facts: []string{"F5"}, Steps: []script.StepResult{{Status: script.Skipped}}},
	}
	want := "0 passed, 0 failed, 3 skipped: 2 expectations went unchecked (facts F2, F7, F9, F10); --allow-skips accepts that"
	if got := script.Summary(suites); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
