package mockserver

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

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
