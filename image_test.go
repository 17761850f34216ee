// Cross-cutting suite (keeps its name): the container image (Dockerfile, make image) serving and starting.

package crmmock_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// podman returns the podman command for the image tests, with CONTAINERS_CONF pointing
// at .ci/containers.conf (runc, bounded ulimits) unless the caller set one. Without
// podman the test is skipped locally and fails on CI (CI=true).
func podman(tb testing.TB) func(args ...string) (string, error) {
	tb.Helper()
	bin, err := exec.LookPath("podman")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal("podman is not installed: .ci/run installs it (CI=true, so the image test may not skip)")
		}
		tb.Skip("podman is not installed (apt-get install podman runc); CI=true makes this a failure")
	}
	env := os.Environ()
	if os.Getenv("CONTAINERS_CONF") == "" {
		conf, err := filepath.Abs(".ci/containers.conf")
		require.NoError(tb, err)
		env = append(env, "CONTAINERS_CONF="+conf)
	}
	return func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return stdout.String(), fmt.Errorf("podman %s: %v: %s", strings.Join(args, " "), err, stderr.String())
		}
		return strings.TrimSpace(stdout.String()), nil
	}
}

// buildImage runs `make image` with podman under a unique name, checks it tagged both
// NAME:dev and NAME:<version>, and removes the image when the test ends.
func buildImage(tb testing.TB, run func(...string) (string, error)) string {
	tb.Helper()
	name := fmt.Sprintf("localhost/crmmock-test-%d", time.Now().UnixNano())
	tag := name + ":dev"
	cmd := exec.Command("make", "image", "ENGINE=podman", "IMAGE_NAME="+name, "VERSION=v0.0.0-imagetest")
	cmd.Env = os.Environ()
	if os.Getenv("CONTAINERS_CONF") == "" {
		conf, _ := filepath.Abs(".ci/containers.conf")
		cmd.Env = append(cmd.Env, "CONTAINERS_CONF="+conf)
	}
	out, err := cmd.CombinedOutput()
	require.NoError(tb, err, "make image: %s", out)
	tb.Cleanup(func() { _, _ = run("rmi", "-f", tag, name+":v0.0.0-imagetest") })
	tags, err := run("images", "--format", "{{.Repository}}:{{.Tag}}", name)
	require.NoError(tb, err)
	require.ElementsMatch(tb, []string{tag, name + ":v0.0.0-imagetest"}, strings.Fields(tags),
		"make image tags what the README runs (:dev) and the version")
	return tag
}

// startContainer runs the image with its port 8080 published on a free loopback port
// and returns the host URL and the container id; the container is removed at cleanup.
func startContainer(tb testing.TB, run func(...string) (string, error), image string, args ...string) (url, id string) {
	tb.Helper()
	id, err := run(append([]string{"run", "-d", "-p", "127.0.0.1::8080", image}, args...)...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _, _ = run("rm", "-f", "-t", "0", id) })
	hostPort, err := run("port", id, "8080/tcp")
	require.NoError(tb, err)
	return "http://" + strings.TrimSpace(strings.Split(hostPort, "\n")[0]), id
}

// waitHealthy polls /__admin/health from the host until it answers {"status":"ok"}.
func waitHealthy(tb testing.TB, url string) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/__admin/health")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				require.JSONEq(tb, `{"status":"ok"}`, string(body))
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s/__admin/health never answered: %v", url, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Ensure the container image (Dockerfile, make image) serves the Web API and the
// control API on 0.0.0.0:8080, reachable from the host through a published port; that
// it is labelled, exposes 8080 and checks its health with `crmmock health`.
func TestImage(t *testing.T) {
	run := podman(t)
	image := buildImage(t, run)

	raw, err := run("image", "inspect", image)
	require.NoError(t, err)
	var inspect []struct {
		Config struct {
			Env          []string
			ExposedPorts map[string]any
			Labels       map[string]string
			Entrypoint   []string
			User         string
		}
		Healthcheck *struct{ Test []string }
		Size        int64
	}
	require.NoError(t, json.Unmarshal([]byte(raw), &inspect), raw)
	require.Len(t, inspect, 1)
	config, health := inspect[0].Config, inspect[0].Healthcheck
	assert.Contains(t, config.Env, "CRMMOCK_ADDR=0.0.0.0:8080")
	assert.Contains(t, config.ExposedPorts, "8080/tcp")
	assert.Equal(t, []string{"/crmmock"}, config.Entrypoint)
	assert.Equal(t, "v0.0.0-imagetest", config.Labels["org.opencontainers.image.version"])
	assert.Equal(t, "Apache-2.0", config.Labels["org.opencontainers.image.licenses"])
	assert.NotEmpty(t, config.Labels["org.opencontainers.image.source"])
	assert.NotEmpty(t, config.User, "not root")
	require.NotNil(t, health, "HEALTHCHECK kept (podman build --format docker)")
	assert.Equal(t, []string{"CMD", "/crmmock", "health"}, health.Test)
	t.Logf("image size: %d bytes", inspect[0].Size)

	begin := time.Now()
	url, id := startContainer(t, run, image, "serve", "--version", "R10")
	waitHealthy(t, url)
	t.Logf("podman run to first answered /__admin/health from the host: %s", time.Since(begin).Round(time.Millisecond))

	resp, err := http.Post(url+"/crmapi/rest/v2/authentication/token", "application/json",
		strings.NewReader(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	var v struct {
		Status struct{ Code string }
		Data   struct{ Token string }
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	assert.Equal(t, "OK", v.Status.Code)
	assert.Regexp(t, `^[0-9A-F]{32}$`, v.Data.Token, "F6: R10 (from the serve flag after the image name) issues opaque tokens")

	out, err := run("healthcheck", "run", id)
	assert.NoError(t, err, "HEALTHCHECK (crmmock health inside the container): %s", out)
	// The health check follows CRMMOCK_ADDR when a user moves the port.
	moved, err := run("run", "-d", "-e", "CRMMOCK_ADDR=0.0.0.0:9090", image)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = run("rm", "-f", "-t", "0", moved) })
	deadline := time.Now().Add(10 * time.Second)
	for out, err = run("healthcheck", "run", moved); err != nil && time.Now().Before(deadline); out, err = run("healthcheck", "run", moved) {
		time.Sleep(20 * time.Millisecond)
	}
	assert.NoError(t, err, "HEALTHCHECK with CRMMOCK_ADDR=0.0.0.0:9090: %s", out)

	out, err = run("exec", id, "/crmmock", "version")
	require.NoError(t, err)
	assert.Equal(t, "crmmock v0.0.0-imagetest", out)
}

// BenchmarkImageStartToHealth measures `podman run -d` of the image until its
// /__admin/health answers from the host, and reports the median as start-to-health-ms
// (the container is removed after each run, outside the timing). Run with
// `go test -run '^$' -bench ImageStartToHealth -benchtime 10x .`.
func BenchmarkImageStartToHealth(b *testing.B) {
	run := podman(b)
	image := buildImage(b, run)
	var times []time.Duration
	for b.Loop() {
		begin := time.Now()
		id, err := run("run", "-d", "-p", "127.0.0.1::8080", image)
		if err != nil {
			b.Fatal(err)
		}
		hostPort, err := run("port", id, "8080/tcp")
		if err != nil {
			b.Fatal(err)
		}
		waitHealthy(b, "http://"+strings.TrimSpace(strings.Split(hostPort, "\n")[0]))
		times = append(times, time.Since(begin))
		b.StopTimer()
		_, _ = run("rm", "-f", "-t", "0", id)
		b.StartTimer()
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2])/float64(time.Millisecond), "start-to-health-ms")
}
