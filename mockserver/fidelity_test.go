// Cross-cutting suite (keeps its name): facts F19-F21 of docs/crmcom-facts.md across handlers, faults and the contract.

package mockserver

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

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
		"customer_events%2Fpurchases/create", "authentication/other_application_key/token"} {
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

// F20: what public clients that ran against real installations send is answered as
// production answers it; only the sloppy forms are journaled as lenient (a charset
// parameter, a lowercase scheme, Accept-Charset and a GET's Content-Type are plain HTTP).
func TestF20LenientRequests(t *testing.T) {
	h := startVersion(t, "R12")
	tok := h.login()
	keyNoColon := "Basic " + base64.StdEncoding.EncodeToString([]byte(docKey))
	cases := []struct {
		name    string
		method  string
		path    string
		body    string
		header  []string
		lenient []string
	}{
		{"charset parameter", "POST", "authentication/token", `{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`,
			[]string{"Content-Type", "application/json;charset=UTF-8", "Accept-Charset", "UTF-8"}, nil},
		{"media type in capitals with a parameter", "POST", "authentication/token", `{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`,
			[]string{"Content-Type", "Application/JSON; charset=UTF-8"}, []string{"content-type case: Application/JSON"}},
		{"null unit on login", "POST", "authentication/token", `{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO","unit":null}`,
			[]string{"Content-Type", "application/json"}, []string{"null optional field: unit"}},
		{"null token on login (a field the login does not take)", "POST", "authentication/token",
			`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO","token":null}`, []string{"Content-Type", "application/json"}, nil},
		{"null unit on a key login", "POST", "authentication/web_api_key/token", `{"unit":null}`,
			[]string{"Content-Type", "application/json", "Authorization", basic(docKey)}, []string{"null optional field: unit"}},
		{"Basic without the colon", "POST", "authentication/web_api_key/token", "",
			[]string{"Authorization", keyNoColon}, []string{"basic without colon"}},
		{"lowercase basic scheme", "POST", "authentication/web_api_key/token", "",
			[]string{"Authorization", "basic " + base64.StdEncoding.EncodeToString([]byte(docKey+":"))}, nil},
		{"all of it at once", "POST", "authentication/web_api_key/token", `{"unit":null}`,
			[]string{"Content-Type", "APPLICATION/json;charset=utf-8", "Authorization", "basic " + base64.StdEncoding.EncodeToString([]byte(docKey))},
			[]string{"content-type case: APPLICATION/json", "null optional field: unit", "basic without colon"}},
		{"a Content-Type on a body-less GET", "GET", "contact_information/show?token=" + tok, "",
			[]string{"Content-Type", "application/json"}, nil},
		{"an odd Content-Type on a body-less GET", "GET", "contact_information/show?token=" + tok, "",
			[]string{"Content-Type", "text/plain; charset=ISO-8859-1"}, nil},
		{"null extra field on another method", "POST", "customer_events/purchases/create", `{"token":"` + tok + `","note":null}`,
			[]string{"Content-Type", "Application/Json"}, []string{"content-type case: Application/Json"}},
	}
	for _, c := range cases {
		req, err := http.NewRequest(c.method, h.APIURL(c.path), strings.NewReader(c.body))
		require.NoError(t, err)
		for i := 0; i+1 < len(c.header); i += 2 {
			req.Header.Set(c.header[i], c.header[i+1])
		}
		r := h.do(req)
		assert.Equal(t, "OK", r.Status.Code, "%s: %s", c.name, r.Raw)
		j := h.Journal()
		assert.Equal(t, c.lenient, j[len(j)-1].Lenient, c.name)
	}

	// null stays refused where the field is mandatory, and a wrong media type stays wrong
	for _, c := range []struct{ path, body, ct string }{
		{"authentication/token", `{"username":null,"password":"1234","organisation":"CRMDEMO"}`, "application/json"},
		{"authentication/token/release", `{"token":null}`, "application/json"},
		{"contact_information/show", `{"token":null}`, "application/json"},
		{"authentication/token", `{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`, "text/json"},
		{"authentication/token", `{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`, "application/jsonx"},
	} {
		r := h.post(c.path, c.body, "Content-Type", c.ct)
		assert.Equal(t, "INVALID_REQUEST", r.Status.Code, "%s %s %s: %s", c.path, c.body, c.ct, r.Raw)
		j := h.Journal()
		assert.Empty(t, j[len(j)-1].Lenient, "a refused request was not accepted for leniency")
	}
	// a Basic value without the colon is still the key alone: a wrong key stays wrong
	r := h.post("authentication/web_api_key/token", nil, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("0000")))
	assert.Equal(t, "INVALID_WEB_API_KEY", r.Status.Code, "%s", r.Raw)
	j := h.Journal()
	assert.Empty(t, j[len(j)-1].Lenient, "an unknown key got past no check by leniency")
	// past the key check the leniency is journaled, whatever the answer
	r = h.post("authentication/web_api_key/token", map[string]string{"unit": "NOPE"}, "Authorization", keyNoColon)
	assert.Equal(t, "INVALID_UNIT", r.Status.Code, "%s", r.Raw)
	j = h.Journal()
	assert.Equal(t, []string{"basic without colon"}, j[len(j)-1].Lenient)

	// the lint mentions each kind once (info) and fails nobody on its account
	var kinds []string
	for _, f := range h.Lint().Findings {
		if f.Rule == "lenient-request" {
			assert.Equal(t, "info", f.Severity)
			kinds = append(kinds, f.Message[:strings.Index(f.Message, ".")])
		}
	}
	assert.Equal(t, []string{
		"3 requests sent the JSON media type not in lower case (APPLICATION/json, Application/JSON, Application/Json)",
		"3 requests sent JSON null for an optional field (unit)",
		"3 requests sent HTTP Basic credentials of the key alone, without the ':'",
	}, kinds)
}

// F20: CRM.COM's own Java sample sends a key login with Expect: 100-continue and a
// chunked empty body; over a real connection it is answered. Go's client (which waits
// for 100 Continue before a body) sends a chunked login; the empty chunked body is
// written by hand, as Go's client sends an empty body without chunks.
func TestF20ExpectContinueChunkedBodies(t *testing.T) {
	m, err := New(Options{Version: "R10", Start: t0})
	require.NoError(t, err)
	t.Cleanup(m.Close)
	var seen struct {
		sync.Mutex
		te []string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Lock()
		seen.te = r.TransferEncoding
		seen.Unlock()
		m.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	lastTE := func() []string { seen.Lock(); defer seen.Unlock(); return seen.te }

	// net/http's client: a body of unknown length goes chunked; Expect makes it wait
	body := struct{ io.Reader }{strings.NewReader(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`)}
	req, err := http.NewRequest(http.MethodPost, srv.URL+m.BasePath()+"/authentication/token", body)
	require.NoError(t, err)
	req.Header.Set("Expect", "100-continue")
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	c := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	resp, err := c.Do(req)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, string(raw), `"code":"OK"`, "%s", raw)
	assert.Equal(t, []string{"chunked"}, lastTE(), "the login went chunked")

	// by hand: headers, wait for 100 Continue, then the empty chunked body
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(time.Minute)))
	_, err = io.WriteString(conn, "POST "+m.BasePath()+"/authentication/web_api_key/token HTTP/1.1\r\nHost: x\r\n"+
		"Authorization: basic "+base64.StdEncoding.EncodeToString([]byte(docKey))+"\r\n"+
		"Content-Type: application/json;charset=UTF-8\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.1 100 Continue\r\n", line)
	blank, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "\r\n", blank)
	_, err = io.WriteString(conn, "0\r\n\r\n")
	require.NoError(t, err)
	resp, err = http.ReadResponse(br, nil)
	require.NoError(t, err)
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, string(raw), `"code":"OK"`, "%s", raw)
	assert.Equal(t, []string{"chunked"}, lastTE())
	j := m.Journal()
	assert.Equal(t, []string{"basic without colon"}, j[len(j)-1].Lenient, "the lowercase scheme and Expect are plain HTTP; the missing colon is not")
}
