// Cross-cutting suite (keeps its name): the calls of docs/control-api.md run as written.

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

// Ensure the control-API calls of docs/control-api.md run as written against the
// binary (on a free port in place of 8080, from the repository root, with $TOKEN a
// token it issued), one after another, and that each "# {…}" shown beside a call is
// its answer ("…": what differs per run).
func TestDocsControlAPICalls(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is missing (.ci/run installs it)")
		}
		t.Skip("curl is not installed")
	}
	data, err := os.ReadFile("../../docs/control-api.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(data), "## The calls\n")
	if ok {
		_, rest, ok = strings.Cut(rest, "```sh\n")
	}
	require.True(t, ok, "docs/control-api.md has no sh block under \"The calls\"")
	block, _, _ := strings.Cut(rest, "```\n")

	p := startBinary(t, nil, "--log-level", "error")
	_, _, login := call(t, "POST", p.url+"/crmapi/rest/v2/authentication/token",
		`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`)
	token := login["data"].(map[string]any)["token"].(string)

	lines := strings.Split(strings.ReplaceAll(block, "http://127.0.0.1:8080", p.url), "\n")
	require.True(t, strings.HasPrefix(lines[0], "A="), "the block starts by naming the control API")
	checked := 0
	for _, line := range lines[1:] {
		if strings.TrimSpace(line) == "" {
			continue
		}
		cmd, comment, _ := strings.Cut(line, "  # ")
		cmd = strings.TrimSpace(cmd)
		sh := exec.Command("sh", "-c", lines[0]+"\nTOKEN="+token+"\n"+cmd)
		sh.Dir = "../.."
		out, err := sh.CombinedOutput()
		require.NoError(t, err, "%s: %s", cmd, out)
		if shown := strings.TrimSpace(comment); strings.HasPrefix(shown, "{") {
			parts := strings.Split(shown, "…")
			for i, s := range parts {
				parts[i] = regexp.QuoteMeta(s)
			}
			assert.Regexp(t, "^"+strings.Join(parts, ".*")+"$", strings.TrimSpace(string(out)), cmd)
			checked++
		}
	}
	assert.NotZero(t, checked, "the block shows no answer")
}
