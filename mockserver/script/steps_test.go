package script_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/crmmock/crmmock/mockserver/script"
)

const login = `{method: POST, action: authentication/token, body: {username: mpadministrator, password: "1234", organisation: CRMDEMO}}`

// runOn runs a script in the fake target's root (InRoot), where the fake's lint, faults
// and token calls are.
func runOn(t *testing.T, f *fakeControl, src string) []script.StepResult {
	t.Helper()
	s := mustParse(t, src)
	suites := script.Run(context.Background(), s, script.Options{Target: f.srv.URL, InRoot: true})
	if len(suites) != 1 || suites[0].Error != "" || suites[0].NotApplicable != "" {
		t.Fatalf("got suites %+v, want one that ran", suites)
	}
	return suites[0].Steps
}

func report(suites []script.Suite) string {
	var b bytes.Buffer
	_ = script.WriteText(&b, suites)
	return b.String()
}

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

// Ensure fault steps post the fault (with ${…} replaced), keep its id, and clear one or
// all; a client sees the injected answer once, a dropped connection, a delay; token
// expire/revoke steps call the token's control path.
func TestFaultSteps(t *testing.T) {
	f := newFakeControl(t, "R12")
	steps := runOn(t, f, `releases: [R12]
steps:
  - request: `+login+`
    save: {token: data.token}
  - fault: {operation: authentication/token, answer: {code: INTERNAL_ERROR}}
    save: {login_fault: id}
  - name: the login fails once
    request: `+login+`
    expect: {code: INTERNAL_ERROR, json: {status.description: "fault ${login_fault}"}}
  - name: and then works
    request: `+login+`
    expect: {code: OK}
  - fault: {operation: authentication/token, drop_connection: true}
  - request: `+login+`
    expect: {dropped: true}
  - fault: {operation: authentication/token, delay: 60ms}
  - request: `+login+`
    expect: {code: OK, took_at_least: 50ms}
  - fault: {operation: "*", times: 0, match: {token: "${token}"}}
    save: {all: id}
  - clear_faults: "${all}"
  - fault: {operation: authentication/token}
  - clear_faults: all
  - request: `+login+`
    expect: {code: OK}
  - name: not dropped, so this fails
    request: `+login+`
    expect: {dropped: true}
  - name: answered at once, so this fails
    request: `+login+`
    expect: {took_at_least: 10s}
  - expire_token: "${token}"
  - revoke_token: "${token}"
  - revoke_token: all
`)
	if len(steps) != 18 {
		t.Fatalf("got %d steps, want 18", len(steps))
	}
	for i, st := range steps {
		wantFail := i == 13 || i == 14
		if (st.Status == script.Failed) != wantFail || st.Status == script.Skipped {
			t.Errorf("step %d (%s): got %s %v %s", st.Index, st.Name, st.Status, st.Failures, st.Response)
		}
	}
	if got := steps[1].Name; got != "fault on authentication/token: answer INTERNAL_ERROR once" {
		t.Errorf("title: got %q", got)
	}
	if got := steps[8].Name; got != "fault on *: answer INTERNAL_ERROR until cleared" {
		t.Errorf("title: got %q", got)
	}
	if got := steps[13].Failures; len(got) != 1 || got[0].String() != "answer: want none: the connection closed without an answer, got HTTP 200" {
		t.Errorf("dropped failure: got %v", got)
	}
	if got := steps[14].Failures; len(got) != 1 || !strings.HasPrefix(got[0].String(), "time to answer: want at least 10s, got ") {
		t.Errorf("took_at_least failure: got %v", got)
	}
	calls := f.Calls()
	want := []string{"POST /__admin/faults", "POST /__admin/faults", "POST /__admin/faults", "POST /__admin/faults",
		"DELETE /__admin/faults/f4", "POST /__admin/faults", "DELETE /__admin/faults"}
	if !slices.Equal(calls[:len(want)], want) {
		t.Errorf("fault calls: got %v, want %v", calls, want)
	}
	rest := calls[len(want):]
	if len(rest) != 3 || !strings.HasPrefix(rest[0], "POST /__admin/tokens/eyJ") || !strings.HasSuffix(rest[0], "/expire") ||
		!strings.HasSuffix(rest[1], "/revoke") || rest[2] != "POST /__admin/tokens/revoke" {
		t.Errorf("token calls: got %v", rest)
	}
}

// Ensure a sandbox step creates a sandbox with the script's fixtures, steps with in:
// act on it alone (its clock, its tokens), and it is deleted when the run ends.
func TestSandboxSteps(t *testing.T) {
	f := newFakeControl(t, "R12")
	src := `releases: [R10]
clock: {start: "2024-01-01T09:00:00Z"}
steps:
  - request: ` + login + `
    save: {root_token: data.token}
  - sandbox: {name: worker, version: R12}
  - request: ` + login + `
    in: worker
    expect: {jwt: {claims: {iat: "1704099600"}}}
    save: {worker_token: data.token}
  - advance: 3h
    in: worker
  - name: the worker's token expired in its sandbox
    request: {method: GET, action: contact_information/show, query: {token: "${worker_token}"}}
    in: worker
    expect: {code: TOKEN_EXPIRED}
  - name: the root's token is live (its clock did not move)
    request: {method: GET, action: contact_information/show, query: {token: "${root_token}"}}
    expect: {code: OK}
  - name: a token of the root is unknown in the sandbox
    request: {method: GET, action: contact_information/show, query: {token: "${root_token}"}}
    in: worker
    expect: {code: INVALID_TOKEN}
  - admin: {path: clock}
    in: worker
    expect: {json: {now: "2024-01-01T12:00:00Z"}}
`
	steps := runOn(t, f, src)
	if len(steps) != 8 {
		t.Fatalf("got %d steps, want 8", len(steps))
	}
	for _, st := range steps {
		if st.Status != script.Passed {
			t.Errorf("step %d (%s): got %s %v\n%s", st.Index, st.Name, st.Status, st.Failures, st.Response)
		}
	}
	if steps[1].Name != "create sandbox worker" || steps[3].Name != "advance the clock 3h in sandbox worker" {
		t.Errorf("titles: got %q, %q", steps[1].Name, steps[3].Name)
	}
	if calls := f.Calls(); !slices.Equal(calls, []string{"POST /__admin/sandboxes", "DELETE /__admin/sandboxes/sb1"}) {
		t.Errorf("sandbox calls: got %v, want one create and its delete", calls)
	}
	// In-process the same steps run against the mock's own sandbox API.
	s := mustParse(t, src)
	if !slices.Contains(s.Requires, "sandboxes") {
		t.Errorf("requires: got %v, want sandboxes implied by the sandbox step", s.Requires)
	}
}

// Ensure the new step kinds are checked at load time, naming the line and the step.
func TestStepParseErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"  - lint: {fired: [truncated-tokens]}\n", `line 3: step 1: lint: "truncated-tokens" is not a lint rule`},
		{"  - lint: {none: [fatal]}\n", `line 3: step 1: lint: none: "fatal" is not a severity`},
		{"  - lint: {}\n", `line 3: step 1: lint: say what the report must show`},
		{"  - lint: {fired: [never-released], not_fired: [never-released]}\n", `both fired and not_fired`},
		{"  - lint: {fird: [never-released]}\n", `line 3: unknown key "fird"`},
		{"  - fault: {answer: {code: INTERNAL_ERROR}}\n", `line 3: step 1: fault: operation: give the Web API method`},
		{"  - fault: {operation: login}\n", `line 3: step 1: fault: operation: "login"`},
		{"  - advance: 1h\n  - fault:\n      operation: authentication/token\n      delay: soon\n", `line 6: step 2: fault: delay: "soon"`},
		{"  - fault: {operation: authentication/token, times: -1}\n", `fault: times: -1`},
		{"  - fault: {operation: authentication/token, answer: {code: OK}}\n", `fault: answer: code: "OK" is the success code`},
		{"  - fault: {operation: authentication/token, answer: {code: INTERNAL_ERROR}, drop_connection: true}\n", `drop_connection: a dropped connection has no answer`},
		{"  - fault: {operation: authentication/token, answr: {}}\n", `line 3: unknown key "answr"`},
		{"  - fault: {operation: authentication/token}\n    expect: {code: OK}\n", `line 3: step 1: expect and expect_by_release go with a request, admin or lint step`},
		{"  - advance: 1h\n    in: nowhere\n", `line 4: step 1: in: "nowhere": no earlier sandbox step`},
		{"  - sandbox: {name: a}\n  - sandbox: {name: a}\n", `line 4: step 2: sandbox: the name "a" is taken`},
		{"  - sandbox: {version: R10}\n", `line 3: step 1: sandbox: give it a name`},
		{"  - admin: {path: tokens}\n    expect: {dropped: true}\n", `dropped and took_at_least go with a request step`},
		{"  - request: {action: a/b}\n    expect: {took_at_least: fast}\n", `took_at_least: "fast"`},
	} {
		_, err := script.Parse([]byte("releases: [R12]\nsteps:\n" + c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.src, err, c.want)
		}
	}
}

// Ensure ${name:offset:length} is part of a saved value (a token cut as a too-short
// column would cut it), and ${name:offset} the rest.
func TestSubstitutionSlice(t *testing.T) {
	s := mustParse(t, `releases: [R12]
steps:
  - request: `+login+`
    save: {token: data.token}
  - request: {method: GET, action: contact_information/show, query: {token: "${token:0:32}"}}
    expect: {code: INVALID_TOKEN}
  - request: {method: GET, action: contact_information/show, query: {token: "${token:0:9999}"}}
    expect: {code: OK, json: {status.code: "${token:999999}OK"}}
`)
	suites := script.Run(context.Background(), s, script.Options{})
	for _, st := range suites[0].Steps {
		if st.Status != script.Passed {
			t.Errorf("step %d: got %s %v", st.Index, st.Status, st.Failures)
		}
	}
}

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
