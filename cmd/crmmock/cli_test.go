// Cross-cutting suite (keeps its name): the command line as a whole (arguments, flags, help, environment, health, version, docs/cli.md's flag table).

package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/crmmock/crmmock/mockserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cli runs Main in-process with a context already cancelled, so a serve that wrongly
// starts returns at once.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return cliCtx(ctx, args...)
}

func cliCtx(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// oneLine asserts s is exactly one line.
func oneLine(t *testing.T, s string) {
	t.Helper()
	assert.Equal(t, 1, strings.Count(s, "\n"), "want one line, got:\n%s", s)
	assert.True(t, strings.HasSuffix(s, "\n"), "%q", s)
}

// Ensure a stray argument is an error naming it, before anything listens (docs/cli.md;
// issue 8, item 5: `serve extra --addr …` ignored `extra` and every flag after it).
func TestCLIStrayArguments(t *testing.T) {
	t.Setenv("CRMMOCK_ADDR", "127.0.0.1:0") // were the error missed: a free port, never 8080
	for _, args := range [][]string{
		{"serve", "extra", "--addr", "127.0.0.1:0"},
		{"--addr", "127.0.0.1:0", "extra"},
		{"version", "extra"},
		{"health", "--url", "http://127.0.0.1:1", "extra"},
	} {
		code, out, errOut := cli(t, args...)
		assert.Equal(t, 2, code, "%v", args)
		assert.Empty(t, out, "%v", args)
		oneLine(t, errOut)
		assert.Contains(t, errOut, `"extra"`, "%v", args)
	}
}

// Ensure an unknown flag is one line naming it and pointing to `crmmock help`, exit 2,
// for every command (issue 8, item 5: 24 lines of usage).
func TestCLIUnknownFlag(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--verzion", "R9"},
		{"--verzion", "R9"},
		{"run", "--verzion", "R9", "x.yaml"},
		{"health", "--verzion"},
	} {
		code, out, errOut := cli(t, args...)
		assert.Equal(t, 2, code, "%v", args)
		assert.Empty(t, out)
		oneLine(t, errOut)
		assert.Contains(t, errOut, "--verzion", "%v", args)
		assert.Contains(t, errOut, "crmmock help", "%v", args)
	}
	code, _, errOut := cli(t, "serve", "--body-limit", "lots")
	assert.Equal(t, 2, code)
	oneLine(t, errOut)
	assert.Contains(t, errOut, "--body-limit")
}

// Ensure `crmmock help`, `--help` and `-h` list every command and its flags on stdout,
// exit 0 (issue 8, item 5: --help listed only serve's flags).
func TestCLIHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"serve", "-h"}, {"run", "--help"}} {
		code, out, errOut := cli(t, args...)
		assert.Equal(t, 0, code, "%v", args)
		assert.Empty(t, errOut, "%v", args)
		for _, want := range []string{
			"crmmock [serve] [flags]", "crmmock run", "crmmock lint", "crmmock health", "crmmock version", "crmmock help",
			"--addr", "--scenario", "--admin-token", "--target", "--format", "--fail-on", "--url", "--timeout",
			"CRMMOCK_",
		} {
			assert.Contains(t, out, want, "%v", args)
		}
	}
	code, _, errOut := cli(t, "nonsense")
	assert.Equal(t, 2, code)
	oneLine(t, errOut)
	assert.Contains(t, errOut, `"nonsense"`)
	assert.Contains(t, errOut, "crmmock help")
}

// Ensure an error from an environment variable names the variable, not the flag
// (issue 8, item 5: CRMMOCK_VERSION's error named --version); the flag still wins.
func TestCLIEnvErrorsNameTheVariable(t *testing.T) {
	for env, val := range map[string]string{
		"CRMMOCK_VERSION": "X9", "CRMMOCK_CLOCK": "slow", "CRMMOCK_START": "soon",
		"CRMMOCK_ERROR_STATUS": "404", "CRMMOCK_BODY_LIMIT": "lots", "CRMMOCK_LOG_LEVEL": "loud",
		"CRMMOCK_SCENARIO": "/nope.yaml", "CRMMOCK_BASE_PATH": "api",
	} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, val)
			code, _, errOut := cli(t, "serve", "--addr", "127.0.0.1:0")
			assert.Equal(t, 2, code)
			oneLine(t, errOut)
			assert.Contains(t, errOut, env)
			assert.NotContains(t, errOut, "--"+strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "CRMMOCK_")), "_", "-"))
		})
	}
	t.Setenv("CRMMOCK_VERSION", "X9")
	code, _, errOut := cli(t, "serve", "--addr", "127.0.0.1:0", "--version", "R10")
	assert.Equal(t, 0, code, "the flag wins over a bad variable: %s", errOut)
	code, _, errOut = cli(t, "serve", "--addr", "127.0.0.1:0", "--version", "Y1")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--version")
	assert.NotContains(t, errOut, "CRMMOCK_VERSION")
}

// Ensure a negative bound (tokens, budgets, sandboxes, their TTL, dead tokens kept) is
// refused in one line naming the flag and the value it got, before anything listens.
func TestCLINegativeBoundsNameTheFlag(t *testing.T) {
	for flag, want := range map[string]string{
		"--keep-dead": "--keep-dead: -1: want 0 or more tokens", "--max-tokens": "--max-tokens: -1 is negative (0: no bound)",
		"--token-budget": "--token-budget: -1 is negative (0: no bound)", "--journal-budget": "--journal-budget: -1 is negative (0: no budget)",
		"--max-sandboxes": "--max-sandboxes: -1 is negative (0: no sandboxes)",
	} {
		code, out, errOut := cli(t, "serve", "--addr", "127.0.0.1:0", flag, "-1")
		assert.Equal(t, 2, code, flag)
		assert.Empty(t, out, "%s: nothing listened", flag)
		oneLine(t, errOut)
		assert.Contains(t, errOut, want)
	}
	code, _, errOut := cli(t, "serve", "--addr", "127.0.0.1:0", "--sandbox-ttl", "-1s")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--sandbox-ttl: -1s is negative (0: never)")
}

// Ensure `crmmock health` exits 0 against a running mock (also under --admin-token)
// and 1 with one line against nothing listening or something else (docs/cli.md).
func TestCLIHealth(t *testing.T) {
	srv := mockserver.Start(t, mockserver.Options{AdminToken: "s3cret"})
	code, _, errOut := cliCtx(context.Background(), "health", "--url", srv.URL)
	assert.Equal(t, 0, code, errOut)
	code, _, errOut = cliCtx(context.Background(), "health", "--url", srv.URL+"/__admin/health", "--timeout", "5s")
	assert.Equal(t, 0, code, errOut)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	code, out, errOut := cliCtx(context.Background(), "health", "--url", dead)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	oneLine(t, errOut)
	assert.Contains(t, errOut, dead)

	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"status":"starting"}`))
	}))
	defer other.Close()
	code, _, errOut = cliCtx(context.Background(), "health", "--url", other.URL)
	assert.Equal(t, 1, code)
	oneLine(t, errOut)

	code, _, errOut = cliCtx(context.Background(), "health", "--url", srv.URL, "--timeout", "soon")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--timeout")
	code, _, _ = cliCtx(context.Background(), "health", "--url", "127.0.0.1:8080")
	assert.Equal(t, 2, code, "a URL without scheme is bad usage")
}

// Ensure `crmmock health` finds the mock from CRMMOCK_ADDR (0.0.0.0 dialled as
// 127.0.0.1), as in the container image.
func TestCLIHealthFromAddr(t *testing.T) {
	srv := mockserver.Start(t, mockserver.Options{})
	_, port, err := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	require.NoError(t, err)
	for _, addr := range []string{"0.0.0.0:" + port, ":" + port, "127.0.0.1:" + port} {
		t.Setenv("CRMMOCK_ADDR", addr)
		code, _, errOut := cliCtx(context.Background(), "health")
		assert.Equal(t, 0, code, "CRMMOCK_ADDR=%s: %s", addr, errOut)
	}
}

// Ensure the binary's health check needs nothing from its environment (a FROM scratch
// image has no shell, no /etc/hosts, no variables but its own).
func TestBinaryHealthBareEnvironment(t *testing.T) {
	p := startBinary(t, nil)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(p.url, "http://"))
	require.NoError(t, err)
	cmd := exec.Command(binary, "health")
	cmd.Env = []string{"CRMMOCK_ADDR=0.0.0.0:" + port}
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "%s", out)
	cmd = exec.Command(binary, "health", "--url", "http://127.0.0.1:1")
	cmd.Env = []string{}
	out, err = cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 1, ee.ExitCode(), "%s", out)
}

// Ensure the listening line keeps the host --addr asked for (0.0.0.0, not the [::] the
// listener reports) with the real port (docs/cli.md: the real port for :0).
func TestListenURLHost(t *testing.T) {
	for _, c := range []struct{ asked, got, want string }{
		{"0.0.0.0:8080", "[::]:8080", "0.0.0.0:8080"},
		{"127.0.0.1:0", "127.0.0.1:41234", "127.0.0.1:41234"},
		{"localhost:0", "127.0.0.1:41234", "localhost:41234"},
		{"[::1]:0", "[::1]:41234", "[::1]:41234"},
		{":8080", "[::]:8080", "[::]:8080"},
	} {
		if got := listenURLHost(c.asked, addrString(c.got)); got != c.want {
			t.Errorf("listenURLHost(%q, %s) = %q, want %q", c.asked, c.got, got, c.want)
		}
	}
}

// addrString is a net.Addr that prints as itself.
type addrString string

func (a addrString) Network() string { return "tcp" }
func (a addrString) String() string  { return string(a) }

// Ensure `crmmock --version`, `-version` and `-v` alone print what `crmmock version`
// prints, exit 0 (issue 18, item 5: "flag needs an argument" and "unknown flag --v").
func TestCLIVersionFlagAlone(t *testing.T) {
	code, want, errOut := cli(t, "version")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `^crmmock \S+\n$`, want)
	for _, flag := range []string{"--version", "-version", "-v"} {
		code, out, errOut := cli(t, flag)
		assert.Equal(t, 0, code, flag)
		assert.Equal(t, want, out, flag)
		assert.Empty(t, errOut, flag)
	}
}

// Ensure the release is chosen with --release, with --version VALUE, CRMMOCK_RELEASE
// and CRMMOCK_VERSION still working: the running mock serves the release given (GET
// /__admin/version), a flag beats both variables and CRMMOCK_RELEASE beats
// CRMMOCK_VERSION.
func TestCLIReleaseFlagAndAlias(t *testing.T) {
	for name, c := range map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"--release":                   {nil, []string{"--release", "R9"}, "R9"},
		"--version VALUE":             {nil, []string{"--version", "R10"}, "R10"},
		"--version=VALUE":             {nil, []string{"--version=R11"}, "R11"},
		"CRMMOCK_RELEASE":             {map[string]string{"CRMMOCK_RELEASE": "R10"}, nil, "R10"},
		"CRMMOCK_VERSION":             {map[string]string{"CRMMOCK_VERSION": "R9"}, nil, "R9"},
		"RELEASE beats VERSION":       {map[string]string{"CRMMOCK_RELEASE": "R10", "CRMMOCK_VERSION": "R9"}, nil, "R10"},
		"--release beats the env":     {map[string]string{"CRMMOCK_RELEASE": "R10", "CRMMOCK_VERSION": "R10"}, []string{"--release", "R9"}, "R9"},
		"--version beats the env":     {map[string]string{"CRMMOCK_RELEASE": "R10", "CRMMOCK_VERSION": "R10"}, []string{"--version", "R9"}, "R9"},
		"default without either flag": {nil, nil, "R12"},
	} {
		t.Run(name, func(t *testing.T) {
			unsetReleaseEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			ctx, cancel := context.WithCancel(context.Background())
			root, done := serveInProcess(t, ctx, append([]string{"--addr", "127.0.0.1:0", "--log-level", "error"}, c.args...)...)
			defer func() { cancel(); <-done }()
			_, _, v := call(t, "GET", root+"/__admin/version", "")
			assert.Equal(t, c.want, v["version"])
		})
	}
}

// Ensure a bad release names the flag or variable as written, and --release with
// --version is one line, exit 2 (they are the same flag), for serve and run.
func TestCLIReleaseErrorsNameWhatWasGiven(t *testing.T) {
	for _, c := range []struct {
		env       string
		args      []string
		want, not string
	}{
		{"", []string{"serve", "--release", "X1"}, "crmmock: --release: ", "--version"},
		{"", []string{"serve", "--version", "X1"}, "crmmock: --version: ", "--release"},
		{"CRMMOCK_RELEASE", []string{"serve"}, "crmmock: CRMMOCK_RELEASE: ", "--"},
		{"CRMMOCK_VERSION", []string{"serve"}, "crmmock: CRMMOCK_VERSION: ", "--"},
		{"", []string{"serve", "--release", "R10", "--version", "R10"}, "--release and --version are the same flag", "unknown release"},
		{"", []string{"run", "--release", "X1", "x.yaml"}, "crmmock run: --release: ", "--version"},
		{"", []string{"run", "x.yaml", "--version", "X1"}, "crmmock run: --version: ", "--release"},
		{"", []string{"run", "--version", "R10", "x.yaml", "--release", "R12"}, "--release and --version are the same flag", "x.yaml"},
	} {
		t.Run(strings.Join(c.args, " ")+c.env, func(t *testing.T) {
			unsetReleaseEnv(t)
			t.Setenv("CRMMOCK_ADDR", "127.0.0.1:0") // were the error missed: a free port, never 8080
			if c.env != "" {
				t.Setenv(c.env, "X1")
			}
			code, out, errOut := cli(t, c.args...)
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			oneLine(t, errOut)
			assert.Contains(t, errOut, c.want)
			assert.NotContains(t, errOut, c.not)
		})
	}
}

// unsetReleaseEnv clears CRMMOCK_RELEASE and CRMMOCK_VERSION for the test (restored after).
func unsetReleaseEnv(t *testing.T) {
	for _, k := range []string{"CRMMOCK_RELEASE", "CRMMOCK_VERSION"} {
		t.Setenv(k, "")
		require.NoError(t, os.Unsetenv(k))
	}
}

// Ensure help documents --release and hides its alias --version (named in its usage).
func TestCLIHelpDocumentsRelease(t *testing.T) {
	_, out, _ := cli(t, "help")
	assert.Contains(t, out, "--release string")
	assert.NotContains(t, out, "--version string")
	assert.Contains(t, out, "--version VALUE")
	assert.Contains(t, out, "--version and -v alone")
}

// Ensure the serve flag table of docs/cli.md has a row for every serve flag under the name
// help shows (--release, not its alias --version).
func TestREADMEServeFlagTable(t *testing.T) {
	readme, err := os.ReadFile("../../docs/cli.md")
	require.NoError(t, err)
	fs := newFlagSet("serve", new(serveConfig).flags)
	fs.VisitAll(func(f *flag.Flag) {
		row := "\n| `--" + f.Name + "`"
		if _, alias := flagAliases[f.Name]; alias {
			assert.NotContains(t, string(readme), row, "the alias has no row of its own")
			return
		}
		assert.Contains(t, string(readme), row)
	})
}
