//go:build unix

// Cross-cutting suite (keeps its name): docs/container.md followed as written.

package crmmock_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// section is the text of file's section under heading (up to the next "## ").
func section(tb testing.TB, file, heading string) string {
	tb.Helper()
	data, err := os.ReadFile(file)
	require.NoError(tb, err)
	s := string(data)
	i := strings.Index(s, "\n"+heading+"\n")
	require.GreaterOrEqual(tb, i, 0, "%s has no %q", file, heading)
	s = s[i+1+len(heading)+1:]
	if j := strings.Index(s, "\n## "); j >= 0 {
		s = s[:j]
	}
	return s
}

// fencedBlocks are the fenced code blocks of text with their info string ("sh", "toml", "").
func fencedBlocks(text string) (infos, bodies []string) {
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "```") {
			continue
		}
		info := strings.TrimPrefix(lines[i], "```")
		var body []string
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			body = append(body, lines[i])
		}
		infos, bodies = append(infos, info), append(bodies, strings.Join(body, "\n"))
	}
	return infos, bodies
}

// commands are a shell block's commands: lines joined at a trailing backslash, blank
// lines and comment-only lines dropped.
func commands(block string) []string {
	var out []string
	cur := ""
	for _, line := range strings.Split(block, "\n") {
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\")
			continue
		}
		line = strings.TrimSpace(cur + line)
		cur = ""
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// Ensure docs/container.md, followed as written, ends in a healthy container that
// answers a login from the host: the podman configuration it shows is
// .ci/containers.conf, after the symptom it fixes; its first shell block runs with podman
// unchanged (make image, podman run, health from the host, podman healthcheck run, the
// state "healthy", a login, podman rm); its docker run lines are its podman run lines; and
// the README's "Container image" links it and runs only commands of that block.
func TestDocsContainerCommands(t *testing.T) {
	data, err := os.ReadFile("docs/container.md")
	require.NoError(t, err)
	infos, blocks := fencedBlocks(string(data))

	// The configuration shown is the file the commands point at.
	conf, err := os.ReadFile(".ci/containers.conf")
	require.NoError(t, err)
	var confLines []string
	for _, l := range strings.Split(string(conf), "\n") {
		if !strings.HasPrefix(l, "#") {
			confLines = append(confLines, l)
		}
	}
	want := strings.TrimSpace(strings.Join(confLines, "\n"))
	var script string
	symptom, shown := false, false
	for i, info := range infos {
		switch {
		case info == "" && !shown:
			symptom = strings.Contains(blocks[i], "error setting rlimit type 7")
		case info == "toml":
			assert.Equal(t, want, strings.TrimSpace(blocks[i]), "the containers.conf shown is .ci/containers.conf")
			assert.True(t, symptom, "the symptom it fixes (rlimit type 7) comes before the configuration")
			assert.Empty(t, script, "the podman configuration comes before the commands")
			shown = true
		case info == "sh" && script == "":
			script = blocks[i]
		}
	}
	require.True(t, shown, "docs/container.md shows containers.conf")
	require.NotEmpty(t, script)

	// The README's short version: a link here, and commands of the block run below.
	readme := section(t, "README.md", "## Container image")
	assert.Contains(t, readme, "](docs/container.md#podman-before-you-start)", "the README points at the podman note")
	assert.Contains(t, readme, "error setting rlimit type 7", "the README names the symptom")
	uncommented := func(c string) string { c, _, _ = strings.Cut(c, " # "); return strings.TrimSpace(c) }
	ran := map[string]bool{}
	for _, c := range commands(script) {
		ran[uncommented(c)] = true
	}
	readmeInfos, readmeBlocks := fencedBlocks(readme)
	readmeRuns := 0
	for i, info := range readmeInfos {
		if info == "sh" {
			for _, c := range commands(readmeBlocks[i]) {
				readmeRuns++
				assert.True(t, ran[uncommented(c)], "the README's container command %q is one docs/container.md runs", c)
			}
		}
	}
	assert.NotZero(t, readmeRuns, "the README shows container commands")

	// docker run lines = podman run lines.
	runs := map[string][]string{}
	for i, info := range infos {
		if info != "sh" || blocks[i] == script {
			continue
		}
		for _, c := range commands(blocks[i]) {
			c, _, _ = strings.Cut(c, " # ") // the comment may name the engine
			if engine, rest, ok := strings.Cut(strings.TrimSpace(c), " run "); ok && (engine == "podman" || engine == "docker") {
				runs[engine] = append(runs[engine], rest)
			}
		}
	}
	assert.NotEmpty(t, runs["podman"])
	assert.Equal(t, runs["podman"], runs["docker"], "the docker run lines are the podman ones")

	run := podman(t)

	// One run at a time on this machine: the block uses the name crmmock and port 8080.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "crmmock-readme-container.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	require.NoError(t, err)
	defer lock.Close()
	require.NoError(t, syscall.Flock(int(lock.Fd()), syscall.LOCK_EX))
	busy := ""
	if l, err := net.Listen("tcp", ":8080"); err != nil {
		busy = "port 8080 is taken: " + err.Error()
	} else {
		l.Close()
	}
	if _, err := run("container", "exists", "crmmock"); err == nil {
		busy = "a container named crmmock exists"
	}
	if busy != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (docs/container.md's commands need it; CI=true)", busy)
		}
		t.Skipf("%s (docs/container.md's commands need it)", busy)
	}
	tagsBefore, err := run("images", "--format", "{{.Repository}}:{{.Tag}}", "localhost/crmmock")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = run("rm", "-f", "-t", "0", "crmmock")
		after, _ := run("images", "--format", "{{.Repository}}:{{.Tag}}", "localhost/crmmock")
		for _, tag := range strings.Fields(after) {
			if !strings.HasSuffix(tag, ":dev") && !strings.Contains(tagsBefore, tag) {
				_, _ = run("rmi", tag) // the versioned tag of this run's build (the image stays as :dev)
			}
		}
	})

	// Each command after a marker line, in one bash with -e: the first failure stops it.
	cmds := commands(script)
	var b strings.Builder
	for i, c := range cmds {
		fmt.Fprintf(&b, "echo '@@@ %d'\n%s\n", i, c)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", b.String())
	wd, err := os.Getwd()
	require.NoError(t, err)
	cmd.Dir = wd
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONTAINERS_CONF=") && !strings.HasPrefix(kv, "PWD=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PWD="+wd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	outputs := make([]string, len(cmds))
	for _, part := range strings.Split(stdout.String(), "@@@ ")[1:] {
		var i int
		_, _ = fmt.Sscanf(part, "%d", &i)
		_, out, _ := strings.Cut(part, "\n")
		outputs[i] = strings.TrimSpace(out)
	}
	for i, c := range cmds {
		t.Logf("$ %s\n%s", c, outputs[i])
	}
	require.NoError(t, err, "docs/container.md's commands: %s", stderr.String())

	find := func(substr string) string {
		t.Helper()
		for i, c := range cmds {
			if strings.Contains(c, substr) {
				return outputs[i]
			}
		}
		t.Fatalf("docs/container.md's block has no command with %q", substr)
		return ""
	}
	assert.Contains(t, find("make image"), "crmmock:dev")
	assert.JSONEq(t, `{"status":"ok"}`, find("/__admin/health"))
	assert.Contains(t, strings.Join(cmds, "\n"), "podman healthcheck run crmmock")
	assert.Equal(t, "healthy", find("{{.State.Health.Status}}"))
	var login struct {
		Status struct{ Code string }
		Data   struct{ Token string }
	}
	require.NoError(t, json.Unmarshal([]byte(find("authentication/token")), &login))
	assert.Equal(t, "OK", login.Status.Code)
	assert.Regexp(t, regexp.MustCompile(`^eyJ[\w-]+\.[\w-]+\.[\w-]+$`), login.Data.Token, "F9: R12 (the default) issues a JWT")
	_, err = run("container", "exists", "crmmock")
	assert.Error(t, err, "the block removes its container")
}
