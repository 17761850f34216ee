// Cross-cutting suite (keeps its name): docs/probe.md's report and scenario, as crmmock probe answers for the stand-in.

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeProbeBlock is the fenced block after "<!-- probe-example: name -->" in docs/probe.md.
func readmeProbeBlock(t *testing.T, readme, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(readme, "<!-- probe-example: "+name+" -->\n")
	require.True(t, ok, "docs/probe.md has no probe-example %q", name)
	_, rest, _ = strings.Cut(rest, "\n") // the opening fence
	block, _, ok := strings.Cut(rest, "```\n")
	require.True(t, ok, "probe-example %q: no closing fence", name)
	return block
}

var elapsed = regexp.MustCompile(`in [0-9.]+m?s`)

// Ensure docs/probe.md (README: "Make the mock match your installation") shows what
// crmmock probe really answers for the stand-in installation (testdata/standin): its report and its
// scenario, which verify then finds no difference with. CRMMOCK_PRINT_README=1 prints
// both.
func TestReadmeProbeExample(t *testing.T) {
	standinEnv(t)
	_, ts := startStandin(t)
	data, err := os.ReadFile("../../docs/probe.md")
	require.NoError(t, err)
	readme := string(data)
	out := filepath.Join(t.TempDir(), "learned.yaml")
	code, _, report := run("probe", "--target", ts.URL, "--method", "GET:contact_information/show", "--rate", "1000", "--out", out)
	require.Equal(t, 0, code, report)
	learned, err := os.ReadFile(out)
	require.NoError(t, err)
	norm := func(s string) string {
		s = strings.ReplaceAll(s, ts.URL, "https://crm.example.com")
		s = strings.ReplaceAll(s, out, "learned.yaml")
		return elapsed.ReplaceAllString(s, "in …")
	}
	if os.Getenv("CRMMOCK_PRINT_README") != "" {
		t.Logf("report:\n%s\nscenario:\n%s", norm(report), norm(string(learned)))
	}
	assert.Equal(t, norm(readmeProbeBlock(t, readme, "report")), norm(report))
	assert.Equal(t, norm(readmeProbeBlock(t, readme, "scenario")), norm(string(learned)))

	code, stdout, stderr := run("verify", "--target", ts.URL, "--scenario", out, "--method", "GET:contact_information/show", "--rate", "1000")
	require.Equal(t, 0, code, stdout+stderr)
	assert.Equal(t, norm(readmeProbeBlock(t, readme, "verify")), norm(stdout))
}
