// Cross-cutting suite (keeps its name): the worked example of docs/lint.md run as written.

package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeBlock is the fenced block after "<!-- lint-example: name -->" in docs/lint.md.
func readmeBlock(t *testing.T, readme, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(readme, "<!-- lint-example: "+name+" -->\n")
	if !ok {
		t.Fatalf("docs/lint.md has no lint-example %q", name)
	}
	_, rest, _ = strings.Cut(rest, "\n") // the opening fence
	block, _, ok := strings.Cut(rest, "```\n")
	if !ok {
		t.Fatalf("lint-example %q: no closing fence", name)
	}
	return block
}

// jwtEnds masks the per-run part of a token as the text report shows it.
var jwtEnds = regexp.MustCompile(`Token …[A-Za-z0-9_-]{8} `)

// Ensure the worked example of docs/lint.md runs as written: the R10-era client against
// R12 prints what the doc shows, its lint report is the doc's, and so is the fixed
// client's.
func TestReadmeLintExample(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	data, err := os.ReadFile("../../docs/lint.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	client := readmeBlock(t, readme, "client")
	fix := readmeBlock(t, readme, "fix")
	start := strings.Index(client, "    def show(self, now):\n")
	end := strings.Index(client, "\nclient = Client()")
	if start < 0 || end < start {
		t.Fatal("the client block has no show method to replace")
	}
	fixed := client[:start] + fix + client[end:]

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root, done := serveInProcess(t, ctx, "--version", "R12", "--start", "2024-01-01T09:00:00Z", "--addr", "127.0.0.1:0", "--log-level", "error")

	dir := t.TempDir()
	run := func(script string) string {
		t.Helper()
		file := filepath.Join(dir, "r10_client.py")
		if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(python, file)
		cmd.Env = append(os.Environ(), "CRMMOCK_URL="+root)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("python3: %v\n%s", err, out)
		}
		return string(out)
	}
	lintOut := func() string {
		code, out, errs := runLint("--target", root)
		if errs != "" {
			t.Fatalf("lint: %s", errs)
		}
		return jwtEnds.ReplaceAllString(out, "Token …TOKEN ") + "exit " + string(rune('0'+code)) + "\n"
	}
	want := func(name string) string {
		return jwtEnds.ReplaceAllString(readmeBlock(t, readme, name), "Token …TOKEN ")
	}

	if got := run(client); got != readmeBlock(t, readme, "client-output") {
		t.Errorf("the client printed:\n%s", got)
	}
	if got := lintOut(); got != want("report") {
		t.Errorf("crmmock lint printed:\n%s\ndocs/lint.md shows:\n%s", got, want("report"))
	}

	resp, err := http.Post(root+"/__admin/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := run(fixed); strings.Contains(got, "TOKEN_EXPIRED") || strings.Count(got, "-> OK\n") != 15 {
		t.Errorf("the fixed client printed:\n%s", got)
	}
	if got := lintOut(); got != want("fix-report") {
		t.Errorf("crmmock lint printed after the fix:\n%s\ndocs/lint.md shows:\n%s", got, want("fix-report"))
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}
