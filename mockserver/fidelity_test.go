package mockserver

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// claimOrder lists the keys of a JSON object in the order its bytes carry them.
func claimOrder(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok, "%s", raw)
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

// F21: a real R12 token carries its claims in the order usr, org, oun, exp, iat, jti;
// the mock's tokens (string or numeric dates, user or key) are serialised the same way.
func TestF21JWTClaimOrder(t *testing.T) {
	want := []string{"usr", "org", "oun", "exp", "iat", "jti"}
	for _, numeric := range []bool{false, true} {
		sc := *DefaultScenario()
		sc.JWT.NumericDates = numeric
		h := start(t, Options{Version: "R12", Scenario: &sc})
		for _, tok := range []string{h.login(), h.keyLogin()} {
			raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
			require.NoError(t, err)
			assert.Equal(t, want, claimOrder(t, raw), "numeric dates %v: payload %s", numeric, raw)
		}
	}
}

// F21: a fault may answer a real installation's code (any string but OK); the envelope,
// the journal and the token's timeline carry it, and the answer is the contract's error
// envelope.
func TestF21FaultAnswersAnyCode(t *testing.T) {
	const code = "COM.CRM.EXCEPTION.AUTH.INVALIDLOGINEXCEPTION"
	h := startVersion(t, "R12")
	tok := h.login()
	h.addFault(`{"operation":"authentication/token","answer":{"code":"` + code + `","message":"Invalid login"}}`)
	r := h.post("authentication/token", creds())
	assert.Equal(t, 200, r.HTTP)
	assert.Equal(t, code, r.Status.Code, "%s", r.Raw)
	assert.Equal(t, "Invalid login", *r.Status.Message)
	assert.Equal(t, "null", string(r.Data))
	j := h.Journal()
	assert.Equal(t, code, j[len(j)-1].Code)

	h.addFault(`{"operation":"contact_information/show","answer":{"code":"` + code + `"}}`)
	r = h.use(tok)
	assert.Equal(t, code, r.Status.Code, "%s", r.Raw)
	_, tl, raw := h.timelineOf(tok)
	last := tl.Events[len(tl.Events)-1]
	assert.Equal(t, "rejected", last.Event, raw)
	assert.Equal(t, code, last.Code, "the timeline names the code the client saw: %s", raw)

	st, v := h.admin("POST", "/__admin/faults", `{"operation":"*","answer":{"code":"OK"}}`)
	assert.Equal(t, 400, st, "%v", v)
}

// F19: a method of three segments is declared in a scenario's methods, answered on GET
// and POST with the token where F5 wants it, hit by a fault on its whole name, and
// named whole in the journal and the lint; the authentication paths still win, and
// paths with empty, dot or encoded-slash segments are still no method.
func TestF19NestedMethods(t *testing.T) {
	sc, err := ParseScenario([]byte(`
organisations:
  - name: CRMDEMO
    units: [{id: EE63A82C4FEBE02FF34E90DD1EBA5ABE, oun: "1"}]
    users: [{username: mpadministrator, password: "1234", default_unit: EE63A82C4FEBE02FF34E90DD1EBA5ABE}]
methods:
  - {method: POST, path: customer_events/purchases/create, data: {id: "E1"}}
  - {method: GET, path: customer_events/purchases/create, data: {id: "E2"}}
  - {method: GET, path: a/b/c/d, data: {deep: true}}
`))
	require.NoError(t, err)
	h := start(t, Options{Version: "R12", Scenario: sc})
	tok := h.login()

	r := h.post("customer_events/purchases/create", map[string]any{"token": tok, "amount": 5})
	assert.Equal(t, "OK", r.Status.Code, "%s", r.Raw)
	assert.JSONEq(t, `{"id":"E1"}`, string(r.Data))
	r = h.get("customer_events/purchases/create", url.Values{"token": {tok}})
	assert.JSONEq(t, `{"id":"E2"}`, string(r.Data), "%s", r.Raw)
	r = h.get("a/b/c/d", url.Values{"token": {tok}})
	assert.JSONEq(t, `{"deep":true}`, string(r.Data), "%s", r.Raw)
	r = h.get("customer_events/purchases", url.Values{"token": {tok}})
	assert.Equal(t, "{}", string(r.Data), "a two-segment prefix is another method: %s", r.Raw)
	r = h.get("customer_events/purchases/create", nil)
	assert.Equal(t, "INVALID_REQUEST", r.Status.Code, "F5: the token is required on any method: %s", r.Raw)
	j := h.Journal()
	assert.Equal(t, "customer_events/purchases/create", j[1].Operation)
	assert.Equal(t, "a/b/c/d", j[3].Operation)

	// a fault on the whole name fires on it, not on its prefix
	_, err = h.AddFault(FaultSpec{Operation: "customer_events/purchases/create", Times: FaultForever})
	require.NoError(t, err)
	assert.Equal(t, "OK", h.get("customer_events/purchases", url.Values{"token": {tok}}).Status.Code)
	r = h.post("customer_events/purchases/create", map[string]any{"token": tok})
	assert.Equal(t, "INTERNAL_ERROR", r.Status.Code, "%s", r.Raw)
	h.ClearFaults()

	// the lint names the method whole
	req, err := http.NewRequest(http.MethodGet, h.APIURL("customer_events/purchases/create"), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	h.do(req)
	var msgs []string
	for _, f := range h.Lint().Findings {
		msgs = append(msgs, f.Message)
	}
	assert.Contains(t, strings.Join(msgs, "\n"), "GET customer_events/purchases/create was called once with the token in the Authorization header")

	// the fixed paths win over the nested shape; bad segments stay refused (404)
	r = h.post("authentication/token/release", map[string]string{"token": h.login()})
	assert.Equal(t, "OK", r.Status.Code, "%s", r.Raw)
	r = h.get("authentication/token/release", url.Values{"token": {tok}})
	assert.Equal(t, http.StatusMethodNotAllowed, r.HTTP, "%s", r.Raw)
	for _, p := range []string{"customer_events//create", "customer_events/./create", "customer_events/purchases/create/",
		"customer_events%2Fpurchases/create", "authentication/consumer_application_key/token"} {
		req, err := http.NewRequest(http.MethodGet, h.URL+h.BasePath()+"/"+p+"?token="+tok, nil)
		require.NoError(t, err)
		r := h.do(req)
		assert.Equal(t, http.StatusNotFound, r.HTTP, "%s: %s", p, r.Raw)
		assert.Equal(t, "INVALID_REQUEST", r.Status.Code, "%s", p)
	}
}

// F19: a scenario declares a method of any depth; a bad one is refused naming the line.
func TestF19ScenarioMethodPaths(t *testing.T) {
	base := "organisations: [{name: A, units: [{id: U}]}]\nmethods:\n  - {method: GET, path: %s}\n"
	for _, p := range []string{"customer_events/purchases/create", "a/b/c/d/e"} {
		_, err := ParseScenario([]byte(strings.Replace(base, "%s", p, 1)))
		assert.NoError(t, err, p)
	}
	for _, p := range []string{"customer_events", "a//b", "a/./b", "a/B/c", "authentication/x/token"} {
		_, err := ParseScenario([]byte(strings.Replace(base, "%s", p, 1)))
		assert.ErrorContains(t, err, "line 3: methods: path", p)
	}
}

// F20: a 405 on a Web API path carries Allow and its description says which method to
// use.
func TestF20MethodNotAllowedSaysWhichToUse(t *testing.T) {
	h := startVersion(t, "R10")
	for _, c := range []struct{ method, path, allow, use string }{
		{http.MethodGet, "authentication/token", "POST", "use POST"},
		{http.MethodPut, "authentication/web_api_key/token", "POST", "use POST"},
		{http.MethodDelete, "contact_information/show", "GET, POST", "use GET or POST"},
		{http.MethodPatch, "customer_events/purchases/create", "GET, POST", "use GET or POST"},
	} {
		req, err := http.NewRequest(c.method, h.APIURL(c.path), nil)
		require.NoError(t, err)
		r := h.do(req)
		assert.Equal(t, http.StatusMethodNotAllowed, r.HTTP, "%s %s", c.method, c.path)
		assert.Equal(t, c.allow, r.Header.Get("Allow"), "%s %s", c.method, c.path)
		assert.Equal(t, "INVALID_REQUEST", r.Status.Code)
		assert.Contains(t, *r.Status.Description, c.use, "%s %s", c.method, c.path)
	}
}
