// Cross-cutting suite (keeps its name): the README's Layout names every folder and internal package.

package crmmock_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure the README's "Layout:" paragraph names every top-level folder of the repository
// and every package under internal/, so a newcomer's map does not miss a package.
func TestReadmeLayoutNamesEveryFolder(t *testing.T) {
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, layout, ok := strings.Cut(string(data), "\nLayout: ")
	require.True(t, ok, "the README has no Layout: paragraph")
	layout, _, _ = strings.Cut(layout, "\n\n")
	named := func(name string) bool {
		return strings.Contains(layout, "`"+name+"`") || strings.Contains(layout, "`"+name+"/")
	}

	out, err := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard").Output()
	require.NoError(t, err)
	top := map[string]bool{}
	for _, f := range strings.Fields(string(out)) {
		if dir, _, ok := strings.Cut(f, "/"); ok && !strings.HasPrefix(dir, ".") {
			top[dir] = true
		}
	}
	require.NotEmpty(t, top)
	for dir := range top {
		assert.True(t, named(dir), "the README's Layout does not name %s/", dir)
	}

	entries, err := os.ReadDir("internal")
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			assert.True(t, named(e.Name()), "the README's Layout does not name internal/%s", e.Name())
		}
	}
}
