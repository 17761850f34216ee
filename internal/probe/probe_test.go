package probe

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmmock/crmmock/mockserver"
	"github.com/crmmock/crmmock/testdata/standin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The documentation's own example fixtures (scenarios/default.yaml).
var docCreds = Credentials{User: "mpadministrator", Password: "1234", Organisation: "CRMDEMO",
	Key: "EE73C0AE64524371B5DDEFF5F7BB2192"}

var standinCreds = Credentials{User: standin.User, Password: standin.Password, Organisation: standin.Organisation,
	Key: standin.Key}

// installation is a target of the tests: its Web API root and credentials.
type installation struct {
	name  string
	url   string
	creds Credentials
	// edit changes one learned line of the scenario; want is the step the difference names.
	edit func(string) string
	want string
}

func scenario(t *testing.T, doc string) *mockserver.Scenario {
	t.Helper()
	sc, err := mockserver.ParseScenario([]byte(doc))
	require.NoError(t, err)
	return sc
}

const docFixtures = `
organisations:
  - name: CRMDEMO
    units: [{id: EE63A82C4FEBE02FF34E90DD1EBA5ABE, oun: "1"}]
    users: [{username: mpadministrator, password: "1234", default_unit: EE63A82C4FEBE02FF34E90DD1EBA5ABE}]
    web_api_keys: [{key: EE73C0AE64524371B5DDEFF5F7BB2192, user: mpadministrator}]
methods:
  - {method: GET, path: contact_information/show, data: {id: "C1", number: "CI000111"}}
`

func replaceLine(prefix, old, repl string) func(string) string {
	return func(s string) string {
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				lines[i] = strings.Replace(l, old, repl, 1)
				return strings.Join(lines, "\n")
			}
		}
		return s
	}
}

// installations are crmmock configured several ways, and the stand-in installation
// written without mockserver (testdata/standin).
func installations(t *testing.T) []installation {
	si := httptest.NewServer(standin.New(nil))
	t.Cleanup(si.Close)
	root := mockserver.Start(t, mockserver.Options{Version: "R12"})
	sb, err := root.NewSandbox(mockserver.SandboxOptions{Version: "R10"})
	require.NoError(t, err)
	return []installation{
		{name: "pre-R10 opaque", url: mockserver.Start(t, mockserver.Options{Version: "pre-R10"}).URL, creds: docCreds,
			edit: replaceLine("unknown_organisation:", `"INVALID_ORGANISATION"`, `"EDITED_CODE"`), want: "unknown organisation"},
		{name: "R10 --error-status mapped", url: mockserver.Start(t, mockserver.Options{Version: "R10", MappedErrors: true}).URL, creds: docCreds,
			edit: replaceLine("wrong_password:", "http_status: 401", "http_status: 200"), want: "wrong password"},
		{name: "R12 renamed codes, numeric dates", url: mockserver.Start(t, mockserver.Options{Version: "R12", Scenario: scenario(t, `
jwt: {numeric_dates: true}
errors:
  INVALID_CREDENTIALS: {code: AUTH_FAILED, message: "Wrong username or password"}
  INVALID_TOKEN: {code: BAD_TOKEN, message: "Token rejected"}
  INVALID_REQUEST: {code: BAD_REQUEST, message: "Bad request"}
`+docFixtures)}).URL, creds: docCreds,
			edit: replaceLine("numeric_dates:", "true", "false"), want: "login"},
		{name: "sandbox base_url", url: sb.BaseURL(root.URL), creds: docCreds,
			edit: replaceLine("unknown_user:", `"Invalid username or password"`, `"Edited message"`), want: "unknown user"},
		{name: "lenient content type", url: mockserver.Start(t, mockserver.Options{Version: "R12", Scenario: scenario(t,
			"contract: {lenient_content_type: true}\n"+docFixtures)}).URL, creds: docCreds,
			edit: replaceLine("claims_order:", "[usr, org, oun, exp, iat, jti]", "[exp, iat, jti, oun, org, usr]"), want: "login"},
		{name: "R16.2 with consumer keys", url: mockserver.Start(t, mockserver.Options{Version: "R16.2"}).URL, creds: docCreds,
			edit: replaceLine("version:", "R15", "R12"), want: "authentication/consumer_application_key/token available"},
		{name: "stand-in", url: si.URL, creds: standinCreds,
			edit: replaceLine("lifetime:", "3600", "7200"), want: "login"},
	}
}

// Ensure probe then verify finds no difference on installations that are not the
// mock's defaults, and that editing one learned line makes verify name that difference.
func TestProbeThenVerify(t *testing.T) {
	for _, in := range installations(t) {
		t.Run(in.name, func(t *testing.T) {
			u, err := TargetURL(in.url)
			require.NoError(t, err)
			cfg := Config{Target: u, Creds: in.creds, Method: "contact_information/show", Rate: -1}
			res, err := Run(context.Background(), cfg)
			require.NoError(t, err)
			l := Learn(res, cfg)
			sc, err := LoadScenario(l.Scenario, in.creds)
			require.NoError(t, err, "%s", l.Scenario)
			v, err := Verify(context.Background(), cfg, sc)
			require.NoError(t, err)
			assert.Empty(t, v.Differences, "%s", l.Scenario)

			edited := in.edit(string(l.Scenario))
			require.NotEqual(t, string(l.Scenario), edited, "the edit must change a line")
			sc, err = LoadScenario([]byte(edited), in.creds)
			require.NoError(t, err)
			v, err = Verify(context.Background(), cfg, sc)
			require.NoError(t, err)
			require.NotEmpty(t, v.Differences, "an edited line must show")
			var text bytes.Buffer
			require.NoError(t, WriteText(&text, v))
			assert.Contains(t, text.String(), in.want+": target ", "%s", text.String())
		})
	}
}

// Ensure what a probe learns of the stand-in is its quirks: real-style codes (F21), HTTP
// 401s, claim order usr, org, oun, iat, exp, jti with an oun of 32 hex (F21), a 1 h
// lifetime, and each line tagged.
func TestProbeLearnsStandinQuirks(t *testing.T) {
	si := httptest.NewServer(standin.New(nil))
	defer si.Close()
	cfg := Config{Target: si.URL + standin.BasePath, Creds: standinCreds, Method: "contact_information/show", Rate: -1}
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	s := string(Learn(res, cfg).Scenario)
	for _, want := range []string{
		`wrong_password: {code: "` + standin.CodeLogin + `", message: "Invalid login", description: "Username or password is incorrect", http_status: 401}   # observed`,
		`released_token: {code: "` + standin.CodeReleased + `"`,
		"claims_order: [usr, org, oun, iat, exp, jti]   # observed",
		`header: '{"alg":"HS256","typ":"JWT"}'   # observed`,
		"lifetime: 3600   # observed",
		`oun: "` + standin.OUN + `"`,
		"expired_token: {code: TOKEN_EXPIRED}   # assumed: not observable",
		"version: R13   # inferred: tokens are JWTs (from R12)",
		`password: "${CRM_PASSWORD}"`,
		`key: "${CRM_WEB_API_KEY}"`,
	} {
		assert.Contains(t, s, want)
	}
}

// Ensure a target that does not answer like a CRM.COM Web API stops the run at its
// first request with one clear line.
func TestRunRefusesNonCRM(t *testing.T) {
	notFound := httptest.NewServer(nil) // net/http's plain 404
	defer notFound.Close()
	html := httptest.NewServer(httpHandler(`<html><body>Welcome</body></html>`))
	defer html.Close()
	closed := httptest.NewServer(nil)
	closed.Close()
	for url, want := range map[string]string{
		notFound.URL: `answered HTTP 404 text/plain "404 page not found", not the JSON envelope`,
		html.URL:     `answered HTTP 200 text/html "<html><body>Welcome</body></html>", not the JSON envelope`,
		closed.URL:   "cannot reach " + closed.URL + "/crmapi/rest/v2",
	} {
		u, _ := TargetURL(url)
		res, err := Run(context.Background(), Config{Target: u, Creds: docCreds, Rate: -1})
		require.Error(t, err)
		assert.Contains(t, err.Error(), want)
		assert.NotContains(t, err.Error(), "\n")
		assert.Equal(t, 1, res.Requests)
	}
}

// Ensure a token's shape keeps no value that changes per token (F10: claim order and
// types; F6: 32 uppercase hex).
func TestShapeOf(t *testing.T) {
	assert.Equal(t, "opaque token of 32 characters 0-9A-F", ShapeOf("4AD9C84FA60F9FE407140E20F707726A").String())
	assert.Equal(t, "opaque token of 20 characters 0-9a-f", ShapeOf("4ad9c84fa60f9fe40714").String())
	assert.Equal(t, "opaque token of 12 characters 0-9A-Za-z_", ShapeOf("aZ09_bY18xQr").String())
	// the wiki's example token (F10)
	tok := "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJ1c3IiOiJhZG1pbiIsIm9yZyI6IkNSTURFTU8iLCJvdW4iOiIxIiwiZXhwIjoiMTQ5NDMzNjc0OCIsImlhdCI6IjE0OTQzMjk1NDgiLCJqdGkiOiI0QUQ5Qzg0RkE2MEY5RkU0MDcxNDBFMjBGNzA3NzI2QSJ9.sig"
	sh := ShapeOf(tok)
	assert.Equal(t, []string{"usr", "org", "oun", "exp", "iat", "jti"}, sh.ClaimNames())
	assert.Equal(t, int64(7200), sh.Life)
	assert.False(t, sh.Numeric)
	assert.Equal(t, `JWT header {"typ":"JWT","alg":"HS256"} claims {usr:string org:string oun:string(1, 0-9A-F) exp:string iat:string jti:string(32, 0-9A-F)} exp-iat=7200s`, sh.String())
}

type httpHandler string

func (h httpHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(h))
}

// Ensure verify compares answers without the moments in them: an installation that
// names when a token was released (as the mock does) verifies hours after its probe.
func TestVerifyIgnoresMomentsInTexts(t *testing.T) {
	srv := mockserver.Start(t, mockserver.Options{Version: "R10"})
	u, err := TargetURL(srv.URL)
	require.NoError(t, err)
	cfg := Config{Target: u, Creds: docCreds, Method: "contact_information/show", Rate: -1}
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	l := Learn(res, cfg)
	require.Contains(t, string(l.Scenario), `description: "token: released at 2`, "the mock names the moment of release")
	_, err = srv.Advance(3*time.Hour + 17*time.Second)
	require.NoError(t, err)
	sc, err := LoadScenario(l.Scenario, docCreds)
	require.NoError(t, err)
	v, err := Verify(context.Background(), cfg, sc)
	require.NoError(t, err)
	assert.Empty(t, v.Differences)
	assert.Equal(t, "token <time> (<time>)", timeless("token 2024-01-01T09:00:00Z (2024-01-01 11:00:00.5+02:00)"))
}

// Ensure refused credentials are reported as such, and the steps that need a token are
// skipped rather than sent (no second wrong password: the refused login was one).
func TestProbeReportsRefusedCredentials(t *testing.T) {
	si := standin.New(nil)
	ts := httptest.NewServer(si)
	defer ts.Close()
	c := standinCreds
	c.Password = "not-the-password"
	cfg := Config{Target: ts.URL + standin.BasePath, Creds: c, Method: "contact_information/show", Rate: -1}
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	l := Learn(res, cfg)
	assert.Contains(t, l.Facts, `login: the given credentials were refused (HTTP 401 `+standin.CodeLogin+` "Invalid login"): check them; the steps that need a token were skipped`)
	assert.Equal(t, 1, si.WrongPasswords(standin.User), "the refused login is the run's one wrong password")
	assert.Contains(t, string(l.Scenario), "wrong_password: {code: INVALID_CREDENTIALS}   # assumed: not observable (no successful login")
}
