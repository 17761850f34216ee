package script_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmmock/crmmock/mockserver/script"
)

func loadAll(t *testing.T, names ...string) []*script.Script {
	t.Helper()
	var out []*script.Script
	for _, n := range names {
		s, err := script.Load(filepath.Join("..", "..", "scenarios", "scripts", n))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func outline(suites []script.Suite) []string {
	var out []string
	for _, s := range suites {
		p, f, sk := s.Counts()
		out = append(out, s.File+" @ "+s.Release+" "+strings.Repeat("✓", p)+strings.Repeat("✗", f)+strings.Repeat("-", sk))
	}
	return out
}

// Ensure RunAll with Parallel > 1 gives the same suites, in file order, as one after
// another (in-process: each suite has its own mock).
func TestRunAllParallelInProcess(t *testing.T) {
	files, _ := filepath.Glob(shipped)
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	scripts := loadAll(t, names...)
	seq := outline(script.RunAll(context.Background(), scripts, script.Options{}))
	par := script.RunAll(context.Background(), scripts, script.Options{Parallel: 4})
	if got := outline(par); strings.Join(got, "\n") != strings.Join(seq, "\n") {
		t.Errorf("parallel:\n%s\nwant as sequential:\n%s", strings.Join(got, "\n"), strings.Join(seq, "\n"))
	}
}

// Ensure that against a target with the sandbox API every suite runs in its own
// sandbox (created with the script's fixtures and release, deleted after), leaving the
// target's own mock untouched; without the sandbox API the scripts run one after
// another with a note.
func TestRunAllParallelTarget(t *testing.T) {
	scripts := loadAll(t, "idle-expiry.yaml", "release-token.yaml", "key-token-absolute.yaml", "release-switch.yaml")
	f := newFakeControl(t, "R12")
	suites := script.RunAll(context.Background(), scripts, script.Options{Target: f.srv.URL, Parallel: 3})
	tally := script.Count(suites)
	if !tally.OK() || tally.Passed == 0 || len(suites) != 8 {
		t.Fatalf("got %+v in %d suites, want 8 suites all passed:\n%s", tally, len(suites), report(suites))
	}
	if want := outline(script.RunAll(context.Background(), scripts, script.Options{})); strings.Join(outline(suites), "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant the in-process outline\n%s", strings.Join(outline(suites), "\n"), strings.Join(want, "\n"))
	}
	f.mu.Lock()
	created, left := f.created, len(f.sandboxes)
	f.mu.Unlock()
	if created != 8 || left != 0 {
		t.Errorf("sandboxes: %d created, %d left; want 8 created (one per suite), none left", created, left)
	}
	if n := len(f.m.Tokens()); n != 0 || f.m.Version().Name != "R12" {
		t.Errorf("the target's own mock: %d tokens, release %s; want untouched (0, R12)", n, f.m.Version().Name)
	}

	f.noSandbox = true
	suites = script.RunAll(context.Background(), scripts, script.Options{Target: f.srv.URL, Parallel: 3})
	if !script.Count(suites).OK() || len(suites[0].Notes) == 0 ||
		suites[0].Notes[0] != "--parallel 3: the target has no sandbox API (POST /__admin/sandboxes); the scripts ran one after another" {
		t.Errorf("without sandboxes: got %+v notes %q", script.Count(suites), suites[0].Notes)
	}
}

// Ensure that one after another, too, every suite runs in its own sandbox of a target
// with the sandbox API (the target's own mock untouched); with InRoot, or on a target
// without the sandbox API (each suite noting it), in the target's root.
func TestRunAllSequentialTarget(t *testing.T) {
	scripts := loadAll(t, "idle-expiry.yaml", "release-token.yaml")
	f := newFakeControl(t, "R12")
	suites := script.RunAll(context.Background(), scripts, script.Options{Target: f.srv.URL})
	if !script.Count(suites).OK() || len(suites) != 5 {
		t.Fatalf("got %+v in %d suites, want 5 suites all passed:\n%s", script.Count(suites), len(suites), report(suites))
	}
	f.mu.Lock()
	created := f.created
	f.mu.Unlock()
	if n := len(f.m.Tokens()); created != 5 || n != 0 || f.m.Version().Name != "R12" {
		t.Errorf("%d sandboxes created, the target's own mock %d tokens, release %s; want 5 (one per suite), and 0, R12 (untouched)", created, n, f.m.Version().Name)
	}

	suites = script.RunAll(context.Background(), scripts, script.Options{Target: f.srv.URL, InRoot: true})
	f.mu.Lock()
	created = f.created
	f.mu.Unlock()
	if !script.Count(suites).OK() || created != 5 || len(f.m.Tokens()) == 0 || len(suites[0].Notes) != 0 {
		t.Errorf("InRoot: %+v, %d sandboxes created, %d root tokens, notes %q; want all passed in the root (no sandbox, tokens there)",
			script.Count(suites), created, len(f.m.Tokens()), suites[0].Notes)
	}

	f.noSandbox = true
	suites = script.RunAll(context.Background(), scripts, script.Options{Target: f.srv.URL})
	for _, s := range suites {
		if len(s.Notes) != 1 || !strings.HasPrefix(s.Notes[0], "the target has no sandbox API (POST /__admin/sandboxes): the script ran in its root") {
			t.Errorf("%s @ %s without sandboxes: notes %q", s.File, s.Release, s.Notes)
		}
	}
}
