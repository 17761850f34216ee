// Package examples checks the examples that are not run here: the GitHub Actions
// workflow and the compose file (YAML syntax and the keys that make crmmock a service).
// The Go example runs with go test ./...; Python, Node, PHP and Java with `make examples`.
package examples

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// healthCmd is the Dockerfile's HEALTHCHECK; the examples must check the same way.
const healthCmd = "/crmmock health"

func load(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(data, &doc), path)
	return doc
}

func dig(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		m, ok := v.(map[string]any)
		require.True(t, ok, "%s is not a mapping", strings.Join(keys[:i], "."))
		v, ok = m[k]
		require.True(t, ok, "missing key %s", strings.Join(keys[:i+1], "."))
	}
	return v
}

// Ensure the workflow parses and runs its job with crmmock as a healthy service container.
func TestGitHubActionsWorkflow(t *testing.T) {
	wf := load(t, "ci/github-actions.yml")
	assert.NotEmpty(t, dig(t, wf, "name"))
	assert.NotNil(t, wf["on"], "trigger (on:)") // yaml.v3 keeps `on` a string key
	jobs := dig(t, wf, "jobs").(map[string]any)
	require.NotEmpty(t, jobs)
	for name, job := range jobs {
		assert.NotEmpty(t, dig(t, job, "runs-on"), name)
		svc := dig(t, job, "services", "crmmock")
		assert.Contains(t, dig(t, svc, "image"), "crmmock")
		assert.Contains(t, dig(t, svc, "ports"), "8080:8080")
		opts := dig(t, svc, "options").(string)
		assert.Contains(t, opts, `--health-cmd "`+healthCmd+`"`)
		for k := range dig(t, svc, "env").(map[string]any) {
			assert.True(t, strings.HasPrefix(k, "CRMMOCK_"), "service env %s", k)
		}
		assert.Contains(t, dig(t, job, "env", "CRM_API_URL"), ":8080/crmapi/rest/v2")
		steps := dig(t, job, "steps").([]any)
		require.NotEmpty(t, steps)
		for i, s := range steps {
			m := s.(map[string]any)
			assert.True(t, m["uses"] != nil || m["run"] != nil, "step %d has neither uses nor run", i)
		}
	}
}

// Ensure the compose file parses, publishes crmmock's port, checks its health with the
// image's command, and starts the app only once crmmock is healthy.
func TestComposeFile(t *testing.T) {
	c := load(t, "compose/compose.yaml")
	svc := dig(t, c, "services", "crmmock")
	assert.Contains(t, dig(t, svc, "image"), "crmmock")
	assert.Contains(t, dig(t, svc, "ports"), "127.0.0.1:8080:8080")
	test := dig(t, svc, "healthcheck", "test").([]any)
	var words []string
	for _, w := range test[1:] {
		words = append(words, w.(string))
	}
	assert.Equal(t, "CMD", test[0])
	assert.Equal(t, healthCmd, strings.Join(words, " "))
	assert.Equal(t, "service_healthy", dig(t, c, "services", "app", "depends_on", "crmmock", "condition"))
	assert.Equal(t, "http://crmmock:8080/crmapi/rest/v2", dig(t, c, "services", "app", "environment", "CRM_API_URL"))
}

// Ensure the examples check health exactly as the Dockerfile does.
func TestHealthCommandMatchesDockerfile(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	assert.Contains(t, string(data), `CMD ["/crmmock", "health"]`)
}

// Ensure every example folder has a README whose sh block is the one command that runs
// or checks it (issue 18, item 5).
func TestEveryExampleHasAReadme(t *testing.T) {
	dirs, err := os.ReadDir(".")
	require.NoError(t, err)
	n := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		n++
		data, err := os.ReadFile(d.Name() + "/README.md")
		if !assert.NoError(t, err, "examples/%s has no README.md", d.Name()) {
			continue
		}
		_, block, ok := strings.Cut(string(data), "```sh\n")
		require.True(t, ok, "examples/%s/README.md has no ```sh block", d.Name())
		block, _, _ = strings.Cut(block, "```")
		assert.Equal(t, 1, strings.Count(block, "\n"), "examples/%s/README.md: one command, got %q", d.Name(), block)
	}
	assert.GreaterOrEqual(t, n, 7, "python, node, go, php, java, ci, compose")
}
