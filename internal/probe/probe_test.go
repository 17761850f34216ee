// Cross-cutting suite (keeps its name): probe then verify end to end, and the installations and credentials the package's tests probe.

package probe

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

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
