package script_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/crmmock/crmmock/mockserver"
	"github.com/crmmock/crmmock/mockserver/script"
)

// Ensure a script run against a crmmock target deletes the sandbox it ran in when a
// step fails mid-way, and when the run is cancelled mid-way (Ctrl-C): the target is
// left with no sandbox of the run's.
func TestTargetSandboxDeletedOnFailureAndCancel(t *testing.T) {
	m, err := mockserver.New(mockserver.Options{Version: "R12"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/contact_information/show") {
			cancel() // the user presses Ctrl-C while the second step runs
		}
		m.ServeHTTP(w, r)
	}))
	defer srv.Close()
	s := mustParse(t, `releases: [R12]
steps:
  - name: log in
    request: {method: POST, action: authentication/token, body: {username: mpadministrator, password: "1234", organisation: CRMDEMO}}
    expect: {code: INVALID_CREDENTIALS}
  - name: a call
    request: {method: GET, action: contact_information/show, query: {token: none}}
    expect: {code: INVALID_TOKEN}
  - name: another
    request: {method: GET, action: contact_information/show, query: {token: none}}
    expect: {code: INVALID_TOKEN}
`)
	failed := script.Run(context.Background(), &script.Script{File: s.File, Releases: s.Releases, Fixtures: s.Fixtures, Steps: s.Steps[:1]}, script.Options{Target: srv.URL})
	if _, f, _ := script.Totals(failed); f != 1 {
		t.Fatalf("the failing step: %+v", failed)
	}
	if n := len(m.Sandboxes()); n != 0 {
		t.Fatalf("a failed script left %d sandboxes", n)
	}
	script.Run(ctx, s, script.Options{Target: srv.URL})
	if ctx.Err() == nil {
		t.Fatal("the run was not cancelled")
	}
	if n := len(m.Sandboxes()); n != 0 {
		t.Errorf("a cancelled run left %d sandboxes on the target", n)
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
