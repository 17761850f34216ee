package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmmock/crmmock/mockserver"
)

// login issues a user token from a mock's root URL.
func loginAt(t *testing.T, root string) string {
	t.Helper()
	resp, err := http.Post(root+"/crmapi/rest/v2/authentication/token", "application/json",
		strings.NewReader(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || env.Data.Token == "" {
		t.Fatalf("login: %v %+v", err, env)
	}
	return env.Data.Token
}

// useAt calls another Web API method with token.
func useAt(t *testing.T, root, token string) {
	t.Helper()
	resp, err := http.Get(root + "/crmapi/rest/v2/contact_information/show?token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func runLint(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(context.Background(), append([]string{"lint"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// Ensure crmmock lint prints the report and exits 1 at --fail-on, 0 below it.
func TestLintCommand(t *testing.T) {
	srv := mockserver.Start(t, mockserver.Options{Version: "R12"})
	code, out, _ := runLint("--target", srv.URL)
	if code != 0 || out != "no findings: 0 errors, 0 warnings, 0 info\n" {
		t.Fatalf("clean mock: exit %d, %q", code, out)
	}

	tok := loginAt(t, srv.URL)
	useAt(t, srv.URL, tok[:32]) // F9: a JWT in a 32-character column
	code, out, _ = runLint("--target", srv.URL)
	if code != 1 || !strings.HasPrefix(out, "ERROR   truncated-token  ×1 (requests #2)") || !strings.HasSuffix(out, "1 finding: 1 error, 0 warnings, 0 info\n") {
		t.Fatalf("exit %d:\n%s", code, out)
	}

	code, out, _ = runLint("--target", srv.URL+"/", "--format", "json")
	var rep mockserver.LintReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Rule != "truncated-token" || rep.Findings[0].Token != tok || rep.Summary["error"] != 1 {
		t.Fatalf("json report: %+v", rep)
	}
}

// Ensure --fail-on sets the threshold: info findings fail only --fail-on info.
func TestLintCommandFailOn(t *testing.T) {
	srv := mockserver.Start(t, mockserver.Options{Version: "R10"})
	useAt(t, srv.URL, loginAt(t, srv.URL)) // never released: info (F8)
	for _, c := range []struct {
		failOn string
		want   int
	}{{"error", 0}, {"warning", 0}, {"info", 1}, {"INFO", 1}} {
		if code, out, errs := runLint("--target", srv.URL, "--fail-on", c.failOn); code != c.want {
			t.Errorf("--fail-on %s: exit %d, want %d\n%s%s", c.failOn, code, c.want, out, errs)
		}
	}
}

// Ensure the admin token is sent (flag or CRMMOCK_ADMIN_TOKEN) and a refusal is explained.
func TestLintCommandAdminToken(t *testing.T) {
	srv := mockserver.Start(t, mockserver.Options{AdminToken: "s3cret"})
	code, _, errs := runLint("--target", srv.URL)
	if code != 2 || !strings.Contains(errs, "401 Unauthorized") || !strings.Contains(errs, "Bearer") {
		t.Fatalf("without token: exit %d, %q", code, errs)
	}
	if code, out, errs := runLint("--target", srv.URL, "--admin-token", "s3cret"); code != 0 {
		t.Fatalf("with --admin-token: exit %d %s%s", code, out, errs)
	}
	t.Setenv("CRMMOCK_ADMIN_TOKEN", "s3cret")
	if code, out, errs := runLint("--target", srv.URL); code != 0 {
		t.Fatalf("with CRMMOCK_ADMIN_TOKEN: exit %d %s%s", code, out, errs)
	}
}

// Ensure bad usage and an unreachable or foreign target exit 2 with one line naming the problem.
func TestLintCommandBadUsage(t *testing.T) {
	foreign := mockserver.Start(t, mockserver.Options{}) // a server whose /__admin/lint is not JSON: use its Web API path
	cases := []struct {
		args []string
		want string
	}{
		{nil, "--target is required"},
		{[]string{"--target", "127.0.0.1:8080"}, "--target: \"127.0.0.1:8080\": want the mock's URL"},
		{[]string{"--target", "http://x", "--fail-on", "fatal"}, `--fail-on: unknown severity "fatal"`},
		{[]string{"--target", "http://x", "--format", "xml"}, `--format: "xml": want text or json`},
		{[]string{"--target", "http://x", "extra"}, `unexpected argument "extra"`},
		{[]string{"--target", "http://127.0.0.1:1"}, "GET http://127.0.0.1:1/__admin/lint:"},
		{[]string{"--target", foreign.URL + "/crmapi/rest/v1/x"}, "404 Not Found"}, // outside the base path (under it, x/__admin/lint is a method name, F19)
	}
	for _, c := range cases {
		code, out, errs := runLint(c.args...)
		if code != 2 || out != "" || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, code, out, errs, c.want)
		}
	}
}

// Ensure --target accepts a root, a sandbox URL and an admin URL.
func TestLintURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":              "http://127.0.0.1:8080/__admin/lint",
		"http://127.0.0.1:8080/":             "http://127.0.0.1:8080/__admin/lint",
		"http://h:1/sandboxes/ab12":          "http://h:1/sandboxes/ab12/__admin/lint",
		"http://h:1/sandboxes/ab12/__admin/": "http://h:1/sandboxes/ab12/__admin/lint",
		"https://mock.example/__admin?x=1#f": "https://mock.example/__admin/lint",
	} {
		got, err := lintURL(in)
		if err != nil || got != want {
			t.Errorf("lintURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// Ensure serve --lint-report writes the report as JSON at shutdown.
func TestServeLintReport(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lint.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root, done := serveInProcess(t, ctx, "--addr", "127.0.0.1:0", "--version", "R12", "--log-level", "error", "--lint-report", file)
	tok := loginAt(t, root)
	useAt(t, root, tok[:32])
	if _, err := os.Stat(file); err == nil {
		t.Fatal("the report was written before shutdown")
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rep mockserver.LintReport
	if err := json.Unmarshal(data, &rep); err != nil || len(rep.Findings) != 1 || rep.Findings[0].Rule != "truncated-token" {
		t.Fatalf("report %v: %s", err, data)
	}
}

// Ensure --lint-report into a missing directory is refused at start.
func TestServeLintReportBadDir(t *testing.T) {
	var errb bytes.Buffer
	code := Main(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--lint-report", filepath.Join(t.TempDir(), "nope", "lint.json")}, io.Discard, &errb)
	if code != 2 || !strings.Contains(errb.String(), "--lint-report:") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

// Ensure --target may be a sandbox's URL or its admin_url (docs/faults-and-sandboxes.md): each has its
// own lint, apart from the root's.
func TestLintCommandSandbox(t *testing.T) {
	srv := mockserver.Start(t, mockserver.Options{Version: "R12"})
	sb, err := srv.NewSandbox(mockserver.SandboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	root := srv.URL + sb.Prefix()
	useAt(t, root, loginAt(t, root)[:32])
	for _, target := range []string{root, root + "/__admin"} {
		if code, out, errs := runLint("--target", target); code != 1 || !strings.Contains(out, "truncated-token") {
			t.Errorf("--target %s: exit %d\n%s%s", target, code, out, errs)
		}
	}
	if code, out, _ := runLint("--target", srv.URL); code != 0 {
		t.Errorf("root: exit %d\n%s", code, out)
	}
}

// Ensure --lint-report is written also when a request outlasts the shutdown grace (a
// client whose body is still arriving): serve exits 1, saying so, and the report is there.
func TestServeLintReportAfterShutdownTimeout(t *testing.T) {
	defer func(g time.Duration) { shutdownGrace = g }(shutdownGrace)
	shutdownGrace = 200 * time.Millisecond
	file := filepath.Join(t.TempDir(), "lint.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root, done := serveInProcess(t, ctx, "--addr", "127.0.0.1:0", "--version", "R12", "--log-level", "error", "--lint-report", file)
	addr := strings.TrimPrefix(root, "http://")
	conn, err := net.Dial("tcp", addr) // a login whose body never finishes arriving
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	startInFlight(t, conn, "POST /crmapi/rest/v2/authentication/token HTTP/1.1\r\nHost: "+addr+
		"\r\nContent-Type: application/json\r\nContent-Length: 80\r\n")
	if _, err := io.WriteString(conn, "{\"username\""); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 1 {
			t.Errorf("serve exited %d, want 1 (a request outlasted the shutdown grace)", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("no lint report: %v", err)
	}
}
