// Cross-cutting suite (keeps its name): every snippet the README cuts from a file is that file's text.

package crmmock_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var snippetMark = regexp.MustCompile("(?m)^<!-- snippet: (\\S+) -->\n```[a-z]*\n")

// Ensure every snippet the README cuts from a file ("<!-- snippet: PATH -->" before a
// fenced block) still is that file's text: its lines, "…" lines left out, appear in the
// file in order (indentation aside), so "Write your first test" never shows code the
// examples no longer run.
func TestReadmeSnippets(t *testing.T) {
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(data)
	marks := snippetMark.FindAllStringSubmatchIndex(readme, -1)
	require.NotEmpty(t, marks, "the README has no snippet")
	for _, m := range marks {
		path := readme[m[2]:m[3]]
		block, _, ok := strings.Cut(readme[m[1]:], "```\n")
		require.True(t, ok, "snippet %s: no closing fence", path)
		src, err := os.ReadFile(path)
		if !assert.NoError(t, err, "snippet %s", path) {
			continue
		}
		var lines []string
		for _, l := range strings.Split(string(src), "\n") {
			lines = append(lines, strings.TrimSpace(l))
		}
		at := 0
		for _, want := range strings.Split(strings.TrimSuffix(block, "\n"), "\n") {
			want = strings.TrimSpace(want)
			if want == "…" {
				continue
			}
			for at < len(lines) && lines[at] != want {
				at++
			}
			if !assert.Less(t, at, len(lines), "snippet %s: %q is not in the file (after the snippet's earlier lines)", path, want) {
				break
			}
			at++
		}
	}
}
