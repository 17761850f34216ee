package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmmock/crmmock/mockserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crmmock-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "crmmock")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic("build: " + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running crmmock binary.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
}

// startBinary runs the binary on :0 and reads its listening line.
func startBinary(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &proc{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "stderr: %s", p.stderr)
	require.True(t, strings.HasPrefix(line, "crmmock listening on http://127.0.0.1:"), line)
	p.url = strings.TrimSpace(strings.TrimPrefix(line, "crmmock listening on "))
	require.NotEqual(t, "http://127.0.0.1:0", p.url, "the real port, not 0")
	return p
}

func call(t *testing.T, method, url, body string, hdr ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v map[string]any
	require.NoError(t, json.Unmarshal(raw, &v), "%s", raw)
	return resp.StatusCode, resp.Header, v
}

func code(v map[string]any) string {
	st, _ := v["status"].(map[string]any)
	c, _ := st["code"].(string)
	return c
}

func token(t *testing.T, v map[string]any) string {
	d, ok := v["data"].(map[string]any)
	require.True(t, ok, "%v", v)
	return d["token"].(string)
}

const login = `{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`

// Ensure the binary serves the documented flow end to end over HTTP, on R10 (F6, F7, F8).
func TestBinaryEndToEnd(t *testing.T) {
	p := startBinary(t, nil, "--version", "R10", "--start", "2024-01-01T09:00:00Z")
	api := p.url + "/crmapi/rest/v2/"
	_, _, v := call(t, "POST", api+"authentication/token", login)
	require.Equal(t, "OK", code(v), "%v", v)
	tok := token(t, v)
	assert.Regexp(t, `^[0-9A-F]{32}$`, tok, "F6")

	_, _, v = call(t, "POST", p.url+"/__admin/clock/advance", `{"duration":"59m59s"}`)
	assert.Equal(t, "2024-01-01T09:59:59Z", v["now"])
	_, _, v = call(t, "GET", api+"contact_information/show?token="+tok, "")
	assert.Equal(t, "OK", code(v), "F6: live at 59m59s")
	call(t, "POST", p.url+"/__admin/clock/advance", `{"duration":"1h"}`)
	_, _, v = call(t, "GET", api+"contact_information/show?token="+tok, "")
	assert.Equal(t, "TOKEN_EXPIRED", code(v), "F6: dead one idle hour after the last use")

	_, _, v = call(t, "POST", api+"authentication/web_api_key/token", "", "Authorization", "Basic RUU3M0MwQUU2NDUyNDM3MUI1RERFRkY1RjdCQjIxOTI6")
	require.Equal(t, "OK", code(v), "%v", v)
	key := token(t, v)
	_, h, v := call(t, "POST", api+"authentication/token/release", `{"token":"`+key+`"}`)
	assert.Equal(t, "OK", code(v))
	assert.Empty(t, h.Get("Deprecation"))

	call(t, "PUT", p.url+"/__admin/version", `{"version":"R12"}`)
	_, _, v = call(t, "POST", api+"authentication/token", login)
	assert.Regexp(t, `^eyJ`, token(t, v), "F9: a JWT after the run-time switch")

	_, _, v = call(t, "GET", p.url+"/__admin/tokens", "")
	assert.Len(t, v["tokens"], 3)
	assert.Equal(t, float64(0), v["dropped"])
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	_ = p.cmd.Wait() // stderr is complete once the process is gone
	assert.Contains(t, p.stderr.String(), `level=INFO msg=request id=1 method=POST path=/crmapi/rest/v2/authentication/token code=OK reason="" mock_time=2024-01-01T09:00:00Z token=…`,
		"an info line per Web API request")
}

// Ensure --keep-dead reaches the mock: 0 keeps no dead token, the default keeps 100 000.
func TestKeepDeadFlag(t *testing.T) {
	for flagValue, want := range map[string]int{"0": -1, "5": 5, "": 0} {
		var c serveConfig
		args := []string{}
		if flagValue != "" {
			args = append(args, "--keep-dead", flagValue)
		}
		_, err := parseEnvFlags(newFlagSet("serve", c.flags), args)
		require.NoError(t, err)
		o, err := c.options(nil)
		require.NoError(t, err)
		if flagValue == "" {
			assert.Equal(t, mockserver.DefaultKeepDead, o.KeepDead)
			continue
		}
		assert.Equal(t, want, o.KeepDead, flagValue)
	}
}

// Ensure flags come from CRMMOCK_* and the flag wins; pre-R10 answers 404 for keys.
func TestBinaryEnvAndFlags(t *testing.T) {
	p := startBinary(t, []string{"CRMMOCK_VERSION=R12", "CRMMOCK_ERROR_STATUS=mapped"}, "--version", "R9")
	api := p.url + "/crmapi/rest/v2/"
	st, _, v := call(t, "POST", api+"authentication/web_api_key/token", "")
	assert.Equal(t, 404, st)
	assert.Equal(t, "METHOD_NOT_AVAILABLE", code(v), "--version R9 beat CRMMOCK_VERSION")
	st, _, v = call(t, "POST", api+"authentication/token", `{"username":"x","password":"y","organisation":"CRMDEMO"}`)
	assert.Equal(t, 401, st, "CRMMOCK_ERROR_STATUS=mapped")
	assert.Equal(t, "INVALID_CREDENTIALS", code(v))
}

// Ensure bad configuration exits 2 with one line naming the problem.
func TestBinaryBadConfig(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("organisations:\n  - name: A\n    unitz: []\n"), 0o644))
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"version":            {[]string{"--version", "X9"}, "--version"},
		"clock":              {[]string{"--clock", "slow"}, "--clock"},
		"start":              {[]string{"--start", "soon"}, "--start"},
		"error-status":       {[]string{"--error-status", "404"}, "--error-status"},
		"scenario":           {[]string{"--scenario", bad}, `line 3: unknown key "unitz"`},
		"missing file":       {[]string{"--scenario", "/nope.yaml"}, "--scenario"},
		"addr":               {[]string{"--addr", "256.0.0.1:1"}, "--addr"},
		"unknown flag":       {[]string{"--verzion", "R9"}, "verzion"},
		"keep-dead":          {[]string{"--keep-dead", "-1"}, "--keep-dead"},
		"max-sandboxes":      {[]string{"--max-sandboxes", "-1"}, "--max-sandboxes"},
		"sandbox-ttl":        {[]string{"--sandbox-ttl", "-5m"}, "--sandbox-ttl"},
		"sandbox-ttl syntax": {[]string{"--sandbox-ttl", "an hour"}, "sandbox-ttl"},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(binary, append([]string{"serve"}, c.args...)...).CombinedOutput()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "%s", out)
			assert.Equal(t, 2, ee.ExitCode(), "%s", out)
			assert.Contains(t, string(out), c.want)
		})
	}
	out, err := exec.Command(binary, "nonsense").CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "unknown command")
}

// Ensure SIGTERM shuts down gracefully with exit 0.
func TestBinaryGracefulShutdown(t *testing.T) {
	p := startBinary(t, nil)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("did not stop")
	}
	assert.Contains(t, p.stderr.String(), "shutting down")
}

// Ensure `crmmock version` prints a version.
func TestBinaryVersion(t *testing.T) {
	out, err := exec.Command(binary, "version").Output()
	require.NoError(t, err)
	assert.Regexp(t, `^crmmock \S+\n$`, string(out))
}

// Ensure the very first request a fresh binary gets is judged by the contract: the
// contract parses in the background at start (issue 8 item 8) and nothing is answered
// before it is ready. The timing is BenchmarkBinaryStartToFirstAnswer's.
func TestBinaryFirstAnswerUsesContract(t *testing.T) {
	for i := 0; i < 3; i++ {
		p := startBinary(t, nil)
		_, _, v := call(t, "POST", p.url+"/crmapi/rest/v2/authentication/token", `{"username":"mpadministrator","organisation":"CRMDEMO"}`)
		assert.Equal(t, "INVALID_REQUEST", code(v), "F2: password is mandatory in the contract: %v", v)
		assert.Contains(t, v["status"].(map[string]any)["description"], "password")
		_ = p.cmd.Process.Kill()
	}
}

// Ensure the binary serves sandboxes at absolute URLs under --max-sandboxes, and
// faults: a dropped login is a transport error for the client, logged at info.
func TestBinarySandboxesAndFaults(t *testing.T) {
	p := startBinary(t, nil, "--version", "R10", "--max-sandboxes", "1", "--sandbox-ttl", "10m")
	st, _, v := call(t, "POST", p.url+"/__admin/sandboxes", `{"version":"R12"}`)
	require.Equal(t, 201, st, "%v", v)
	base := v["base_url"].(string)
	assert.True(t, strings.HasPrefix(base, p.url+"/sandboxes/"), base)
	_, _, v = call(t, "POST", base+"/authentication/token", login)
	require.Equal(t, "OK", code(v), "%v", v)
	assert.Regexp(t, `^eyJ`, token(t, v), "F9: the sandbox emulates R12 while the root is R10")
	st, _, v = call(t, "POST", p.url+"/__admin/sandboxes", `{}`)
	assert.Equal(t, 429, st, "--max-sandboxes 1: %v", v)

	st, _, v = call(t, "POST", p.url+"/__admin/faults", `{"operation":"authentication/token","drop_connection":true}`)
	require.Equal(t, 201, st, "%v", v)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Post(p.url+"/crmapi/rest/v2/authentication/token", "application/json", strings.NewReader(login))
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "the client sees the dropped connection")
	_, _, v = call(t, "POST", p.url+"/crmapi/rest/v2/authentication/token", login)
	assert.Equal(t, "OK", code(v))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	_ = p.cmd.Wait() // the log is read once the process is done writing it
	assert.Regexp(t, `level=INFO msg="fault fired" fault=f1`, p.stderr.String())
}

// Ensure the catalogue's real-client scripts (F19 nested methods, F20 lenient requests,
// F21 real error codes) pass in-process and against the binary.
func TestBinaryRunsRealClientScripts(t *testing.T) {
	var files []string
	for _, f := range []string{"nested-method.yaml", "lenient-headers.yaml", "lint-lenient-request.yaml", "fault-real-error-code.yaml"} {
		files = append(files, filepath.Join("..", "..", "scenarios", "scripts", f))
	}
	p := startBinary(t, nil)
	for _, args := range [][]string{files, append([]string{"--target", p.url}, files...)} {
		code, out, errOut := runCLI(t, args...)
		require.Equal(t, 0, code, "run %v:\n%s%s", args[:2], out, errOut)
		require.Regexp(t, `\n\d+ passed, 0 failed, 0 skipped\n$`, out)
	}
}
