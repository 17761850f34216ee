package mockserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmmock/crmmock"
	yamlscenario "github.com/crmmock/crmmock/internal/scenario"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// Ensure the built-in scenario holds the documentation's example fixtures (docs/scenarios.md).
func TestDefaultScenario(t *testing.T) {
	sc := DefaultScenario()
	require.NotEmpty(t, sc.Organisations)
	o := sc.Organisations[0]
	assert.Equal(t, docOrg, o.Name)
	assert.Equal(t, docUnit, o.Units[0].ID)
	assert.Equal(t, "1", o.Units[0].OUN)
	assert.Equal(t, docUser, o.Users[0].Username)
	assert.Equal(t, docKey, o.WebAPIKeys[0].Key)
	assert.Empty(t, sc.Clock.Start, "the default start is now, so tokens verify with real-time JWT libraries")
}

// Ensure load errors name the problem and the line.
func TestScenarioErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown key", "organisations:\n  - name: A\n    unitz: []\n", `line 3: unknown key "unitz"`},
		{"wrong type", "organisations:\n  - name: A\n    units: 5\n", "line 3:"},
		{"not yaml", "organisations: [", "line"},
		{"empty", "", "line 1: the document is empty"},
		{"no organisations", "version: R10\n", "at least one organisation"},
		{"bad version", "version: X\norganisations: []\n", `line 1: version: unknown release "X"`},
		{"bad start", "clock: {start: tomorrow}\n", "line 1: clock.start"},
		{"duplicate organisation", "organisations:\n  - {name: A, units: [{id: U}]}\n  - {name: A, units: [{id: U}]}\n", `line 3: duplicate organisation "A"`},
		{"duplicate user", "organisations:\n  - name: A\n    units: [{id: U}]\n    users:\n      - {username: u, password: p}\n      - {username: u, password: q}\n", `line 6: duplicate user "u"`},
		{"duplicate unit", "organisations:\n  - name: A\n    units:\n      - {id: U}\n      - {id: U}\n", `line 5: duplicate unit "U"`},
		{"dangling default unit", "organisations:\n  - name: A\n    units: [{id: U}]\n    users:\n      - {username: u, password: p, default_unit: V}\n", `line 5: default_unit "V"`},
		{"dangling unit list", "organisations:\n  - name: A\n    units: [{id: U}]\n    users:\n      - username: u\n        units: [U, W]\n", `line 6: unit "W"`},
		{"dangling key user", "organisations:\n  - name: A\n    units: [{id: U}]\n    web_api_keys:\n      - {key: K, user: ghost}\n", `line 5: web_api_key "K" names user "ghost"`},
		{"duplicate key", "organisations:\n  - name: A\n    units: [{id: U}]\n    users: [{username: u}]\n    web_api_keys:\n      - {key: K, user: u}\n      - {key: K, user: u}\n", `line 7: duplicate web_api_key "K"`},
		{"bad method", "organisations: [{name: A, units: [{id: U}]}]\nmethods:\n  - {method: PUT, path: a/b}\n", `line 3: methods: method "PUT"`},
		{"bad method path", "organisations: [{name: A, units: [{id: U}]}]\nmethods:\n  - {method: GET, path: a}\n", `line 3: methods: path "a"`},
		{"unknown error code", "errors: {NOPE: {code: X}}\norganisations: [{name: A, units: [{id: U}]}]\n", `line 1: errors: unknown error code "NOPE"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(c.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// Ensure JSON scenarios load with the same keys, and defaults apply.
func TestScenarioJSON(t *testing.T) {
	sc, err := ParseScenario([]byte(`{"version":"R10.0.0","clock":{"start":"2024-05-01T00:00:00Z"},
	  "organisations":[{"name":"A","units":[{"id":"U1"},{"id":"U2","oun":"9"}],
	    "users":[{"username":"u","password":"p"}],
	    "web_api_keys":[{"key":"K","user":"u","units":["U2"]}]}]}`))
	require.NoError(t, err)
	h := &harness{t: t, Server: Start(t, Options{Scenario: sc})} // no Start: the scenario's clock.start
	assert.Equal(t, "R10.0.0", h.Version().Name, "the scenario's version applies without --version")
	assert.Equal(t, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), h.Now(), "clock.start")
	r := h.post("authentication/web_api_key/token", nil, "Authorization", basic("K"))
	require.Equal(t, "OK", r.Status.Code, "%s", r.Raw)
	info, _ := h.Token(r.token(t))
	assert.Equal(t, "U2", info.Unit, "the key may use only U2, so it gets U2")
	r = h.post("authentication/web_api_key/token", map[string]string{"unit": "U1"}, "Authorization", basic("K"))
	assert.Equal(t, "INVALID_UNIT", r.Status.Code)

	h2 := start(t, Options{Scenario: sc, Version: "R12"})
	assert.Equal(t, "R12", h2.Version().Name, "Options.Version wins")
}

// Ensure the contract is a valid OpenAPI 3.0 document whose release data (quoted
// x-available-from / x-deprecated-from) is what the mock reads: every operation's
// availability in every release from R4 to R20 follows it.
func TestContract(t *testing.T) {
	c, err := loadProcessContract()
	require.NoError(t, err)
	assert.Regexp(t, `^3\.0\.`, c.doc.OpenAPI)
	require.NoError(t, c.doc.Validate(t.Context()))
	assert.Contains(t, string(crmmock.OpenAPI), "x-fidelity")

	for _, path := range c.doc.Paths.InMatchingOrder() {
		for method, op := range c.doc.Paths.Value(path).Operations() {
			assert.Contains(t, op.Extensions, "x-fidelity", "%s %s", method, path)
			from, hasFrom := op.Extensions["x-available-from"].(string)
			dep, hasDep := op.Extensions["x-deprecated-from"].(string)
			for _, name := range []string{"R4", "R9", "R10", "R11.1.0", "R12", "R13", "R15", "R16.2", "R18", "R20"} {
				rel := MustParseRelease(name)
				got, _ := c.availability(op.OperationID, &rel)
				want := Available
				switch {
				case hasFrom && !rel.AtLeast(MustParseRelease(from)):
					want = NotAvailable
				case hasDep && rel.AtLeast(MustParseRelease(dep)):
					want = Deprecated
				}
				assert.Equal(t, want, got, "%s in %s", op.OperationID, name)
			}
		}
	}
	rel := MustParseRelease("R9")
	got, _ := c.availability("webApiKeyToken", &rel)
	assert.Equal(t, NotAvailable, got, "F7: no key tokens before R10.0.0")
	rel = MustParseRelease("R12.0.0")
	got, _ = c.availability("releaseToken", &rel)
	assert.Equal(t, Deprecated, got, "F8: release deprecated from R12.0.0")
}

// Ensure release names parse as F11 writes them.
func TestParseRelease(t *testing.T) {
	for in, want := range map[string][2]string{
		"pre-R10": {"pre-R10", "pre-R10"}, "PRE-r10": {"pre-R10", "pre-R10"},
		"R9": {"R9", "pre-R10"}, "R6.0.0": {"R6.0.0", "pre-R10"}, "r10": {"R10", "R10"},
		"R10.0.0": {"R10.0.0", "R10"}, "R11.1.0": {"R11.1.0", "R10"}, "R12": {"R12", "R12"},
		"R14.1.0": {"R14.1.0", "R12"}, "R18.0.0": {"R18.0.0", "R12"}, " R12 ": {"R12", "R12"},
		"R16.2": {"R16.2", "R12"}, "R16.2.0": {"R16.2.0", "R12"}, "R4": {"R4", "pre-R10"}, "R25": {"R25", "R12"},
	} {
		r, err := ParseRelease(in)
		require.NoError(t, err, in)
		assert.Equal(t, want[0], r.Name, in)
		assert.Equal(t, want[1], r.Profile.Name, in)
	}
	for _, bad := range []string{"", "R", "12", "R-1", "R0", "R1.2", "R3", "R3.9.9", "R1.2.3.4", "Rx", "R+5", "R10.0.x", "R16.", "v12", "R99999"} {
		_, err := ParseRelease(bad)
		assert.Error(t, err, bad)
	}
	// F11: releases at minor precision; R16.2 is R16.2.0, and pre-R10 is R9.
	assert.True(t, MustParseRelease("R16.2").AtLeast(MustParseRelease("R16.2.0")))
	assert.True(t, MustParseRelease("R16.2.0").AtLeast(MustParseRelease("R16.2")))
	assert.False(t, MustParseRelease("R16.1.9").AtLeast(MustParseRelease("R16.2")))
	assert.True(t, MustParseRelease("R16.10").AtLeast(MustParseRelease("R16.2")), "16.10 is after 16.2")
	assert.Equal(t, MustParseRelease("R9").Major, MustParseRelease("pre-R10").Major)
}

// The scenario keys that make the mock answer as a particular installation does
// (docs/scenarios.md: errors by failure class, token, jwt), as crmmock probe
// writes them.

// Ensure errors keyed by failure class tell apart what one catalogue code covers (a
// wrong password and an unknown user are both INVALID_CREDENTIALS by default), with
// the class's code, message, description and HTTP status; a class without an entry
// falls back to its code's.
func TestScenarioErrorsByFailureClass(t *testing.T) {
	sc, err := ParseScenario([]byte(`
errors:
  wrong_password: {code: COM.CRM.EXCEPTION.AUTH.WRONGPASSWORDEXCEPTION, message: Wrong password, description: "", http_status: 401}
  unknown_user: {code: COM.CRM.EXCEPTION.AUTH.USERNOTFOUNDEXCEPTION, description: "No such user"}
  INVALID_CREDENTIALS: {message: Login failed}
  truncated_token: {code: TOKEN_TRUNCATED}
  INVALID_TOKEN: {code: BAD_TOKEN, http_status: 403}
  missing_field: {code: MISSING_PARAMETER}
  malformed_json: {code: BAD_JSON}
  wrong_method: {code: WRONG_VERB, http_status: 405}
  key_with_password: {code: KEY_PASSWORD}
  released_token: {code: RELEASED}
organisations:
  - name: CRMDEMO
    units: [{id: EE63A82C4FEBE02FF34E90DD1EBA5ABE}]
    users: [{username: mpadministrator, password: "1234"}]
    web_api_keys: [{key: EE73C0AE64524371B5DDEFF5F7BB2192, user: mpadministrator}]
`))
	require.NoError(t, err)
	h := start(t, Options{Version: "R10", Scenario: sc})

	r := h.post("authentication/token", creds("password", "nope"))
	assert.Equal(t, 401, r.HTTP)
	assert.Equal(t, "COM.CRM.EXCEPTION.AUTH.WRONGPASSWORDEXCEPTION", r.Status.Code)
	assert.Equal(t, "Wrong password", *r.Status.Message)
	assert.Equal(t, "", *r.Status.Description, "an empty description is the installation's, not the mock's reason")

	r = h.post("authentication/token", creds("username", "nobody"))
	assert.Equal(t, 200, r.HTTP)
	assert.Equal(t, "COM.CRM.EXCEPTION.AUTH.USERNOTFOUNDEXCEPTION", r.Status.Code)
	assert.Equal(t, "Login failed", *r.Status.Message, "the class has no message: its code's")
	assert.Equal(t, "No such user", *r.Status.Description)

	r = h.post("authentication/token", map[string]string{"username": docUser, "organisation": docOrg})
	assert.Equal(t, "MISSING_PARAMETER", r.Status.Code)
	r = h.post("authentication/token", `{"username":`)
	assert.Equal(t, "BAD_JSON", r.Status.Code)
	r = h.get("authentication/token", nil)
	assert.Equal(t, "WRONG_VERB", r.Status.Code)
	assert.Equal(t, 405, r.HTTP)
	r = h.post("authentication/web_api_key/token", nil, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(docKey+":x")))
	assert.Equal(t, "KEY_PASSWORD", r.Status.Code)

	tok := h.login()
	r = h.use(tok[:16])
	assert.Equal(t, "TOKEN_TRUNCATED", r.Status.Code, "the start of an issued token's shape")
	assert.Equal(t, 403, r.HTTP, "the class has no status: its code's")
	r = h.use("NOT-A-TOKEN")
	assert.Equal(t, "BAD_TOKEN", r.Status.Code)
	assert.Equal(t, 403, r.HTTP)
	require.Equal(t, "OK", h.post("authentication/token/release", map[string]string{"token": tok}).Status.Code)
	assert.Equal(t, "RELEASED", h.use(tok).Status.Code)

	// the journal keeps the code as answered
	j := h.Journal()
	assert.Equal(t, "COM.CRM.EXCEPTION.AUTH.WRONGPASSWORDEXCEPTION", j[0].Code)
}

// Ensure a JWT's claim order, date type and lifetime follow the scenario's jwt key,
// and the token dies exactly at its lifetime on the fake clock (F9: 2 h by default).
func TestScenarioJWTShape(t *testing.T) {
	sc, err := ParseScenario([]byte(`
jwt: {claims_order: [jti, usr, org, oun, iat, exp], numeric_dates: true, lifetime: 1h, header: '{"alg":"HS256","typ":"JWT"}'}
organisations:
  - name: CRMDEMO
    units: [{id: EE63A82C4FEBE02FF34E90DD1EBA5ABE, oun: 0123456789abcdef0123456789ABCDEF}]
    users: [{username: mpadministrator, password: "1234"}]
`))
	require.NoError(t, err)
	h := start(t, Options{Version: "R12", Scenario: sc})
	tok := h.login()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	assert.Equal(t, `{"alg":"HS256","typ":"JWT"}`, string(header), "the scenario's header, byte for byte")
	assert.Regexp(t, regexp.MustCompile(`^\{"jti":"[0-9A-F]{32}","usr":"mpadministrator","org":"CRMDEMO","oun":"0123456789abcdef0123456789ABCDEF","iat":\d+,"exp":\d+\}$`), string(payload))
	var c struct{ Exp, Iat int64 }
	require.NoError(t, json.Unmarshal(payload, &c))
	assert.Equal(t, int64(3600), c.Exp-c.Iat)

	h.advance(time.Hour - time.Second)
	assert.Equal(t, "OK", h.use(tok).Status.Code)
	h.advance(time.Second)
	assert.Equal(t, "TOKEN_EXPIRED", h.use(tok).Status.Code, "F9: absolute, at the scenario's lifetime")
	tl := h.Tokens()
	assert.Equal(t, t0.Add(time.Hour), tl[0].ExpiresAt)
}

// Ensure opaque tokens follow the scenario's token key (F6: 32 uppercase hex by default).
func TestScenarioOpaqueTokenShape(t *testing.T) {
	sc, err := ParseScenario([]byte(`
token: {opaque_length: 40, alphabet: 0-9a-z}
organisations:
  - name: CRMDEMO
    units: [{id: U1}]
    users: [{username: mpadministrator, password: "1234"}]
`))
	require.NoError(t, err)
	h := start(t, Options{Version: "R10", Scenario: sc})
	h.offContract = true // the contract's token pattern is the default shape
	tok := h.login()
	assert.Regexp(t, `^[0-9a-z]{40}$`, tok)
	assert.Equal(t, "OK", h.use(tok).Status.Code)
	r := h.use(tok[:20])
	assert.Equal(t, "INVALID_TOKEN", r.Status.Code)
	j := h.Journal()
	assert.Equal(t, "INVALID_TOKEN", j[len(j)-1].Code)
}

// Ensure bad values of the new keys are load errors naming the line.
func TestScenarioInstallationKeysErrors(t *testing.T) {
	base := "\norganisations: [{name: O, units: [{id: U}]}]\n"
	for doc, want := range map[string]string{
		"errors:\n  wrong_passwd: {code: X}" + base:              `line 2: errors: unknown error code "wrong_passwd"`,
		"errors:\n  wrong_password:\n    http_status: 99" + base: `line 3: errors: wrong_password: http_status 99`,
		"jwt:\n  claims_order: [usr, org]" + base:                `line 2: jwt: claims_order [usr org]: want each of`,
		"jwt:\n  lifetime: 1.5s" + base:                          `line 2: jwt: lifetime 1.5s: want whole seconds`,
		"jwt:\n  lifetime: soon" + base:                          `line 2: "soon": want a duration`,
		"jwt:\n  header: '{\"alg\":\"none\"}'" + base:            `line 2: jwt: header`,
		"token:\n  alphabet: z-a" + base:                         `line 2: token: alphabet "z-a"`,
		"token:\n  opaque_length: 4" + base:                      `line 2: token: opaque_length 4: want 8 to 512`,
	} {
		_, err := ParseScenario([]byte(doc))
		if assert.Error(t, err, doc) {
			assert.Contains(t, err.Error(), want, doc)
		}
	}
}

// Ensure a scenario file's ${VAR} and ${VAR:-default} are expanded at load, and an
// unset variable without default is a load error naming the line.
func TestScenarioEnvExpansion(t *testing.T) {
	doc := []byte(`organisations:
  - name: ${ORG:-CRMDEMO}
    units: [{id: U1}]
    users: [{username: u, password: "${CRM_PASSWORD}"}]
`)
	env := map[string]string{"CRM_PASSWORD": "s3cret"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	sc, err := ParseScenarioEnv(doc, lookup)
	require.NoError(t, err)
	assert.Equal(t, "CRMDEMO", sc.Organisations[0].Name)
	assert.Equal(t, "s3cret", sc.Organisations[0].Users[0].Password)

	_, err = ParseScenarioEnv(doc, func(string) (string, bool) { return "", false })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 4: ${CRM_PASSWORD} is not set")

	sc, err = ParseScenario(doc) // the control API's path: never expanded
	require.NoError(t, err)
	assert.Equal(t, "${CRM_PASSWORD}", sc.Organisations[0].Users[0].Password)
}

// Ensure {method} in a class's description names the method asked (F7, F8: neither key
// tokens nor release exist before R10), so one entry imitates both answers.
func TestScenarioDescriptionNamesMethod(t *testing.T) {
	sc, err := ParseScenario([]byte(`
errors:
  method_not_available: {code: COM.CRM.EXCEPTION.METHODNOTFOUNDEXCEPTION, description: "No such method: {method}"}
organisations: [{name: CRMDEMO, units: [{id: U1}], users: [{username: u, password: p}]}]
`))
	require.NoError(t, err)
	h := start(t, Options{Version: "R9", Scenario: sc})
	r := h.post("authentication/web_api_key/token", nil, "Authorization", basic(docKey))
	assert.Equal(t, 404, r.HTTP)
	assert.Equal(t, "COM.CRM.EXCEPTION.METHODNOTFOUNDEXCEPTION", r.Status.Code)
	assert.Equal(t, "No such method: authentication/web_api_key/token", *r.Status.Description)
	r = h.post("authentication/token/release", map[string]string{"token": "X"})
	assert.Equal(t, "No such method: authentication/token/release", *r.Status.Description)
}

// Ensure a fault's HTTP status is its own, whatever the scenario's errors say.
func TestScenarioErrorsLeaveFaultStatus(t *testing.T) {
	sc, err := ParseScenario([]byte(`
errors:
  INTERNAL_ERROR: {http_status: 503}
organisations: [{name: CRMDEMO, units: [{id: U1}], users: [{username: mpadministrator, password: "1234"}]}]
`))
	require.NoError(t, err)
	h := start(t, Options{Version: "R12", Scenario: sc})
	h.addFault(`{"operation":"authentication/token","answer":{"code":"INTERNAL_ERROR","http_status":502}}`)
	r := h.post("authentication/token", creds())
	assert.Equal(t, "INTERNAL_ERROR", r.Status.Code)
	assert.Equal(t, 502, r.HTTP)
}

const limitsOrg = "organisations:\n  - name: O\n    units: [{id: U}]\n    users: [{username: u, password: p}]\n"

// aliasBomb is the scenario: methods[].data aliases a string of kib KiB 100×,
// and that list 100× (11 KiB of YAML for kib=10, about 100 MB once expanded).
func aliasBomb(kib int) string {
	refs := func(name string) string {
		r := make([]string, 100)
		for i := range r {
			r[i] = "*" + name
		}
		return "[" + strings.Join(r, ",") + "]"
	}
	return limitsOrg + "methods:\n  - method: GET\n    path: a/b\n    data:\n" +
		"      - &s " + strings.Repeat("a", kib<<10) + "\n" +
		"      - &l " + refs("s") + "\n" +
		"      - " + refs("l") + "\n"
}

// keyBomb is a scenario whose one method answers an object of n keys.
func keyBomb(n int) string {
	var b strings.Builder
	b.WriteString(limitsOrg + "methods:\n  - method: GET\n    path: a/b\n    data: {")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "k%d: %d", i, i)
	}
	b.WriteString("}\n")
	return b.String()
}

// Ensure a scenario whose aliases expand past the limit is refused before it is
// expanded, naming the limit and the line (issue 8, item 1).
func TestScenarioAliasBomb(t *testing.T) {
	for _, kib := range []int{10, 49, 109} {
		t.Run(fmt.Sprintf("%dKiB", kib), func(t *testing.T) {
			_, err := ParseScenario([]byte(aliasBomb(kib)))
			require.Error(t, err)
			assert.Regexp(t, `^line 1[01]: `, err.Error())
			assert.Contains(t, err.Error(), fmt.Sprintf("more than %d bytes", MaxExpandedSize))
		})
	}
}

// Ensure aliases within the limit still load, each expanded where it is referenced.
func TestScenarioAliasesWithinLimit(t *testing.T) {
	sc, err := ParseScenario([]byte(limitsOrg + "methods:\n  - method: GET\n    path: a/b\n    data: {x: &x [1, 2], y: *x}\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"x": []any{1, 2}, "y": []any{1, 2}}, sc.Methods[0].Data)
	_, err = ParseScenario([]byte(limitsOrg + "methods:\n  - method: GET\n    path: a/b\n    data: &d [1, *d]\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 8:")
	assert.Contains(t, err.Error(), "contains itself")
}

// Ensure a mapping too large for yaml.v3's pairwise duplicate-key check is refused
// before decoding, naming the limit (issue 8, item 2), and a large one within it loads.
func TestScenarioKeyBomb(t *testing.T) {
	_, err := ParseScenario([]byte(keyBomb(MaxMappingKeys + 1)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 8:")
	assert.Contains(t, err.Error(), fmt.Sprintf("at most %d keys", MaxMappingKeys))

	sc, err := ParseScenario([]byte(keyBomb(MaxMappingKeys)))
	require.NoError(t, err)
	assert.Len(t, sc.Methods[0].Data, MaxMappingKeys)

	// Many mid-sized mappings: each within the limit, together over it.
	var b strings.Builder
	b.WriteString(limitsOrg + "methods:\n  - method: GET\n    path: a/b\n    data:\n      - &m {")
	for i := range MaxMappingKeys / 2 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "k%d: 0", i)
	}
	b.WriteString("}\n      - [*m, *m, *m, *m, *m, *m, *m, *m, *m, *m]\n")
	_, err = ParseScenario([]byte(b.String()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "key pairs")
}

// Ensure the control API answers a bomb with 400 naming the limit, and the scenario in
// force stays (issue 8, items 1 and 2).
func TestControlScenarioBombs(t *testing.T) {
	h := startVersion(t, "R10")
	for name, body := range map[string]string{"aliases": aliasBomb(10), "keys": keyBomb(4 * MaxMappingKeys)} {
		st, v := h.admin("PUT", "/__admin/scenario", body)
		assert.Equal(t, 400, st, name)
		assert.Contains(t, v["error"], "at most", name)
		assert.Equal(t, "OK", h.post("authentication/token", creds()).Status.Code, "%s: the scenario in force stays", name)
	}
}

// Ensure a scenario with thousands of mistakes is answered with the first ones in
// document order and a count of the rest: 20 000 unknown keys made a 634 KB error
// body (and a 634 KB line from --scenario), larger than the mistakes were to write.
func TestControlScenarioManyErrorsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("organisations:\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "  - {name: O%d, units: [{id: U, zz: 1}]}\n", i)
	}
	h := startVersion(t, "R10")
	st, v := h.admin("PUT", "/__admin/scenario", b.String())
	require.Equal(t, 400, st)
	msg, _ := v["error"].(string)
	assert.Less(t, len(msg), 1024, "%.300s", msg)
	assert.Contains(t, msg, `line 2: unknown key "zz"; line 3: unknown key "zz"`, "the first ones, in document order")
	assert.True(t, strings.HasSuffix(msg, "; and 19990 more"), "the rest counted: %.300s", msg)
	assert.Equal(t, "OK", h.post("authentication/token", creds()).Status.Code, "the scenario in force stays")
}

// Ensure a scenario's errors: section is checked in document order, so the same
// document always names the same first mistake: the section was checked in Go map
// order, so of many bad codes each load named another one, at another line.
func TestScenarioErrorsSectionInDocumentOrder(t *testing.T) {
	var b strings.Builder
	b.WriteString(limitsOrg + "errors:\n  INVALID_TOKEN: {code: X}\n")
	for i := range 200 {
		fmt.Fprintf(&b, "  NOT_A_CODE_%d: {code: X}\n", i)
	}
	doc := []byte(b.String())
	for range 20 {
		_, err := ParseScenario(doc)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `errors: unknown error code "NOT_A_CODE_0"`)
	}
}

// Ensure a scenario body over MaxScenarioSize is refused whole, over HTTP (413) and
// from Go, naming the limit: yaml.v3 parses dense YAML at about 3 MB/s here, so a
// larger body could not be answered in well under a second (issue 8, item 2).
func TestScenarioBodyLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("organisations:\n  - name: O\n    units: [{id: U}]\n    users:\n")
	for i := 0; b.Len() <= MaxScenarioSize; i++ {
		fmt.Fprintf(&b, "      - {username: user%d, password: pw%d}\n", i, i)
	}
	_, err := ParseScenario([]byte(b.String()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("at most %d bytes", MaxScenarioSize))

	h := startVersion(t, "R10")
	st, v := h.admin("PUT", "/__admin/scenario", b.String())
	assert.Equal(t, 413, st)
	assert.Contains(t, v["error"], fmt.Sprintf("at most %d bytes", MaxScenarioSize))
	assert.Equal(t, "OK", h.post("authentication/token", creds()).Status.Code, "the scenario in force stays")
}

// Ensure a small document whose aliases expand to many small nodes is refused before
// decoding (the decoder's work grows with the expanded nodes).
func TestScenarioExpandedNodes(t *testing.T) {
	zeros := strings.TrimSuffix(strings.Repeat("0,", 1000), ",")
	refs := func(name string, n int) string { return strings.TrimSuffix(strings.Repeat("*"+name+",", n), ",") }
	doc := limitsOrg + "methods:\n  - method: GET\n    path: a/b\n    data:\n" +
		"      - &a [" + zeros + "]\n      - &b [" + refs("a", 100) + "]\n      - [" + refs("b", 15) + "]\n"
	_, err := ParseScenario([]byte(doc))
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("more than %d bytes", MaxExpandedSize))
}

// Ensure a scenario PUT whose client has already gone is not installed: a client that
// did not get the success answer never finds the new scenario in force (issue 8, item 2).
func TestControlScenarioCancelled(t *testing.T) {
	m, err := New(Options{Version: "R10", Start: t0})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPut, "/__admin/scenario", strings.NewReader(limitsOrg))
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, req)
	assert.NotEqual(t, 200, rec.Code, "%s", rec.Body)
	assert.Equal(t, docOrg, m.Scenario().Organisations[0].Name, "the scenario in force stays")
}

// knownFieldsErr decodes as DecodeStrict did before it parsed once: yaml.v3's own
// Decoder with KnownFields.
func knownFieldsErr(data []byte) error {
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Ensure DecodeStrict, which parses once, refuses exactly the unknown keys yaml.v3's
// KnownFields decoder refuses: nested, in lists, through aliases and merge keys.
func TestDecodeStrictUnknownKeys(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"organisations: [{name: A, units: [{id: U, bogus: 1}]}]\n", `line 1: unknown key "bogus"`},
		{"organisations:\n  - name: A\n    units: [{id: U}]\n    users: [{username: u, pasword: p}]\n", `line 4: unknown key "pasword"`},
		{"u: &u {id: U, nope: 1}\norganisations: [{name: A, units: [*u]}]\n", `line 1: unknown key "u"; line 1: unknown key "nope"`},
		{"organisations:\n  - name: A\n    units:\n      - &u {id: U}\n      - {<<: *u, oun: \"2\", extra: x}\n", `line 5: unknown key "extra"`},
		{"organisations:\n  - name: A\n    units:\n      - &u {id: U, zz: 1}\n      - {<<: *u, oun: \"2\"}\n", `line 4: unknown key "zz"`},
		{"errors: {INVALID_TOKEN: {code: X, mesage: y}}\norganisations: [{name: A, units: [{id: U}]}]\n", `line 1: unknown key "mesage"`},
		{"methods: [{method: GET, path: a/b, data: {anything: [1, {goes: here}]}}]\norganisations: [{name: A, units: [{id: U}]}]\n", ""},
		{"organisations: [{name: A, units: [{id: U}], users: [{username: u, password: 1234}]}]\n", ""},
		{"organisations: [{name: A, units: 5, bogus: 1}]\n", `line 1: unknown key "bogus"`},
	}
	for _, c := range cases {
		var sc Scenario
		_, err := yamlscenario.DecodeStrict([]byte(c.yaml), &sc)
		old := knownFieldsErr([]byte(c.yaml))
		if c.want == "" {
			assert.NoError(t, err, c.yaml)
			assert.NoError(t, old, c.yaml)
			continue
		}
		if assert.Error(t, err, c.yaml) {
			assert.Contains(t, err.Error(), c.want, c.yaml)
		}
		assert.Error(t, old, "yaml.v3 agrees: %s", c.yaml)
	}
}

// worstAccepted is the costliest scenario the limits let through: one mapping of
// MaxMappingKeys keys and the rest of MaxScenarioSize filled with the densest YAML
// (a flow list of zeros: a node every 2 bytes).
func worstAccepted() string {
	var b strings.Builder
	b.WriteString(limitsOrg + "methods:\n  - method: GET\n    path: a/b\n    data: [{")
	for i := range MaxMappingKeys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "k%d: %d", i, i)
	}
	b.WriteString("}, [0")
	for b.Len()+5 < MaxScenarioSize {
		b.WriteString(",0")
	}
	b.WriteString("]]\n")
	return b.String()
}

// BenchmarkParseScenarioLimits: what the bombs of issue 8 cost now (refused), and the
// worst accepted scenario (issue 8, items 1, 2).
func BenchmarkParseScenarioLimits(b *testing.B) {
	for _, c := range []struct {
		name, doc string
		ok        bool
	}{
		{"alias-bomb-11KiB", aliasBomb(10), false},
		{"alias-bomb-50KiB", aliasBomb(49), false},
		{"alias-bomb-110KiB", aliasBomb(109), false},
		{"keys-50000", keyBomb(50000), false},
		{"worst-accepted-1MiB", worstAccepted(), true},
	} {
		data := []byte(c.doc)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := ParseScenario(data); (err == nil) != c.ok {
					b.Fatalf("accepted=%v: %v", err == nil, err)
				}
			}
		})
	}
}

// Ensure the built-in scenario the mock starts on (default_scenario_gen.go) is
// scenarios/default.yaml as ParseScenario reads it, field by field, and compiles.
func TestDefaultScenarioLiteralIsTheYAML(t *testing.T) {
	parsed, err := ParseScenario(crmmock.DefaultScenario)
	require.NoError(t, err)
	require.Equal(t, parsed, DefaultScenario())
	_, err = compile(DefaultScenario(), nil)
	require.NoError(t, err)
	assert.NotSame(t, defaultScenarioLiteral(), defaultScenarioLiteral(), "each call builds its own")
}
