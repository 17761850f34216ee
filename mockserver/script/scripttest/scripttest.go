// Package scripttest runs scenario scripts from Go tests, as subtests (the script
// package's runner, kept apart so a binary that runs scripts does not link testing).
package scripttest

import (
	"fmt"
	"testing"

	"github.com/crmmock/crmmock/mockserver/script"
)

// RunFile runs a script file from a Go test on every release it lists, each on a fresh
// in-process mock: a subtest per release, and in it a subtest per step (failed
// expectations are test errors). A file that does not load fails t.
func RunFile(t *testing.T, path string) {
	t.Helper()
	RunFileWith(t, path, script.Options{})
}

// RunFileWith is RunFile with options (e.g. Target to check a running server, or
// Version to run one release only).
func RunFileWith(t *testing.T, path string, o script.Options) {
	t.Helper()
	s, err := script.Load(path)
	if err != nil {
		t.Fatalf("script %v", err)
	}
	releases := s.Releases
	if o.Version != "" || o.Target != "" {
		releases = []string{o.Version} // one run; Run picks the release(s)
	}
	for _, rel := range releases {
		name := rel
		if name == "" {
			name = "target"
		}
		t.Run(name, func(t *testing.T) {
			if o.Target == "" {
				t.Parallel()
			}
			ro := o
			ro.Version = rel
			for _, suite := range script.Run(t.Context(), s, ro) {
				ReportTo(t, suite)
			}
		})
	}
}

// ReportTo reports a suite's steps as subtests of t: failed steps are errors, and so
// are skipped ones unless the suite allows skips (then they are skipped subtests); a
// suite not applicable to its target is skipped.
func ReportTo(t *testing.T, suite script.Suite) {
	t.Helper()
	for _, n := range suite.Notes {
		t.Log(n)
	}
	if suite.Error != "" {
		t.Errorf("%s @ %s: could not run: %s", suite.File, suite.Release, suite.Error)
	}
	if suite.NotApplicable != "" {
		t.Skipf("%s @ %s: not applicable: %s", suite.File, suite.Release, suite.NotApplicable)
	}
	for _, st := range suite.Steps {
		t.Run(fmt.Sprintf("%02d %s", st.Index, st.Name), func(t *testing.T) {
			switch st.Status {
			case script.Skipped:
				if !suite.AllowSkips {
					t.Errorf("%s:%d: step %d skipped (Options.AllowSkips accepts skips): %s", suite.File, st.Line, st.Index, st.Reason)
					return
				}
				t.Skip(st.Reason)
			case script.Failed:
				t.Errorf("%s:%d: step %d failed on %s:\n%s", suite.File, st.Line, st.Index, suite.Release, st.Failure())
			}
		})
	}
}
