// Cross-cutting suite (keeps its name): every snippet the README and docs/*.md cut from a file is that file's text.

package crmmock_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var snippetMark = regexp.MustCompile("(?m)^<!-- snippet: (\\S+) -->\n```[a-z]*\n")

// Ensure every snippet the README and docs/*.md cut from a file ("<!-- snippet: PATH -->",
// PATH from the repository's root, before a fenced block) still is that file's text: its
// lines, "…" lines left out, appear in the file in order (indentation aside), so "Write
// your first test" and docs/container.md never show code the examples no longer run.
func TestDocSnippets(t *testing.T) {
	pages, err := filepath.Glob("docs/*.md")
	require.NoError(t, err)
	pages = append([]string{"README.md"}, pages...)
	for i, page := range pages {
		data, err := os.ReadFile(page)
		require.NoError(t, err)
		marks := snippetMark.FindAllStringSubmatchIndex(string(data), -1)
		if i == 0 {
			require.NotEmpty(t, marks, "the README has no snippet")
		}
		checkSnippets(t, page, string(data), marks)
	}
}

func checkSnippets(t *testing.T, page, text string, marks [][]int) {
	t.Helper()
	for _, m := range marks {
		path := text[m[2]:m[3]]
		block, _, ok := strings.Cut(text[m[1]:], "```\n")
		require.True(t, ok, "%s: snippet %s: no closing fence", page, path)
		src, err := os.ReadFile(path)
		if !assert.NoError(t, err, "%s: snippet %s", page, path) {
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
			if !assert.Less(t, at, len(lines), "%s: snippet %s: %q is not in the file (after the snippet's earlier lines)", page, path, want) {
				break
			}
			at++
		}
	}
}
