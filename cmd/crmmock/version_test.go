package main

import (
	"archive/zip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure the version comes from -ldflags first, then the module version, then the VCS stamp.
func TestVersionOf(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "412cc5f0123456789abcdef"}, {Key: "vcs.modified", Value: "true"}}
	for _, c := range []struct {
		ldflags string
		bi      *debug.BuildInfo
		want    string
	}{
		{"v1.0.0-3-gabc", &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}}, "v1.0.0-3-gabc"},
		{"dev", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{"dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs}, "devel-412cc5f01234-dirty"},
		{"dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs[:1]}, "devel-412cc5f01234"},
		{"dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"dev", nil, "dev"},
	} {
		assert.Equal(t, c.want, versionOf(c.ldflags, c.bi))
	}
}

// Ensure `go install github.com/crmmock/crmmock/cmd/crmmock@VERSION` (the install
// line of docs/cli.md) builds a binary whose `crmmock version` prints VERSION. The module is
// served from a file:// module proxy holding this working tree under a fresh version;
// its dependencies come from the usual GOPROXY.
func TestGoInstallReportsModuleVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole module once more")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	version := fmt.Sprintf("v0.0.1-installtest.%d", time.Now().UnixNano())
	proxy := t.TempDir()
	dir := filepath.Join(proxy, "github.com", "crmmock", "crmmock", "@v")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, version+".mod"), gomod, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, version+".info"), []byte(`{"Version":"`+version+`","Time":"2026-01-01T00:00:00Z"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "list"), []byte(version+"\n"), 0o644))
	writeModuleZip(t, root, "github.com/crmmock/crmmock@"+version, filepath.Join(dir, version+".zip"))

	goEnv := func(k string) string {
		out, err := exec.Command("go", "env", k).Output()
		require.NoError(t, err)
		return strings.TrimSpace(string(out))
	}
	modcache := goEnv("GOMODCACHE")
	t.Cleanup(func() { // this test's module version only; the dependencies stay cached
		extracted := filepath.Join(modcache, "github.com", "crmmock", "crmmock@"+version)
		_ = filepath.WalkDir(extracted, func(p string, _ os.DirEntry, _ error) error { return os.Chmod(p, 0o755) })
		_ = os.RemoveAll(extracted)
		matches, _ := filepath.Glob(filepath.Join(modcache, "cache", "download", "github.com", "crmmock", "crmmock", "@v", version+".*"))
		for _, m := range matches {
			_ = os.Remove(m)
		}
	})
	gobin := t.TempDir()
	cmd := exec.Command("go", "install", "github.com/crmmock/crmmock/cmd/crmmock@"+version)
	cmd.Dir = t.TempDir() // outside this module, as a user runs it
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=", "GOWORK=off",
		"GOPROXY=file://"+proxy+","+goEnv("GOPROXY"), "GONOSUMDB=github.com/crmmock/crmmock")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go install: %s", out)
	out, err = exec.Command(filepath.Join(gobin, "crmmock"), "version").Output()
	require.NoError(t, err)
	assert.Equal(t, "crmmock "+version+"\n", string(out))
}

// writeModuleZip zips the module's files (those git tracks or would track) the way a
// module proxy serves them: every path under prefix/, without the folders of nested
// modules (a folder with its own go.mod, such as testcontainers/, is another module).
func writeModuleZip(t *testing.T, root, prefix, dst string) {
	t.Helper()
	ls := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard")
	ls.Dir = root
	files, err := ls.Output()
	require.NoError(t, err)
	f, err := os.Create(dst)
	require.NoError(t, err)
	defer f.Close()
	zw := zip.NewWriter(f)
	names := strings.Split(strings.TrimSpace(string(files)), "\n")
	var nested []string
	for _, name := range names {
		if dir, ok := strings.CutSuffix(name, "/go.mod"); ok {
			nested = append(nested, dir+"/")
		}
	}
	seen := map[string]bool{} // during a merge, git lists a conflicted file once per stage
	for _, name := range names {
		if seen[name] || slices.ContainsFunc(nested, func(dir string) bool { return strings.HasPrefix(name, dir) }) {
			continue
		}
		seen[name] = true
		data, err := os.ReadFile(filepath.Join(root, name))
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		require.NoError(t, err)
		w, err := zw.Create(prefix + "/" + name)
		require.NoError(t, err)
		_, err = w.Write(data)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
}
