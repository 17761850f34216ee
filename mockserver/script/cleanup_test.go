package script_test

import (
	"context"
	"net/http"
	"net/http/httptest"
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
