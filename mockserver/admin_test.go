package mockserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmmock/crmmock"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gorilla/mux"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// admin calls the control API and decodes its JSON answer.
func (h *harness) admin(method, path, body string, hdr ...string) (int, map[string]any) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.URL+path, strings.NewReader(body))
	require.NoError(h.t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := h.Client().Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	assert.Equal(h.t, "application/json", resp.Header.Get("Content-Type"))
	var v map[string]any
	require.NoError(h.t, json.Unmarshal(raw, &v), "%s", raw)
	checkAdminAnswer(h.t, req, resp.StatusCode, resp.Header, raw)
	return resp.StatusCode, v
}

// Ensure the control API moves the clock, switches the release, lists tokens and
// requests, and resets (docs/control-api.md).
func TestControlAPI(t *testing.T) {
	h := startVersion(t, "R10")
	st, v := h.admin("GET", "/__admin/health", "")
	assert.Equal(t, 200, st)
	assert.Equal(t, "ok", v["status"])

	_, v = h.admin("GET", "/__admin/clock", "")
	assert.Equal(t, "2024-01-01T09:00:00Z", v["now"])
	assert.Equal(t, "fake", v["mode"])

	tok := h.login()
	st, v = h.admin("POST", "/__admin/clock/advance", `{"duration":"61m"}`)
	assert.Equal(t, 200, st)
	assert.Equal(t, "2024-01-01T10:01:00Z", v["now"])
	assert.Equal(t, "TOKEN_EXPIRED", h.code(h.use(tok)), "F6: idle hour passed via the control API")

	st, v = h.admin("POST", "/__admin/clock/advance", `{"duration":"-1m"}`)
	assert.Equal(t, 400, st)
	assert.Contains(t, v["error"], "negative")
	st, v = h.admin("POST", "/__admin/clock/advance", `{"duration":"soon"}`)
	assert.Equal(t, 400, st)
	assert.Contains(t, v["error"], "duration")
	st, _ = h.admin("POST", "/__admin/clock/advance", `{"duration":`)
	assert.Equal(t, 400, st)
	st, v = h.admin("POST", "/__admin/clock/advance", `{"durtion":"1m"}`)
	assert.Equal(t, 400, st)
	assert.Contains(t, v["error"], "durtion")

	st, v = h.admin("POST", "/__admin/clock/set", `{"now":"2024-01-01T09:30:00Z"}`)
	assert.Equal(t, 200, st)
	assert.Equal(t, "2024-01-01T09:30:00Z", v["now"])
	assert.Equal(t, "OK", h.code(h.use(tok)), "set back: the token is inside its hour again")
	st, _ = h.admin("POST", "/__admin/clock/set", `{"now":"yesterday"}`)
	assert.Equal(t, 400, st)

	_, v = h.admin("GET", "/__admin/version", "")
	assert.Equal(t, "R10", v["version"])
	st, v = h.admin("PUT", "/__admin/version", `{"version":"R12.0.0"}`)
	assert.Equal(t, 200, st)
	assert.Equal(t, "R12.0.0", v["version"])
	assert.Equal(t, "R12", v["profile"])
	assert.Regexp(t, jwtToken, h.login())
	st, v = h.admin("PUT", "/__admin/version", `{"version":"X1"}`)
	assert.Equal(t, 400, st)
	assert.Contains(t, v["error"], "X1")

	_, v = h.admin("GET", "/__admin/tokens", "")
	list := v["tokens"].([]any)
	require.Len(t, list, 2)
	first := list[0].(map[string]any)
	for _, k := range []string{"token", "kind", "version", "user", "organisation", "unit", "issued_at", "last_used_at", "expires_at", "state"} {
		assert.Contains(t, first, k)
	}
	assert.Equal(t, tok, first["token"])
	assert.Equal(t, "user", first["kind"])
	assert.Equal(t, "R10", first["version"])
	assert.Equal(t, "live", first["state"])
	assert.Equal(t, "2024-01-01T10:30:00Z", first["expires_at"], "idle: last use 09:30 + 1h")

	_, v = h.admin("GET", "/__admin/requests", "")
	assert.Len(t, v["requests"], 4)
	h.post("authentication/token", `{}`)
	_, v = h.admin("GET", "/__admin/violations", "")
	assert.Len(t, v["violations"], 1)
	st, _ = h.admin("DELETE", "/__admin/requests", "")
	assert.Equal(t, 200, st)
	_, v = h.admin("GET", "/__admin/requests", "")
	assert.Empty(t, v["requests"])

	st, v = h.admin("POST", "/__admin/reset", "")
	assert.Equal(t, 200, st)
	assert.Equal(t, "2024-01-01T09:00:00Z", v["now"])
	assert.Empty(t, h.Tokens())
	assert.Equal(t, "R10", h.Version().Name, "reset: the start-up release")
	assert.Equal(t, "INVALID_TOKEN", h.code(h.use(tok)))

	st, v = h.admin("GET", "/__admin/nope", "")
	assert.Equal(t, 404, st)
	assert.Contains(t, v["error"], "/__admin/nope")
}

// Ensure PUT /__admin/scenario replaces the fixtures and refuses a bad scenario whole.
func TestControlScenario(t *testing.T) {
	h := startVersion(t, "R10")
	st, v := h.admin("PUT", "/__admin/scenario", `
organisations:
  - name: ACME
    units: [{id: U1, oun: "7"}]
    users: [{username: alice, password: pw}]
`)
	require.Equal(t, 200, st, "%v", v)
	r := h.post("authentication/token", map[string]string{"username": "alice", "password": "pw", "organisation": "ACME"})
	assert.Equal(t, "OK", r.Status.Code)
	assert.Equal(t, "INVALID_ORGANISATION", h.post("authentication/token", creds()).Status.Code)

	st, v = h.admin("PUT", "/__admin/scenario", `{"organisations":[{"name":"X","units":[{"id":"U"}],"users":[{"username":"a","password":"b","default_unit":"NOPE"}]}]}`)
	assert.Equal(t, 400, st)
	assert.Contains(t, v["error"], "NOPE")
	assert.Equal(t, "OK", h.post("authentication/token", map[string]string{"username": "alice", "password": "pw", "organisation": "ACME"}).Status.Code, "the old fixtures stay")
}

// Ensure a control request handed to ServeHTTP with no body at all (Body nil, as a
// hand-built *http.Request may have) is read as an empty body: PUT /__admin/scenario
// answers 400 naming the empty document and POST /__admin/sandboxes takes every
// default, where reading it panicked and the recovery answered the Web API's
// INTERNAL_ERROR envelope (HTTP 200) to a control call.
func TestControlBodyNilIsEmpty(t *testing.T) {
	m := newTestMock(t, "R10")
	serve := func(method, path string) (int, map[string]any) {
		req := httptest.NewRequest(method, path, nil)
		req.Body = nil
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, req)
		var v map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v), rec.Body.String())
		require.Nil(t, v["status"], "a control answer, not an INTERNAL_ERROR envelope: %s", rec.Body.String())
		return rec.Code, v
	}
	st, v := serve("PUT", "/__admin/scenario")
	assert.Equal(t, 400, st, "%v", v)
	assert.Contains(t, v["error"], "the document is empty")
	st, v = serve("POST", "/__admin/sandboxes")
	assert.Equal(t, 201, st, "%v", v)
	assert.Equal(t, "R10", v["version"])
	for _, path := range []string{"/__admin/clock/advance", "/__admin/clock/set"} {
		st, v = serve("POST", path)
		assert.Equal(t, 400, st, "%s: %v", path, v)
		assert.Contains(t, v["error"], "body:", path)
	}
	st, v = serve("PUT", "/__admin/version")
	assert.Equal(t, 400, st, "%v", v)
}

// Ensure clock moves on a real clock answer 409.
func TestRealClock(t *testing.T) {
	h := start(t, Options{RealClock: true})
	st, v := h.admin("POST", "/__admin/clock/advance", `{"duration":"1m"}`)
	assert.Equal(t, 409, st)
	assert.NotEmpty(t, v["error"])
	st, _ = h.admin("POST", "/__admin/clock/set", `{"now":"2024-01-01T09:30:00Z"}`)
	assert.Equal(t, 409, st)
	_, v = h.admin("GET", "/__admin/clock", "")
	assert.Equal(t, "real", v["mode"])
	assert.WithinDuration(t, time.Now(), h.Now(), time.Minute)
	assert.Nil(t, h.FakeClock())
}

// Ensure --admin-token guards the control API and nothing else; the scheme is
// case-insensitive (RFC 7235: bearer, BEARER), and /__admin/health stays open for
// readiness probes (issue 8, item 7).
func TestAdminToken(t *testing.T) {
	h := start(t, Options{AdminToken: "s3cret"})
	for _, auth := range []string{"", "Bearer wrong", "Bearer s3cret2", "Bearer", "Basic s3cret", "s3cret", "Bearers3cret"} {
		st, v := h.admin("GET", "/__admin/clock", "", "Authorization", auth)
		assert.Equal(t, 401, st, "Authorization: %q", auth)
		assert.Contains(t, v["error"], "Authorization: Bearer")
	}
	for _, auth := range []string{"Bearer s3cret", "bearer s3cret", "BEARER s3cret", "bEaReR  s3cret"} {
		st, v := h.admin("GET", "/__admin/clock", "", "Authorization", auth)
		assert.Equal(t, 200, st, "Authorization: %q: %v", auth, v)
	}
	st, v := h.admin("GET", "/__admin/health", "")
	assert.Equal(t, 200, st, "health needs no token")
	assert.Equal(t, "ok", v["status"])
	st, _ = h.admin("POST", "/__admin/health", "")
	assert.Equal(t, 401, st, "only GET /__admin/health is open")
	st, _ = h.admin("GET", "/__admin/health/../clock", "")
	assert.Equal(t, 401, st)
	assert.Equal(t, "OK", h.post("authentication/token", creds()).Status.Code)
}

// Ensure a Go suite can share its own clockwork fake clock with the mock (docs/go-api.md).
func TestGoAPISharedClock(t *testing.T) {
	fc := clockwork.NewFakeClockAt(t0)
	h := start(t, Options{Version: "R9", Clock: fc})
	tok := h.login()
	fc.Advance(59*time.Minute + 59*time.Second)
	assert.Equal(t, "OK", h.code(h.use(tok)))
	fc.Advance(time.Hour)
	assert.Equal(t, "TOKEN_EXPIRED", h.code(h.use(tok)), "F6")
	assert.Equal(t, t0.Add(time.Hour+59*time.Minute+59*time.Second), h.Now())
	assert.Same(t, fc, h.FakeClock())
}

// Ensure a custom base path moves the Web API (F1 is the default).
func TestBasePath(t *testing.T) {
	h := start(t, Options{BasePath: "/crm/"})
	assert.Equal(t, "/crm", h.BasePath())
	r := h.post("authentication/token", creds())
	assert.Equal(t, "OK", r.Status.Code)
	resp, err := h.Client().Post(h.URL+"/crmapi/rest/v2/authentication/token", "application/json", bytes.NewReader([]byte(`{}`)))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 404, resp.StatusCode)
}

// Ensure starting a test server after the first costs well under a millisecond.
func TestServerStartCost(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("timing")
	}
	Start(t, Options{})
	const n = 50
	begin := time.Now()
	for i := 0; i < n; i++ {
		s, err := NewServer(Options{})
		require.NoError(t, err)
		s.Close()
	}
	per := time.Since(begin) / n
	t.Logf("start+close: %s", per)
	assert.Less(t, per, 5*time.Millisecond)
}

// adminContract is admin-openapi.yaml, loaded, validated and routed once per test binary.
var adminContract = sync.OnceValues(func() (*openapi3.T, routers.Router) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(crmmock.AdminOpenAPI)
	if err != nil {
		panic("admin-openapi.yaml: " + err.Error())
	}
	if err := doc.Validate(loader.Context); err != nil {
		panic("admin-openapi.yaml does not validate: " + err.Error())
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		panic("admin-openapi.yaml routes: " + err.Error())
	}
	return doc, router
})

// sandboxAdminPrefix is the part of a sandbox's admin_url before /__admin.
var sandboxAdminPrefix = regexp.MustCompile(`^/sandboxes/[^/]+`)

// checkAdminAnswer validates a control API answer against admin-openapi.yaml: its
// status must be documented for the call and its body must match the schema. A call
// the document lacks fails the test; unknown paths and methods must answer the
// documented error shape.
func checkAdminAnswer(t *testing.T, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	doc, router := adminContract()
	routed := req.Clone(context.Background())
	routed.URL.Path = sandboxAdminPrefix.ReplaceAllString(routed.URL.Path, "")
	routed.URL.RawPath = ""
	inSandbox := routed.URL.Path != req.URL.Path
	route, params, err := router.FindRoute(routed)
	if err != nil || inSandbox && status == http.StatusNotFound { // the document's info: a sandbox that is gone, or nested sandboxes
		require.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusUnauthorized}, status,
			"%s %s answered %d but admin-openapi.yaml has no such call", req.Method, req.URL.Path, status)
		var v any
		require.NoError(t, json.Unmarshal(body, &v))
		require.NoError(t, doc.Components.Responses["Error"].Value.Content.Get("application/json").Schema.Value.VisitJSON(v),
			"an unknown call answers the documented error: %s", body)
		return
	}
	err = validateAnswer(routed, route, params, status, header, body)
	require.NoError(t, err, "%s %s: answer outside admin-openapi.yaml: %d %s", req.Method, req.URL.Path, status, body)
}

// Ensure admin-openapi.yaml documents exactly the control calls the router serves.
func TestAdminContractCoversRouter(t *testing.T) {
	doc, _ := adminContract()
	var routed, documented []string
	require.NoError(t, adminRouter().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		path := strings.TrimPrefix(tpl, "/__admin")
		if path == "" {
			return nil // the /__admin prefix itself
		}
		methods, err := route.GetMethods()
		if err != nil { // a handler that answers other methods itself: GET
			methods = []string{http.MethodGet}
		}
		methods = slices.DeleteFunc(slices.Clone(methods), func(m string) bool {
			return m == http.MethodHead // the dashboard page's HEAD: its documented GET without the body
		})
		if len(path) > 1 {
			path = strings.TrimSuffix(path, "/") // the same page with a trailing slash
		}
		for _, m := range methods {
			if call := m + " " + path; !slices.Contains(routed, call) {
				routed = append(routed, call)
			}
		}
		return nil
	}))
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	sort.Strings(routed)
	sort.Strings(documented)
	assert.Equal(t, documented, routed, "admin-openapi.yaml (left) and adminRouter (right) disagree")
}

// Ensure both OpenAPI documents are served as they are embedded.
func TestContractsServed(t *testing.T) {
	h := startVersion(t, "R12")
	for path, want := range map[string][]byte{"/__admin/openapi.yaml": crmmock.OpenAPI, "/__admin/admin-openapi.yaml": crmmock.AdminOpenAPI} {
		req, err := http.NewRequest(http.MethodGet, h.URL+path, nil)
		require.NoError(t, err)
		resp, err := h.Client().Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Equal(t, "application/yaml", resp.Header.Get("Content-Type"), path)
		assert.Equal(t, string(want), string(body), path)
		checkAdminAnswer(t, req, resp.StatusCode, resp.Header, body)
	}
	loader := openapi3.NewLoader()
	served, err := loader.LoadFromData(crmmock.OpenAPI)
	require.NoError(t, err)
	assert.Contains(t, served.Paths.Map(), "/authentication/web_api_key/token", "a client generator gets the Web API")
}

// Ensure a control path called with a method it does not serve answers 405 (not 404):
// an Allow header and a JSON error naming the methods admin-openapi.yaml documents for
// that path, at the root and under a sandbox's admin_url. A path that is no control
// call stays 404.
func TestAdminWrongMethod405(t *testing.T) {
	h := startVersion(t, "R12")
	sb, err := h.NewSandbox(SandboxOptions{})
	require.NoError(t, err)
	doc, router := adminContract()
	methods := []string{http.MethodDelete, http.MethodGet, http.MethodPatch, http.MethodPost, http.MethodPut, http.MethodOptions}
	fill := strings.NewReplacer("{token}", "NOSUCHTOKEN", "{id}", "nosuchid")
	checked := 0
	for path := range doc.Paths.Map() {
		concrete := "/__admin" + fill.Replace(path)
		var allowed []string // what the document serves on this concrete path
		for _, m := range methods {
			req, err := http.NewRequest(m, concrete, nil)
			require.NoError(t, err)
			if _, _, err := router.FindRoute(req); err == nil {
				allowed = append(allowed, m)
			}
		}
		require.NotEmpty(t, allowed, path)
		for _, m := range methods {
			if slices.Contains(allowed, m) {
				continue
			}
			for _, prefix := range []string{"", sb.Prefix()} {
				st, v := h.admin(m, prefix+concrete, "")
				if !assert.Equal(t, http.StatusMethodNotAllowed, st, "%s %s%s: %v", m, prefix, concrete, v) {
					continue
				}
				msg, _ := v["error"].(string)
				assert.Contains(t, msg, "method "+m+" not allowed on "+concrete, "%s %s", m, concrete)
				assert.Contains(t, msg, strings.Join(allowed, ", "), "the error names the allowed methods")
				checked++
			}
		}
	}
	assert.Greater(t, checked, 100)

	// The Allow header (h.admin does not return headers).
	for call, want := range map[string]string{
		"PATCH /__admin/faults":                     "DELETE, GET, POST",
		"DELETE /__admin/tokens/revoke":             "POST", // not the timeline's GET: no token is called "revoke"
		"GET /__admin/tokens/revoke":                "POST",
		"OPTIONS " + sb.Prefix() + "/__admin/clock": "GET",
	} {
		method, path, _ := strings.Cut(call, " ")
		req, err := http.NewRequest(method, h.URL+path, nil)
		require.NoError(t, err)
		resp, err := h.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, call)
		assert.Equal(t, want, resp.Header.Get("Allow"), call)
	}
	for _, p := range []string{"/__admin/nothing", "/__admin/clock/nothing", "/__admin/tokens/a/b/c"} {
		st, v := h.admin(http.MethodPatch, p, "")
		assert.Equal(t, http.StatusNotFound, st, p)
		assert.Contains(t, v["error"], "no control call", p)
	}
}
