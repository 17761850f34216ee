// Cross-cutting suite (keeps its name): the repository's Markdown links resolve and nothing cites a document outside it.

package crmmock_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
	slugDrop  = regexp.MustCompile(`[^a-z0-9 _-]`)
)

// slug is GitHub's anchor for a heading.
func slug(heading string) string {
	return strings.ReplaceAll(slugDrop.ReplaceAllString(strings.ToLower(strings.TrimSpace(heading)), ""), " ", "-")
}

func anchors(t *testing.T, path string) map[string]bool {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	out := map[string]bool{}
	inFence := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
		}
		if m := mdHeading.FindStringSubmatch(line); m != nil && !inFence {
			out[slug(m[1])] = true
		}
	}
	return out
}

// Ensure every relative link in the repository's Markdown resolves inside a clone
// (files, and #anchors to headings); none leaves the repository, and none climbs with
// ../ (a file above the linking one is linked from the root, /README.md, as GitHub
// reads it: a link that starts with ../ reads as leaving the clone).
func TestMarkdownLinksResolve(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md").Output()
	require.NoError(t, err)
	files := strings.Fields(string(out))
	require.Contains(t, files, "README.md")
	root, err := filepath.Abs(".")
	require.NoError(t, err)
	for _, md := range files {
		data, err := os.ReadFile(md)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		for _, m := range mdLink.FindAllStringSubmatch(string(data), -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			target, anchor, _ := strings.Cut(link, "#")
			if !assert.False(t, strings.HasPrefix(target, "../"), "%s: %s climbs with ../; link it from the repository root (/path) instead", md, link) {
				continue
			}
			path := md
			switch {
			case strings.HasPrefix(target, "/"): // the repository root, as GitHub reads it
				path = filepath.Join(root, target)
			case target != "":
				path = filepath.Join(filepath.Dir(md), target)
			}
			if target != "" {
				abs, err := filepath.Abs(path)
				require.NoError(t, err)
				if !assert.True(t, strings.HasPrefix(abs, root+string(filepath.Separator)), "%s: %s leaves the repository", md, link) {
					continue
				}
				if _, err := os.Stat(path); !assert.NoError(t, err, "%s: broken link %s", md, link) {
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(path, ".md") {
				assert.True(t, anchors(t, path)[anchor], "%s: no heading for #%s in %s", md, anchor, path)
			}
		}
	}
}

// outsideCitation is a citation of a document outside the repository: the project
// brief's sections (INTERFACE with a section sign and number, or INTERFACE.m[d]; a
// bare section sign and number), its facts file
// (CRMCOM-FACT[S]) or the shared folder beside the clone. docs/*.md are the reference.
var outsideCitation = `INTERFACE[ .]*(§|md|section)|CRMCOM-FACT[S]|\.\./shared|§ ?[0-9]`

// Ensure no tracked file cites a document outside the repository (docs/ is the
// reference: see docs/cli.md … docs/probe.md and docs/crmcom-facts.md).
func TestNoCitationOutsideTheRepository(t *testing.T) {
	out, err := exec.Command("git", "grep", "-nIE", outsideCitation, "--", ".").Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		return // git grep: no match
	}
	require.NoError(t, err)
	t.Errorf("cite docs/*.md instead (the repository must stand alone):\n%s", out)
}
