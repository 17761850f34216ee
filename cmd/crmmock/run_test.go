package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crmmock/crmmock/internal/testutil/mocktest"
	"github.com/crmmock/crmmock/mockserver"
	"github.com/stretchr/testify/require"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), append([]string{"run"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

var summaryLine = regexp.MustCompile(`(?m)^\d+ passed, \d+ failed, \d+ skipped.*$`)

// Ensure the shipped catalogue passes in-process and ends with the summary line.
func TestRunCatalogue(t *testing.T) {
	code, out, errOut := runCLI(t, filepath.Join("..", "..", "scenarios", "scripts"))
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "✓ 1. log in without a unit\n") {
		t.Errorf("no ✓ line for a step:\n%s", out)
	}
	if m := summaryLine.FindAllString(out, -1); len(m) != 1 || !strings.HasSuffix(out, m[0]+"\n") || !strings.HasSuffix(m[0], ", 0 failed, 0 skipped") {
		t.Errorf("summary: got %q, want one last line N passed, 0 failed, 0 skipped", m)
	}
}

// Ensure --parallel 4 prints the same report as one script after another (file order).
func TestRunParallel(t *testing.T) {
	dir := filepath.Join("..", "..", "scenarios", "scripts")
	code1, out1, _ := runCLI(t, dir)
	code4, out4, errOut := runCLI(t, "--parallel", "4", dir)
	if code1 != 0 || code4 != 0 || out1 != out4 {
		t.Errorf("--parallel 4: exit %d, want the sequential report (exit %d):\n%s%s", code4, code1, out4, errOut)
	}
}

// Ensure --target --parallel 4 against a mock with sandboxes runs the whole catalogue,
// each suite in its own sandbox, with the in-process result, and leaves the target's
// own mock untouched and no sandbox behind.
func TestRunParallelTarget(t *testing.T) {
	srv := mockserver.Start(t, mockserver.Options{})
	dir := filepath.Join("..", "..", "scenarios", "scripts")
	_, inProcess, _ := runCLI(t, dir)
	code, out, errOut := runCLI(t, "--target", srv.URL, "--parallel", "4", dir)
	want := summaryLine.FindString(inProcess)
	if code != 0 || summaryLine.FindString(out) != want {
		t.Fatalf("exit %d, summary %q, want 0 and the in-process %q:\n%s%s", code, summaryLine.FindString(out), want, out, errOut)
	}
	if n, sb := len(srv.Tokens()), len(srv.Sandboxes()); n != 0 || sb != 0 {
		t.Errorf("the target after the run: %d tokens, %d sandboxes; want none (every suite ran in its own sandbox)", n, sb)
	}
}

func writeScript(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Ensure bad usage and bad scripts exit 2 with a one-line reason, failures exit 1.
func TestRunExitCodes(t *testing.T) {
	bad := writeScript(t, "releases: [R10]\nsteps:\n  - advance: 1h\n    expct: {}\n")
	failing := writeScript(t, `releases: [pre-R10]
steps:
  - request: {method: POST, action: authentication/web_api_key/token, basic: EE73C0AE64524371B5DDEFF5F7BB2192, body: {}}
    expect: {code: OK}
`)
	for _, c := range []struct {
		args    []string
		code    int
		errPart string
	}{
		{nil, 2, "no script given: crmmock run [flags] FILE|DIR..."},
		{[]string{"--format", "xml", failing}, 2, `--format: "xml"`},
		{[]string{"--version", "X1", failing}, 2, "--version: unknown release"},
		{[]string{"--target", "localhost:8080", failing}, 2, "--target"},
		{[]string{"--parallel", "0", failing}, 2, "--parallel: 0: want 1 or more"},
		{[]string{bad}, 2, `line 4: unknown key "expct"`},
		{[]string{"no-such-file.yaml"}, 2, "no-such-file.yaml"},
		{[]string{failing}, 1, ""},
		{[]string{failing, "--version", "R10"}, 0, ""},
	} {
		code, out, errOut := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.errPart) {
			t.Errorf("run %v: exit %d, stderr %q; want exit %d, stderr with %q\n%s", c.args, code, errOut, c.code, c.errPart, out)
		}
	}
}

// Ensure --format junit --output writes JUnit XML and prints the summary line.
func TestRunJUnitOutput(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "report.xml")
	code, out, errOut := runCLI(t, "--format", "junit", "--output", dst, filepath.Join("..", "..", "scenarios", "scripts", "release-token.yaml"))
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	if !summaryLine.MatchString(out) {
		t.Errorf("stdout: got %q, want the summary line", out)
	}
	xml, _ := os.ReadFile(dst)
	for _, want := range []string{`<testsuites tests="`, `<testsuite name="../../scenarios/scripts/release-token.yaml @ pre-R10"`, `<testcase name="2. release the token"`} {
		if !strings.Contains(string(xml), want) {
			t.Errorf("report lacks %q:\n%s", want, xml)
		}
	}
}

// Ensure --format json gives the totals and every step.
func TestRunJSON(t *testing.T) {
	code, out, _ := runCLI(t, "--format=json", "--version=R12", filepath.Join("..", "..", "scenarios", "scripts", "jwt-shape.yaml"))
	var doc struct {
		Passed, Failed, Skipped int
		Suites                  []struct {
			Release string
			Steps   []struct{ Status string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Release != "R12" || doc.Passed != len(doc.Suites[0].Steps) || doc.Failed != 0 {
		t.Errorf("got %+v", doc)
	}
}

// Ensure --target against a server without /__admin skips the clock steps and the
// requests after them, says why, and fails the run (issue 8 item 11: a run that checked
// almost nothing must not go green) unless --allow-skips is given; the summary says how
// many expectations went unchecked.
func TestRunTargetWithoutControlAPI(t *testing.T) {
	srv := mocktest.WebAPIOnly(t, "R12")
	file := filepath.Join("..", "..", "scenarios", "scripts", "key-token-absolute.yaml")
	code, out, errOut := runCLI(t, "--target", srv.URL, file)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (skipped steps fail the run):\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"note: the target has no control API (/__admin)",
		"  ✓ 1. get a token for the Web API key\n",
		"  skipped 2. the key's token is its user's, on the user's default unit: the target has no control API (/__admin)\n",
		"  skipped 4. advance the clock 30m: the target has no control API (/__admin)\n",
		"  skipped 5. used at 30m: step 4 (advance the clock 30m) was skipped and this answer may depend on it\n",
		"\n2 passed, 0 failed, 11 skipped: 6 expectations went unchecked (facts F7); --allow-skips accepts that\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = runCLI(t, "--target", srv.URL, "--allow-skips", file)
	if code != 0 || !strings.HasSuffix(out, "\n2 passed, 0 failed, 11 skipped: 6 expectations went unchecked (facts F7)\n") {
		t.Errorf("--allow-skips: exit %d, want 0 and the unchecked count:\n%s%s", code, out, errOut)
	}
}

// Ensure a script that declares requires: [mock-fixtures] is not applicable on a target
// without a control API: no step runs, it neither passes nor fails, the report says so.
func TestRunNotApplicable(t *testing.T) {
	srv := mocktest.WebAPIOnly(t, "R12")
	dir := filepath.Join("..", "..", "scenarios", "scripts")
	code, out, errOut := runCLI(t, "--target", srv.URL, filepath.Join(dir, "jwt-numeric-dates.yaml"), filepath.Join(dir, "other-methods.yaml"))
	if code != 0 {
		t.Fatalf("exit %d, want 0 (not applicable is no failure):\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"jwt-numeric-dates.yaml @ R12 (target " + srv.URL + ")\n  not applicable: the script requires mock-fixtures (the script's own fixtures and data) and the target has no control API to load them\n",
		"\n0 passed, 0 failed, 0 skipped, 2 scripts not applicable\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "✓") {
		t.Errorf("a step ran:\n%s", out)
	}
	_, out, _ = runCLI(t, "--format", "json", "--target", srv.URL, filepath.Join(dir, "jwt-numeric-dates.yaml"))
	var doc struct {
		NotApplicable int  `json:"not_applicable"`
		OK            bool `json:"ok"`
		Suites        []struct {
			NotApplicable string `json:"not_applicable"`
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.NotApplicable != 1 || !doc.OK || doc.Suites[0].NotApplicable == "" {
		t.Errorf("json: got %+v (%v):\n%s", doc, err, out)
	}
	// In-process the same script runs.
	if code, out, _ := runCLI(t, filepath.Join(dir, "jwt-numeric-dates.yaml")); code != 0 || !strings.Contains(out, "✓ 1. iat and exp are numbers") {
		t.Errorf("in-process: exit %d:\n%s", code, out)
	}
}

// rawGet reads a control API answer whole.
func rawGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s", url, resp.StatusCode, body)
	}
	return string(body)
}

// userSession gives a running crmmock a user's own state: a custom scenario, the clock
// set, the release switched, a token issued (F6: on R11 it lives one idle hour). It
// returns the token and the control API's answers that make up that state.
func userSession(t *testing.T, root string) (tok string, state func() map[string]string) {
	t.Helper()
	api := root + "/crmapi/rest/v2/"
	st, _, v := call(t, "PUT", root+"/__admin/scenario", "{\"organisations\":[{\"name\":\"ACME\",\"units\":[{\"id\":\"U1\"}],\"users\":[{\"username\":\"alice\",\"password\":\"pw\"}]}]}")
	require.Equal(t, 200, st, "%v", v)
	st, _, v = call(t, "POST", root+"/__admin/clock/set", `{"now":"2030-06-01T12:00:00Z"}`)
	require.Equal(t, 200, st, "%v", v)
	st, _, v = call(t, "PUT", root+"/__admin/version", `{"version":"R11"}`)
	require.Equal(t, 200, st, "%v", v)
	_, _, v = call(t, "POST", api+"authentication/token", `{"username":"alice","password":"pw","organisation":"ACME"}`)
	require.Equal(t, "OK", code(v), "%v", v)
	tok = token(t, v)
	return tok, func() map[string]string {
		out := map[string]string{}
		for _, p := range []string{"clock", "version", "scenario", "tokens", "requests", "sandboxes"} {
			out[p] = rawGet(t, root+"/__admin/"+p)
		}
		return out
	}
}

// Ensure `run --target` against a running crmmock (the binary) runs the whole catalogue,
// each suite in a sandbox of its own, as one after another: the lint scripts among them,
// and leaves the user's session as it was: clock, release, fixtures, journal, the token
// still live (F6: used 59 min later it answers OK) and no sandbox left behind.
func TestRunTargetKeepsTheTargetsState(t *testing.T) {
	p := startBinary(t, nil, "--version", "R10", "--log-level", "error")
	tok, state := userSession(t, p.url)
	before := state()

	dir := filepath.Join("..", "..", "scenarios", "scripts")
	_, inProcess, _ := runCLI(t, dir)
	exit, out, errOut := runCLI(t, "--target", p.url, dir)
	if want := summaryLine.FindString(inProcess); exit != 0 || summaryLine.FindString(out) != want {
		t.Fatalf("exit %d, summary %q, want 0 and the in-process %q:\n%s%s", exit, summaryLine.FindString(out), want, out, errOut)
	}
	for _, lintScript := range []string{"lint-message-as-token.yaml @ R10", "lint-pooled-tokens-idle.yaml @ R12"} {
		require.Contains(t, out, lintScript)
	}
	after := state()
	for k, v := range before {
		require.Equal(t, v, after[k], "/__admin/%s after the run", k)
	}
	require.Contains(t, after["clock"], "2030-06-01T12:00:00Z")
	require.Contains(t, after["version"], "R11")
	_, _, v := call(t, "POST", p.url+"/__admin/clock/advance", `{"duration":"59m"}`)
	require.Equal(t, "2030-06-01T12:59:00Z", v["now"])
	_, _, v = call(t, "GET", p.url+"/crmapi/rest/v2/contact_information/show?token="+tok, "")
	require.Equal(t, "OK", code(v), "the user's token, issued before the run, is live")
}

// Ensure --in-root keeps the old behaviour: the script runs in the target's root, whose
// fixtures, release, clock and tokens it replaces; and it is refused with --parallel or
// without --target.
func TestRunTargetInRoot(t *testing.T) {
	srv := mockserver.Start(t, mockserver.Options{Version: "R10"})
	tok, state := userSession(t, srv.URL)
	before := state()
	file := filepath.Join("..", "..", "scenarios", "scripts", "idle-expiry.yaml")
	exit, out, errOut := runCLI(t, "--target", srv.URL, "--in-root", file)
	if exit != 0 {
		t.Fatalf("exit %d:\n%s%s", exit, out, errOut)
	}
	after := state()
	for _, k := range []string{"clock", "version", "scenario", "tokens"} {
		require.NotEqual(t, before[k], after[k], "/__admin/%s after an --in-root run", k)
	}
	_, _, v := call(t, "GET", srv.URL+"/crmapi/rest/v2/contact_information/show?token="+tok, "")
	require.Equal(t, "INVALID_TOKEN", code(v), "the root was reset")

	for _, args := range [][]string{{"--in-root", file}, {"--target", srv.URL, "--in-root", "--parallel", "2", file}} {
		exit, _, errOut := runCLI(t, args...)
		require.Equal(t, 2, exit, "%v", args)
		require.Contains(t, errOut, "--in-root: ")
	}
}

// Ensure a crmmock target that allows no sandbox (--max-sandboxes 0) is not run in its
// root behind the user's back: the run fails saying why and pointing at --in-root.
func TestRunTargetNoSandboxAllowed(t *testing.T) {
	srv := mockserver.Start(t, mockserver.Options{Version: "R10", MaxSandboxes: -1})
	file := filepath.Join("..", "..", "scenarios", "scripts", "idle-expiry.yaml")
	exit, out, errOut := runCLI(t, "--target", srv.URL, file)
	if exit != 1 || !strings.Contains(out, "HTTP 429") || !strings.Contains(out, "--in-root runs it in the target's root instead") {
		t.Fatalf("exit %d, want 1 naming the 429 and --in-root:\n%s%s", exit, out, errOut)
	}
	if exit, out, errOut = runCLI(t, "--target", srv.URL, "--in-root", file); exit != 0 {
		t.Fatalf("--in-root: exit %d:\n%s%s", exit, out, errOut)
	}
}
