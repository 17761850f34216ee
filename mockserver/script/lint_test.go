package script_test

import (
	"context"
	"strings"
	"testing"

	"github.com/crmmock/crmmock/mockserver/script"
)

// Ensure a lint step passes when the named rules fired and no other finding has the
// severities under none, and fails naming the rule and the finding otherwise.
func TestLintStep(t *testing.T) {
	f := newFakeControl(t, "R12")
	f.lint = `{"findings":[
	  {"rule":"truncated-token","severity":"error","message":"a 31-character prefix of a JWT was presented","count":2,"requests":[3,4]},
	  {"rule":"never-released","severity":"info","message":"1 token never released","count":1,"requests":[1]}],
	  "summary":{"error":1,"warning":0,"info":1}}`
	steps := runOn(t, f, `releases: [R12]
steps:
  - lint: {fired: [truncated-token], none: [error, warning]}
  - lint: {fired: [truncated-token, never-released], not_fired: [login-per-request]}
    expect: {json: {summary.error: 1}}
  - lint: {fired: [expired-token-reused]}
  - lint: {not_fired: [truncated-token]}
  - lint: {none: [error]}
  - lint: {none: [info]}
    save: {first: findings.0.rule}
  - request: {method: GET, action: contact_information/show, query: {token: "${first}"}}
    expect: {code: INVALID_TOKEN}
`)
	want := []script.Status{script.Passed, script.Passed, script.Failed, script.Failed, script.Failed, script.Failed, script.Passed}
	if len(steps) != len(want) {
		t.Fatalf("got %d steps, want %d", len(steps), len(want))
	}
	for i, st := range steps {
		if st.Status != want[i] {
			t.Errorf("step %d (%s): got %s %v, want %s", st.Index, st.Name, st.Status, st.Failures, want[i])
		}
	}
	if steps[0].Name != "lint: truncated-token fired; no other error or warning finding" {
		t.Errorf("title: got %q", steps[0].Name)
	}
	for i, w := range []string{
		"lint rule expired-token-reused: want fired, got not fired (findings of truncated-token, never-released)",
		"lint rule truncated-token: want not fired, got fired: truncated-token (error, 2×, requests 3, 4): a 31-character prefix of a JWT was presented",
		"lint error findings: want none, got truncated-token (error, 2×, requests 3, 4): a 31-character prefix",
		"lint info findings: want none, got never-released (info, requests 1): 1 token never released",
	} {
		st := steps[2+i]
		if len(st.Failures) != 1 || !strings.HasPrefix(st.Failures[0].String(), w) {
			t.Errorf("step %d: got %v, want %q", st.Index, st.Failures, w)
		}
		if !strings.Contains(st.Response, "HTTP 200: 2 findings\ntruncated-token (error") {
			t.Errorf("step %d: the report shows %q, want the findings a line each", st.Index, st.Response)
		}
	}

	// A target with a control API but no lint: a script with a lint step is not
	// applicable, counted once for its two releases.
	f.lint = ""
	s := mustParse(t, "releases: [R10, R12]\nsteps:\n  - lint: {none: [error]}\n")
	suites := script.Run(context.Background(), s, script.Options{Target: f.srv.URL, InRoot: true})
	if len(suites) != 2 || !strings.Contains(suites[1].NotApplicable, "requires lint") || script.RunFailed(suites) {
		t.Errorf("no lint API: got %+v, want not applicable", suites)
	}
	if got := script.Summary(suites); got != "0 passed, 0 failed, 0 skipped, 1 script not applicable" {
		t.Errorf("summary: got %q", got)
	}
}
