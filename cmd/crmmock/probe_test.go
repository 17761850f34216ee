package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crmmock/crmmock/internal/probe"
	"github.com/crmmock/crmmock/testdata/standin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startStandin serves the stand-in installation (testdata/standin) on loopback.
func startStandin(t *testing.T) (*standin.Standin, *httptest.Server) {
	t.Helper()
	si := standin.New(nil)
	ts := httptest.NewServer(si)
	t.Cleanup(ts.Close)
	return si, ts
}

// standinEnv puts the stand-in's credentials in the CRM_* variables, as a user keeping
// secrets out of shell history would.
func standinEnv(t *testing.T) {
	t.Setenv("CRM_USERNAME", standin.User)
	t.Setenv("CRM_PASSWORD", standin.Password)
	t.Setenv("CRM_ORGANISATION", standin.Organisation)
	t.Setenv("CRM_WEB_API_KEY", standin.Key)
}

func run(args ...string) (int, string, string) { return cliCtx(context.Background(), args...) }

// Ensure crmmock probe writes a scenario of the stand-in with its report on stderr, and
// crmmock verify then exits 0; an edited line exits 1 naming the difference, in text and
// JSON.
func TestProbeCommandThenVerify(t *testing.T) {
	standinEnv(t)
	_, ts := startStandin(t)
	out := filepath.Join(t.TempDir(), "learned.yaml")
	code, stdout, stderr := run("probe", "--target", ts.URL, "--method", "GET:contact_information/show", "--rate", "1000", "--out", out)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "release: R13")
	assert.Contains(t, stderr, "wrong_password: HTTP 401 "+standin.CodeLogin)
	assert.Regexp(t, `plan: 21 requests of 21 planned, in `, stderr)
	assert.Contains(t, stderr, "scenario written to "+out)

	code, stdout, stderr = run("verify", "--target", ts.URL, "--scenario", out, "--method", "GET:contact_information/show", "--rate", "1000")
	assert.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout, "0 difference(s) over 21 requests")

	learned, err := os.ReadFile(out)
	require.NoError(t, err)
	edited := strings.Replace(string(learned), `message: "Invalid organisation"`, `message: "Unknown organisation"`, 1)
	require.NotEqual(t, string(learned), edited)
	require.NoError(t, os.WriteFile(out, []byte(edited), 0o600))
	code, stdout, _ = run("verify", "--target", ts.URL, "--scenario", out, "--method", "GET:contact_information/show", "--rate", "1000")
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, `unknown organisation: target HTTP 401 `+standin.CodeOrganisation+` "Invalid organisation" · mock HTTP 401 `+standin.CodeOrganisation+` "Unknown organisation"`)

	code, stdout, _ = run("verify", "--target", ts.URL, "--scenario", out, "--method", "GET:contact_information/show", "--rate", "1000", "--format", "json")
	assert.Equal(t, 1, code)
	var rep struct {
		Differences []probe.Difference `json:"differences"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	require.Len(t, rep.Differences, 1)
	assert.Equal(t, "unknown_organisation", rep.Differences[0].Step)
}

// Ensure --dry-run prints the whole plan and sends nothing (the stand-in counts).
func TestProbeDryRunSendsNothing(t *testing.T) {
	standinEnv(t)
	si, ts := startStandin(t)
	code, stdout, stderr := run("probe", "--target", ts.URL, "--dry-run", "--method", "GET:contact_information/show")
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, si.Requests())
	assert.Equal(t, 21+2, strings.Count(stdout, "\n"), "a heading, one line per request, the bounds:\n%s", stdout)
	assert.Contains(t, stdout, "bounds: --max-requests 60, --rate 5 per second, about 4s")
	assert.NotContains(t, stdout, standin.Password)
	assert.NotContains(t, stdout, standin.Key)

	for _, k := range []string{"CRM_USERNAME", "CRM_PASSWORD", "CRM_ORGANISATION", "CRM_WEB_API_KEY"} {
		t.Setenv(k, "")
	}
	code, stdout, stderr = run("probe", "--dry-run")
	require.Equal(t, 0, code, "a dry run needs neither target nor credentials: %s", stderr)
	assert.Contains(t, stdout, "crmmock probe plan for the target (17 requests at most")
	assert.Empty(t, si.Requests())
}

// Ensure a run sends nothing outside its plan (the stand-in counts every request), at
// most one wrong-password login, and none with --no-lockout-risk, whose class is then
// written as assumed.
func TestProbeSendsOnlyThePlan(t *testing.T) {
	standinEnv(t)
	for _, noLockout := range []bool{false, true} {
		si, ts := startStandin(t)
		args := []string{"probe", "--target", ts.URL, "--method", "GET:contact_information/show", "--rate", "1000"}
		if noLockout {
			args = append(args, "--no-lockout-risk")
		}
		code, stdout, stderr := run(args...)
		require.Equal(t, 0, code, stderr)
		var planned []string
		for _, st := range probe.Plan(probe.Config{Method: "contact_information/show"}) {
			planned = append(planned, st.Method+" "+standin.BasePath+"/"+st.Path)
		}
		got := si.Requests()
		for _, r := range got {
			assert.Contains(t, planned, r, "a request outside the plan")
		}
		assert.LessOrEqual(t, len(got), len(planned))
		if noLockout {
			assert.Equal(t, 0, si.WrongPasswords(standin.User))
			assert.Contains(t, stdout, "wrong_password: {code: INVALID_CREDENTIALS}   # assumed: not observable (--no-lockout-risk")
		} else {
			assert.Equal(t, 1, si.WrongPasswords(standin.User), "real installations may lock accounts")
		}
	}
}

// Ensure --max-requests bounds the run: the stand-in receives exactly that many, and the
// report says the run was stopped.
func TestProbeMaxRequests(t *testing.T) {
	standinEnv(t)
	si, ts := startStandin(t)
	code, _, stderr := run("probe", "--target", ts.URL, "--max-requests", "5", "--rate", "1000")
	require.Equal(t, 0, code, stderr)
	assert.Len(t, si.Requests(), 5)
	assert.Contains(t, stderr, "plan: 5 requests of 17 planned")
	assert.Contains(t, stderr, "stopped by --max-requests")
}

// Ensure --rate spaces the requests: at 20 per second, 21 requests span at least 1 s
// (a lower bound only, which a slow machine cannot break).
func TestProbeRate(t *testing.T) {
	standinEnv(t)
	si, ts := startStandin(t)
	code, _, stderr := run("probe", "--target", ts.URL, "--method", "GET:contact_information/show", "--rate", "20")
	require.Equal(t, 0, code, stderr)
	at := si.Arrivals()
	require.Len(t, at, 21)
	span := at[len(at)-1].Sub(at[0])
	assert.GreaterOrEqual(t, span.Seconds(), 0.9*20.0/20, "21 requests at 20/s")
}

// Ensure the password, the key and every token the target issued appear in neither the
// scenario, the report, nor verify's output.
func TestProbeKeepsSecrets(t *testing.T) {
	standinEnv(t)
	si, ts := startStandin(t)
	out := filepath.Join(t.TempDir(), "learned.yaml")
	code, _, report := run("probe", "--target", ts.URL, "--method", "GET:contact_information/show", "--rate", "1000", "--out", out)
	require.Equal(t, 0, code, report)
	vcode, verifyOut, verifyErr := run("verify", "--target", ts.URL, "--scenario", out, "--method", "GET:contact_information/show", "--rate", "1000", "--format", "json")
	learned, err := os.ReadFile(out)
	require.NoError(t, err)
	tokens := si.Issued()
	require.NotEmpty(t, tokens)
	secrets := []string{standin.Password, standin.Key}
	for _, tok := range tokens {
		secrets = append(secrets, tok, strings.SplitN(tok, ".", 3)[2], tok[:len(tok)/2]) // the token, its signature, the half the plan sends
	}
	for name, text := range map[string]string{"scenario": string(learned), "report": report, "verify": verifyOut + verifyErr} {
		for _, s := range secrets {
			assert.NotContains(t, text, s, "%s leaks a secret", name)
		}
	}
	assert.Contains(t, string(learned), `"${CRM_PASSWORD}"`)
	assert.Contains(t, string(learned), `"${CRM_WEB_API_KEY}"`)
	assert.Contains(t, string(learned), `description: "Web API key ${CRM_WEB_API_KEY} must have an empty password"`, "an echoed key is the placeholder")
	assert.Contains(t, string(learned), `description: "Token <token> is no longer valid"`, "an echoed token is left out")
	assert.Equal(t, 0, vcode, "verify: %s%s", verifyOut, verifyErr)
}

// Ensure a target that is not a CRM.COM Web API (a plain 404 server, an HTML page, a
// closed port) exits 1 with one line saying what it answered.
func TestProbeNotCRM(t *testing.T) {
	standinEnv(t)
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!doctype html><title>Portal</title>"))
	}))
	defer html.Close()
	closed := httptest.NewServer(nil)
	closed.Close()
	for url, want := range map[string]string{
		notFound.URL: "HTTP 404 text/plain",
		html.URL:     "HTTP 200 text/html",
		closed.URL:   "cannot reach",
	} {
		for _, cmd := range []string{"probe", "verify"} {
			args := []string{cmd, "--target", url, "--rate", "1000"}
			if cmd == "verify" {
				f := filepath.Join(t.TempDir(), "s.yaml")
				require.NoError(t, os.WriteFile(f, []byte("organisations: [{name: O, units: [{id: U}]}]\n"), 0o600))
				args = append(args, "--scenario", f)
			}
			code, stdout, stderr := run(args...)
			assert.Equal(t, 1, code, "%s %s", cmd, url)
			assert.Empty(t, stdout)
			oneLine(t, stderr)
			assert.Contains(t, stderr, want)
		}
	}
}

// Ensure bad usage exits 2 with one line naming the problem.
func TestProbeBadUsage(t *testing.T) {
	for _, k := range []string{"CRM_USERNAME", "CRM_PASSWORD", "CRM_ORGANISATION", "CRM_UNIT", "CRM_WEB_API_KEY"} {
		t.Setenv(k, "")
	}
	for args, want := range map[string]string{
		"probe --key K":                                                     "--target is required",
		"probe --target http://127.0.0.1:1":                                 "no credentials",
		"probe --target http://127.0.0.1:1 --user u":                        "needs --user, --password and --organisation",
		"probe --target ftp://x --key K":                                    "--target",
		"probe --target http://h --key K --method POST:payments/create":     "only GET methods",
		"probe --target http://h --key K --method GET:authentication/token": "already in the plan",
		"probe --target http://h --key K --rate 0":                          "--rate 0",
		"probe --target http://h --key K --max-requests 0":                  "--max-requests 0",
		"probe --target http://h --key K --header nocolon":                  "want 'Name: value'",
		"probe --target http://h --key K --ca-cert /nonexistent.pem":        "--ca-cert",
		"verify --target http://h --key K":                                  "--scenario is required",
		"verify --target http://h --key K --scenario /nonexistent.yaml":     "--scenario",
		"verify --target http://h --key K --scenario x --format xml":        "--format",
		"probe --target http://h --key K extra":                             `"extra"`,
	} {
		code, stdout, stderr := run(strings.Fields(args)...)
		assert.Equal(t, 2, code, args)
		assert.Empty(t, stdout, args)
		oneLine(t, stderr)
		assert.Contains(t, stderr, want, args)
	}
}

// Ensure --ca-cert reaches an installation behind a private CA and --header passes its
// gateway: without either, the run stops with one line.
func TestProbeCACertAndHeader(t *testing.T) {
	standinEnv(t)
	si := standin.New(nil)
	si.Gateway = "X-Gateway-Key: g4t3"
	ts := httptest.NewTLSServer(si)
	defer ts.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600))

	code, stdout, stderr := run("probe", "--target", ts.URL, "--rate", "1000", "--ca-cert", ca, "--header", "X-Gateway-Key: g4t3")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "version: R13")
	n := len(si.Requests())

	code, _, stderr = run("probe", "--target", ts.URL, "--rate", "1000", "--header", "X-Gateway-Key: g4t3")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "certificate")
	assert.Equal(t, n, len(si.Requests()), "a TLS failure sends nothing")

	code, _, stderr = run("probe", "--target", ts.URL, "--rate", "1000", "--ca-cert", ca)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `HTTP 403 text/plain "gateway: forbidden"`)
	assert.Equal(t, n+1, len(si.Requests()), "the run stops at its first answer")
	assert.True(t, slices.Contains(si.Requests(), "POST "+standin.BasePath+"/authentication/token"))
}

// Ensure crmmock run --target --scenario learned.yaml checks the catalogue against an
// installation through its own names: without the scenario, steps fail on the stand-in
// only because its codes are COM.CRM.EXCEPTION.… (F21), its errors HTTP 4xx, its oun 32
// hex and its tokens one hour long; with it, no step fails for that, and the
// credentials come from the flags. What still fails is behaviour the scripts pin to a
// release or to the mock's fixtures.
func TestRunTargetThroughLearnedScenario(t *testing.T) {
	standinEnv(t)
	si, ts := startStandin(t)
	out := filepath.Join(t.TempDir(), "learned.yaml")
	code, _, stderr := run("probe", "--target", ts.URL, "--method", "GET:contact_information/show", "--rate", "1000", "--out", out)
	require.Equal(t, 0, code, stderr)
	type report struct {
		Suites []struct {
			File, Release string
			Steps         []struct {
				Name     string
				Failures []struct{ What, Want, Got string }
			}
		}
	}
	catalogue := func(args ...string) report {
		_, stdout, stderr := run(append([]string{"run", "--target", ts.URL, "--format", "json"}, append(args, "../../scenarios/scripts")...)...)
		var rep report
		require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout+stderr)
		return rep
	}
	naming := 0
	for _, s := range catalogue().Suites {
		for _, st := range s.Steps {
			for _, f := range st.Failures {
				if f.What == "status.code" && strings.HasPrefix(f.Got, `"COM.CRM.EXCEPTION.`) || f.What == "HTTP status" {
					naming++
				}
			}
		}
	}
	assert.GreaterOrEqual(t, naming, 10, "without the scenario, the stand-in's names fail steps")

	for _, k := range []string{"CRM_USERNAME", "CRM_PASSWORD", "CRM_ORGANISATION", "CRM_WEB_API_KEY"} {
		t.Setenv(k, "")
	}
	live, issued := si.Live(), len(si.Issued())
	rep := catalogue("--scenario", out, "--user", standin.User, "--password", standin.Password,
		"--organisation", standin.Organisation, "--key", standin.Key)
	var rest []string
	for _, s := range rep.Suites {
		for _, st := range s.Steps {
			for _, f := range st.Failures {
				switch {
				case s.Release == "R10" && f.What == "data.token" && f.Want == "/^[0-9A-F]{32}$/":
					// a script taken to run on R10 meets R12+ JWTs: a release, not a name
				case st.Name == "a key token for another unit":
					// the mock's second fixture unit, which the installation lacks
				default:
					rest = append(rest, s.File+": "+st.Name+": "+f.What+": want "+f.Want+", got "+f.Got)
				}
			}
		}
	}
	assert.Empty(t, rest, "steps that fail on the stand-in for its names or credentials")
	assert.Greater(t, len(si.Issued()), issued)
	assert.Equal(t, live, si.Live(), "each script released the tokens it obtained on the (R13) installation")
}
