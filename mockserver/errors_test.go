package mockserver

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure login errors answer HTTP 200 (F4) with the catalogue code and a description
// naming the field.
func TestLoginErrors(t *testing.T) {
	h := startVersion(t, "R10")
	cases := []struct {
		name  string
		body  any
		code  string
		field string
	}{
		{"unknown user", creds("username", "nobody"), "INVALID_CREDENTIALS", "username"},
		{"wrong password", creds("password", "4321"), "INVALID_CREDENTIALS", "password"},
		{"unknown organisation", creds("organisation", "NOPE"), "INVALID_ORGANISATION", "organisation"},
		{"unknown unit", creds("unit", "NOPE"), "INVALID_UNIT", "unit"},
		{"unit the user may not use", map[string]any{"username": "branchuser", "password": "5678", "organisation": docOrg, "unit": docUnit}, "INVALID_UNIT", "unit"},
		{"missing password (F2: mandatory)", map[string]any{"username": docUser, "organisation": docOrg}, "INVALID_REQUEST", "password"},
		{"missing organisation (F2)", map[string]any{"username": docUser, "password": docPass}, "INVALID_REQUEST", "organisation"},
		{"F14 spelling organization is not organisation", map[string]any{"username": docUser, "password": docPass, "organization": docOrg}, "INVALID_REQUEST", "organisation"},
		{"wrong type", map[string]any{"username": 5, "password": docPass, "organisation": docOrg}, "INVALID_REQUEST", "username"},
		{"not JSON", `{"username":`, "INVALID_REQUEST", "request body"},
		{"empty body", ``, "INVALID_REQUEST", "request body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.post("authentication/token", c.body)
			assert.Equal(t, http.StatusOK, r.HTTP, "F4: errors answer HTTP 200")
			assert.Equal(t, c.code, r.Status.Code, "%s", r.Raw)
			require.NotNil(t, r.Status.Description)
			assert.Contains(t, *r.Status.Description, c.field)
			require.NotNil(t, r.Status.Message)
			assert.NotEmpty(t, *r.Status.Message, "a human message")
			assert.Equal(t, "null", string(r.Data))
		})
	}
	assert.Empty(t, h.Tokens(), "no error issued a token")
}

// Ensure the user's default unit is used without unit, and an allowed unit by id or name (F2).
func TestLoginUnits(t *testing.T) {
	h := startVersion(t, "R12")
	var claims map[string]any
	decodeSegment(t, strings.Split(h.login(), ".")[1], &claims)
	assert.Equal(t, "1", claims["oun"])

	r := h.post("authentication/token", map[string]any{"username": "branchuser", "password": "5678", "organisation": docOrg})
	require.Equal(t, "OK", r.Status.Code, "%s", r.Raw)
	decodeSegment(t, strings.Split(r.token(t), ".")[1], &claims)
	assert.Equal(t, "2", claims["oun"], "branchuser's default unit")

	r = h.post("authentication/token", creds("unit", "Branch"))
	require.Equal(t, "OK", r.Status.Code, "%s", r.Raw)
	info, _ := h.Token(r.token(t))
	assert.Equal(t, "2B0E7A8C1D6F4E3A9B5C7D8E9F0A1B2C", info.Unit)
}

// Ensure bad Basic credentials answer INVALID_WEB_API_KEY naming Authorization (F7).
func TestWebAPIKeyErrors(t *testing.T) {
	h := startVersion(t, "R10")
	b64 := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	for name, auth := range map[string]string{
		"missing":               "",
		"not basic":             "Bearer " + docKey,
		"not base64":            "Basic %%%",
		"unknown key, no colon": b64("00000000000000000000000000000000"), // F20: without the colon it is still the key
		"empty key":             b64(":"),
		"non-empty password":    b64(docKey + ":secret"),
		"unknown key":           basic("00000000000000000000000000000000"),
	} {
		t.Run(name, func(t *testing.T) {
			r := h.post("authentication/web_api_key/token", nil, "Authorization", auth)
			assert.Equal(t, "INVALID_WEB_API_KEY", r.Status.Code, "%s", r.Raw)
			assert.Contains(t, *r.Status.Description, "Authorization")
		})
	}
	r := h.post("authentication/web_api_key/token", map[string]string{"unit": "NOPE"}, "Authorization", basic(docKey))
	assert.Equal(t, "INVALID_UNIT", r.Status.Code)
	r = h.post("authentication/web_api_key/token", map[string]string{"unit": docUnit}, "Authorization", basic(docKey))
	assert.Equal(t, "OK", r.Status.Code, "%s", r.Raw)
	assert.Empty(t, h.Journal()[0].Violations, "a missing key is the handler's error, not a contract violation")
	require.Len(t, h.Tokens(), 1)
	assert.Equal(t, KindKey, h.Tokens()[0].Kind)
}

// Ensure forged, altered and unknown tokens are INVALID_TOKEN on every method (F10).
func TestInvalidTokens(t *testing.T) {
	h := start(t, Options{Version: "R12", JWTSecret: []byte("the-secret")})
	good := h.login()
	parts := strings.Split(good, ".")
	var claims jwt.MapClaims
	decodeSegment(t, parts[1], &claims)

	sign := func(method jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, c).SignedString(key)
		require.NoError(t, err)
		return s
	}
	edited := jwt.MapClaims{}
	for k, v := range claims {
		edited[k] = v
	}
	edited["usr"] = "someoneelse"
	noneTok := sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"usr":"x"}`)) + "." + parts[2]
	badSig := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))

	cases := map[string]struct{ token, desc string }{
		"unknown opaque":                 {"4AD9C84FA60F9FE407140E20F707726A", "no such token"},
		"garbage":                        {"not-a-token", "no such token"},
		"tampered payload":               {tampered, "signature"},
		"bad signature":                  {badSig, "signature"},
		"alg none":                       {noneTok, "HS256"},
		"HS512":                          {sign(jwt.SigningMethodHS512, []byte("the-secret"), claims), "HS256"},
		"wrong secret":                   {sign(jwt.SigningMethodHS256, []byte("another"), claims), "signature"},
		"right secret, never issued":     {sign(jwt.SigningMethodHS256, []byte("the-secret"), edited), "no such token"},
		"right secret, claims malformed": {sign(jwt.SigningMethodHS256, []byte("the-secret"), jwt.MapClaims{"usr": "x"}), "claim"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			for _, r := range []reply{
				h.use(c.token),
				h.post("contact_information/update", map[string]string{"token": c.token}),
				h.post("authentication/token/release", map[string]string{"token": c.token}),
			} {
				assert.Equal(t, "INVALID_TOKEN", r.Status.Code, "%s", r.Raw)
				assert.Contains(t, *r.Status.Description, c.desc)
			}
		})
	}
	assert.Equal(t, "OK", h.code(h.use(good)), "the real token is unharmed")
	info, _ := h.Token(good)
	assert.Equal(t, StateLive, info.State)
}

// Ensure other Web API methods take the token from the query on GET and the body on
// POST (F5), answer the scenario's data or {}, and need a token.
func TestOtherMethods(t *testing.T) {
	h := startVersion(t, "R11")
	tok := h.login()
	r := h.get("contact_information/show", url.Values{"token": {tok}})
	assert.Equal(t, "OK", r.Status.Code)
	assert.JSONEq(t, `{"id":"C1","number":"CI000111"}`, string(r.Data))

	r = h.post("contacts/list", map[string]any{"token": tok, "page": 1})
	assert.Equal(t, "OK", r.Status.Code, "%s", r.Raw)
	assert.Equal(t, "{}", string(r.Data), "no scenario entry: data {}")

	r = h.get("contacts/list", nil)
	assert.Equal(t, "INVALID_REQUEST", r.Status.Code)
	assert.Contains(t, *r.Status.Description, `"token"`)

	r = h.post("contacts/list", map[string]any{"page": 1})
	assert.Equal(t, "INVALID_REQUEST", r.Status.Code)
	assert.Contains(t, *r.Status.Description, "token")

	// F5: no header is used — a token in a header is not a token
	req, _ := http.NewRequest(http.MethodGet, h.APIURL("contacts/list")+"?token=", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	assert.Equal(t, "INVALID_REQUEST", h.do(req).Status.Code)

	// F1: only the base path answers
	req, _ = http.NewRequest(http.MethodGet, h.URL+"/crmapi/rest/v3/contacts/list?token="+tok, nil)
	r = h.do(req)
	assert.Equal(t, http.StatusNotFound, r.HTTP)
	assert.Equal(t, "INVALID_REQUEST", r.Status.Code)
}

// Ensure --error-status mapped answers 4xx/5xx, METHOD_NOT_AVAILABLE stays 404 in both.
func TestMappedErrorStatus(t *testing.T) {
	h := start(t, Options{Version: "R9", MappedErrors: true})
	cases := []struct {
		r    reply
		http int
		code string
	}{
		{h.post("authentication/token", creds("password", "x")), 401, "INVALID_CREDENTIALS"},
		{h.post("authentication/token", creds("unit", "NOPE")), 403, "INVALID_UNIT"},
		{h.post("authentication/token", map[string]string{}), 400, "INVALID_REQUEST"},
		{h.post("authentication/token", creds(), "Content-Type", "text/plain"), 415, "INVALID_REQUEST"},
		{h.use("4AD9C84FA60F9FE407140E20F707726A"), 401, "INVALID_TOKEN"},
		{h.post("authentication/web_api_key/token", nil), 404, "METHOD_NOT_AVAILABLE"},
		{h.post("authentication/token", strings.Repeat(" ", DefaultBodyLimit+1)), 413, "REQUEST_TOO_LARGE"},
	}
	for _, c := range cases {
		assert.Equal(t, c.http, c.r.HTTP, "%s", c.r.Raw)
		assert.Equal(t, c.code, c.r.Status.Code)
	}
	ok := h.post("authentication/token", creds())
	assert.Equal(t, 200, ok.HTTP)
}

// Ensure a scenario may override code and message per error, and inject a fault.
func TestScenarioErrorOverrides(t *testing.T) {
	sc, err := ParseScenario([]byte(`
errors:
  INVALID_CREDENTIALS: {code: AUTH_FAILED, message: "Wrong username or password"}
  TOKEN_EXPIRED: {message: "Session expired"}
organisations:
  - name: CRMDEMO
    units: [{id: U1}]
    users: [{username: u, password: p}]
methods:
  - {method: POST, path: payments/create, error: INTERNAL_ERROR}
`))
	require.NoError(t, err)
	h := start(t, Options{Version: "R10", Scenario: sc})
	r := h.post("authentication/token", map[string]string{"username": "u", "password": "nope", "organisation": "CRMDEMO"})
	assert.Equal(t, "AUTH_FAILED", r.Status.Code)
	assert.Equal(t, "Wrong username or password", *r.Status.Message)

	r = h.post("authentication/token", map[string]string{"username": "u", "password": "p", "organisation": "CRMDEMO"})
	tok := r.token(t)
	h.advance(time.Hour)
	r = h.use(tok)
	assert.Equal(t, "TOKEN_EXPIRED", r.Status.Code)
	assert.Equal(t, "Session expired", *r.Status.Message)

	tok = h.post("authentication/token", map[string]string{"username": "u", "password": "p", "organisation": "CRMDEMO"}).token(t)
	r = h.post("payments/create", map[string]string{"token": tok})
	assert.Equal(t, "INTERNAL_ERROR", r.Status.Code)
	assert.Equal(t, 200, r.HTTP)
}

// Ensure contract violations are journaled and listed, with the validator's reason.
func TestViolationsJournal(t *testing.T) {
	h := startVersion(t, "R12")
	h.login()
	h.post("authentication/token", map[string]string{"username": docUser})
	h.post("authentication/token", creds(), "Content-Type", "")
	h.get("contact_information/show", nil)

	j := h.Journal()
	require.Len(t, j, 4)
	assert.Equal(t, "OK", j[0].Code)
	assert.Equal(t, t0, j[0].Time, "journal time is the mock clock")
	assert.Equal(t, "/crmapi/rest/v2/authentication/token", j[0].Path)
	assert.Empty(t, j[0].Violations)

	v := h.Violations()
	require.Len(t, v, 3)
	assert.Contains(t, v[0].Violations[0], `"password"`)
	assert.Contains(t, v[1].Violations[0], "Content-Type")
	assert.Contains(t, v[2].Violations[0], `"token"`)
	for _, e := range v {
		assert.Equal(t, "INVALID_REQUEST", e.Code)
	}

	h.ClearJournal()
	assert.Empty(t, h.Journal())
}

// Ensure scenario contract: {lenient_content_type: true} accepts a body without Content-Type.
func TestLenientContentType(t *testing.T) {
	sc := *DefaultScenario()
	sc.Contract.LenientContentType = true
	h := start(t, Options{Scenario: &sc})
	r := h.post("authentication/token", creds(), "Content-Type", "")
	assert.Equal(t, "OK", r.Status.Code, "%s", r.Raw)
	r = h.post("authentication/token", creds(), "Content-Type", "text/plain")
	assert.Equal(t, "INVALID_REQUEST", r.Status.Code, "a wrong type is still wrong")
}

// Ensure the mock never changes the request it is handed (an in-process caller still
// holds it): easing a loose or missing Content-Type, and the validator's re-read of a
// body it refuses, work on copies.
func TestHandlerLeavesTheCallersRequestAlone(t *testing.T) {
	sc := *DefaultScenario()
	sc.Contract.LenientContentType = true
	m, err := New(Options{Scenario: &sc, Start: t0})
	require.NoError(t, err)
	for _, c := range []struct{ contentType, body, code string }{
		{"", string(loginBody), "OK"},
		{"Application/JSON; charset=UTF-8", string(loginBody), "OK"},
		{"application/json", `{"username":1}`, "INVALID_REQUEST"},
	} {
		r := httptest.NewRequest(http.MethodPost, docBasePath+"/authentication/token", strings.NewReader(c.body))
		if c.contentType != "" {
			r.Header.Set("Content-Type", c.contentType)
		}
		header, body, url := r.Header.Clone(), r.Body, *r.URL
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		require.Contains(t, w.Body.String(), `"code":"`+c.code+`"`, "%q", c.contentType)
		assert.Equal(t, header, r.Header, "%q: headers changed", c.contentType)
		assert.True(t, body == r.Body, "%q: body replaced", c.contentType)
		assert.Equal(t, url, *r.URL, "%q: URL changed", c.contentType)
	}
}

// Ensure contract: {organization_spelling: true} accepts F14's early spelling.
func TestOrganizationSpelling(t *testing.T) {
	sc := *DefaultScenario()
	sc.Contract.OrganizationSpelling = true
	h := start(t, Options{Scenario: &sc})
	r := h.post("authentication/token", map[string]string{"username": docUser, "password": docPass, "organization": docOrg})
	assert.Equal(t, "OK", r.Status.Code, "%s", r.Raw)
	r = h.post("authentication/token", map[string]string{"username": docUser, "password": docPass, "organization": "NOPE"})
	assert.Equal(t, "INVALID_ORGANISATION", r.Status.Code)
}

// Ensure the body limit answers REQUEST_TOO_LARGE and state is untouched.
func TestBodyLimit(t *testing.T) {
	h := start(t, Options{BodyLimit: 100})
	r := h.post("authentication/token", map[string]string{"username": strings.Repeat("a", 200), "password": "x", "organisation": "y"})
	assert.Equal(t, "REQUEST_TOO_LARGE", r.Status.Code)
	assert.Contains(t, *r.Status.Description, "100 bytes")
	assert.Equal(t, "OK", h.post("authentication/token", creds()).Status.Code)
}

// readmeErrorRows reads the "Error codes" table of docs/web-api.md: code → {when, mapped HTTP}.
func readmeErrorRows(t *testing.T) map[string][2]string {
	t.Helper()
	raw, err := os.ReadFile("../docs/web-api.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(raw), "\n## Error codes\n")
	require.True(t, ok, "docs/web-api.md has no Error codes section")
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string][2]string{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") || strings.HasPrefix(line, "| `status.code`") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		require.Len(t, cells, 3, "row %q", line)
		rows[strings.Trim(strings.TrimSpace(cells[0]), "`")] = [2]string{cells[1], cells[2]}
	}
	return rows
}

// Ensure every row of the error-code table of docs/web-api.md is true of the server: for each
// reason a row gives, a request for that reason gets the row's code and, under
// --error-status mapped, its HTTP status; every catalogue code has its row. A missing
// token is INVALID_REQUEST (the contract requires it, F5), not INVALID_TOKEN.
func TestReadmeErrorTableIsTrue(t *testing.T) {
	rows := readmeErrorRows(t)
	var codes []string
	for _, c := range Codes() {
		codes = append(codes, string(c))
	}
	var documented []string
	for c := range rows {
		documented = append(documented, c)
	}
	assert.ElementsMatch(t, codes, documented, "the table of docs/web-api.md lists the catalogue's codes")

	sc := *DefaultScenario()
	sc.Organisations = append(slices.Clone(sc.Organisations), Organisation{Name: "ACME",
		Units: []Unit{{ID: "ACME1", Name: "Acme"}}, Users: []User{{Username: "acmeuser", Password: "9", DefaultUnit: "ACME1"}}})
	h := start(t, Options{Version: "R10", MappedErrors: true, BodyLimit: 1 << 10, Scenario: &sc})
	tok := h.login()
	released := h.login()
	require.Equal(t, "OK", h.post("authentication/token/release", map[string]string{"token": released}).Status.Code)
	useWith := func(tok string) func() reply { return func() reply { return h.use(tok) } }
	cases := []struct {
		code, phrase string // the row, and the reason it must give
		http         int    // under --error-status mapped
		send         func() reply
	}{
		{"INVALID_REQUEST", "missing mandatory field", 400, func() reply {
			return h.post("authentication/token", map[string]string{"username": docUser, "organisation": docOrg})
		}},
		{"INVALID_REQUEST", "a missing `token`", 400, func() reply { return h.get("contact_information/show", nil) }},
		{"INVALID_REQUEST", "a missing `token`", 400, func() reply { return h.post("contact_information/show", map[string]any{}) }},
		{"INVALID_REQUEST", "a missing `token`", 400, func() reply { return h.post("authentication/token/release", map[string]any{}) }},
		{"INVALID_REQUEST", "wrong type", 400, func() reply { return h.post("authentication/token", creds("unit", "x", "username", "")) }},
		{"INVALID_REQUEST", "bad JSON", 400, func() reply { return h.post("authentication/token", `{"username":`) }},
		{"INVALID_REQUEST", "`Content-Type`", 415, func() reply {
			return h.post("authentication/token", creds(), "Content-Type", "text/plain")
		}},
		{"INVALID_REQUEST", "unknown path (always 404)", 404, func() reply { return h.get("nothing", url.Values{"token": {tok}}) }},
		{"INVALID_REQUEST", "method (always 405, with `Allow`)", 405, func() reply {
			req, err := http.NewRequest(http.MethodDelete, h.APIURL("authentication/token"), nil)
			require.NoError(t, err)
			r := h.do(req)
			assert.Equal(t, "POST", r.Header.Get("Allow"))
			return r
		}},
		{"INVALID_CREDENTIALS", "unknown user", 401, func() reply { return h.post("authentication/token", creds("username", "nobody")) }},
		{"INVALID_CREDENTIALS", "wrong password", 401, func() reply { return h.post("authentication/token", creds("password", "0000")) }},
		{"INVALID_CREDENTIALS", "user not in that organisation", 401, func() reply {
			return h.post("authentication/token", map[string]any{"username": "branchuser", "password": "5678", "organisation": "ACME"})
		}},
		{"INVALID_ORGANISATION", "unknown organisation", 401, func() reply { return h.post("authentication/token", creds("organisation", "NOPE")) }},
		{"INVALID_UNIT", "unknown unit", 403, func() reply { return h.post("authentication/token", creds("unit", "NOPE")) }},
		{"INVALID_UNIT", "may not use", 403, func() reply {
			return h.post("authentication/token", map[string]any{"username": "branchuser", "password": "5678", "organisation": docOrg, "unit": docUnit})
		}},
		{"INVALID_WEB_API_KEY", "missing", 401, func() reply { return h.post("authentication/web_api_key/token", nil) }},
		{"INVALID_WEB_API_KEY", "malformed", 401, func() reply {
			return h.post("authentication/web_api_key/token", nil, "Authorization", "Basic !!")
		}},
		{"INVALID_WEB_API_KEY", "unknown Basic key", 401, func() reply {
			return h.post("authentication/web_api_key/token", nil, "Authorization", basic("0000"))
		}},
		{"INVALID_WEB_API_KEY", "non-empty Basic password", 401, func() reply {
			return h.post("authentication/web_api_key/token", nil, "Authorization", basic(docKey+":x"))
		}},
		{"INVALID_TOKEN", "unknown", 401, useWith("00000000000000000000000000000000")},
		{"INVALID_TOKEN", "malformed", 401, useWith("not-a-token")},
		{"INVALID_TOKEN", "forged", 401, useWith("eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.e30.c2ln")},
		{"TOKEN_EXPIRED", "idle", 401, func() reply {
			idle := h.login()
			h.advance(time.Hour)
			return h.use(idle)
		}},
		{"TOKEN_RELEASED", "released", 401, useWith(released)},
		{"METHOD_NOT_AVAILABLE", "does not exist in the emulated release", 404, func() reply {
			_, err := h.SetVersion("R9")
			require.NoError(t, err)
			defer func() { _, _ = h.SetVersion("R10") }()
			return h.post("authentication/web_api_key/token", nil, "Authorization", basic(docKey))
		}},
		{"REQUEST_TOO_LARGE", "over `--body-limit`", 413, func() reply {
			return h.post("authentication/token", creds("unit", strings.Repeat("x", 2<<10)))
		}},
		{"INTERNAL_ERROR", "an injected fault", 500, func() reply {
			_, err := h.AddFault(FaultSpec{Operation: "contact_information/show"})
			require.NoError(t, err)
			return h.use(tok)
		}},
	}
	checked := map[string]bool{}
	for _, c := range cases {
		row, ok := rows[c.code]
		if !assert.True(t, ok, "docs/web-api.md has no row for %s", c.code) {
			continue
		}
		checked[c.code] = true
		assert.Contains(t, row[0], c.phrase, "docs/web-api.md row %s", c.code)
		assert.Contains(t, row[1], strconv.Itoa(c.http), "docs/web-api.md row %s: mapped HTTP", c.code)
		r := c.send()
		assert.Equal(t, c.code, r.Status.Code, "%s (%s): %s", c.code, c.phrase, r.Raw)
		assert.Equal(t, c.http, r.HTTP, "%s (%s): %s", c.code, c.phrase, r.Raw)
	}
	for _, c := range codes {
		assert.True(t, checked[c], "no request checks the row %s of docs/web-api.md", c)
	}
	// The token rows name no reason that is answered otherwise.
	assert.False(t, slices.ContainsFunc(strings.Split(rows["INVALID_TOKEN"][0], ","), func(s string) bool {
		return strings.HasPrefix(strings.TrimSpace(s), "missing")
	}), "INVALID_TOKEN row %q lists a missing token, which is INVALID_REQUEST", rows["INVALID_TOKEN"][0])
}
