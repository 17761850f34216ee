// Cross-cutting suite (keeps its name): the README's curl block run as written.

package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeCurlBlock is the sh block after "<!-- curl-example: NAME -->" in the README.
func readmeCurlBlock(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(data), "<!-- curl-example: "+name+" -->\n```sh\n")
	require.True(t, ok, "README.md has no curl-example %s", name)
	block, _, ok := strings.Cut(rest, "```\n")
	require.True(t, ok, "curl-example %s: no closing fence", name)
	return block
}

// shownOutput is a block's output lines ("# {…}" comments) as patterns: the line
// exactly, where "…" stands for any text.
func shownOutput(block string) []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, line := range strings.Split(block, "\n") {
		shown, ok := strings.CutPrefix(line, "# {")
		if !ok {
			continue
		}
		parts := strings.Split("{"+shown, "…")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		out = append(out, regexp.MustCompile("^"+strings.Join(parts, ".*")+"$"))
	}
	return out
}

// Ensure the README's curl block runs as written against the built binary (on a free
// port in place of 8080) and prints what it shows: every "# {…}" line is the answer of
// the command above it, "…" standing for what differs per run (a token, the clock).
// F2: a login without unit; F7: a key login; F5: the token in the GET query; F9: an R12
// token dead 2 h after issue; a contract violation names the missing field.
func TestReadmeCurlBlock(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is missing (.ci/run installs it)")
		}
		t.Skip("curl is not installed")
	}
	block := readmeCurlBlock(t, "try")
	want := shownOutput(block)
	require.NotEmpty(t, want, "the block shows no output")

	p := startBinary(t, nil, "--log-level", "error")
	script := "set -eu\n" + strings.ReplaceAll(block, "http://127.0.0.1:8080", p.url)
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	require.NoError(t, err, "the README's commands: %s", out)
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	require.Len(t, got, len(want), "one shown line per answer; the commands printed:\n%s", out)
	for i, w := range want {
		assert.Regexp(t, w, got[i], "answer %d", i+1)
	}
}
