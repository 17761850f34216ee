package mockserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// call sends a request to an absolute URL and decodes the JSON answer.
func (h *harness) call(method, u, body string, hdr ...string) (int, map[string]any) {
	h.t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := h.Client().Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	var v map[string]any
	require.NoError(h.t, json.Unmarshal(raw, &v), "%s %s: %s", method, u, raw)
	if strings.HasPrefix(sandboxAdminPrefix.ReplaceAllString(req.URL.Path, ""), "/__admin/") {
		checkAdminAnswer(h.t, req, resp.StatusCode, resp.Header, raw)
	}
	return resp.StatusCode, v
}

// sb is a sandbox as a client sees it: its two URLs.
type sb struct {
	h            *harness
	id           string
	base, adminU string
}

func (h *harness) createSandbox(body string, hdr ...string) sb {
	h.t.Helper()
	st, v := h.call("POST", h.URL+"/__admin/sandboxes", body, hdr...)
	require.Equal(h.t, http.StatusCreated, st, "%v", v)
	return sb{h: h, id: v["id"].(string), base: v["base_url"].(string), adminU: v["admin_url"].(string)}
}

func statusCode(v map[string]any) string {
	s, _ := v["status"].(map[string]any)
	c, _ := s["code"].(string)
	return c
}

func dataToken(t *testing.T, v map[string]any) string {
	t.Helper()
	d, _ := v["data"].(map[string]any)
	tok, _ := d["token"].(string)
	require.NotEmpty(t, tok, "%v", v)
	return tok
}

func (s sb) login() string {
	s.h.t.Helper()
	b, _ := json.Marshal(creds())
	_, v := s.h.call("POST", s.base+"/authentication/token", string(b))
	require.Equal(s.h.t, "OK", statusCode(v), "%v", v)
	return dataToken(s.h.t, v)
}

func (s sb) use(token string) string {
	s.h.t.Helper()
	_, v := s.h.call("GET", s.base+"/contact_information/show?token="+url.QueryEscape(token), "")
	return statusCode(v)
}

func (s sb) admin(method, path, body string) (int, map[string]any) {
	s.h.t.Helper()
	return s.h.call(method, s.adminU+path, body)
}

// Ensure a sandbox is an isolated mock under /sandboxes/{id}/: its URLs are absolute
// from the request's host, its tokens are INVALID_TOKEN elsewhere, its clock moves
// alone, and once deleted its paths answer 404 (envelope on the Web API, JSON error
// on the control API).
func TestSandboxLifecycle(t *testing.T) {
	h := startVersion(t, "R12")
	rootTok := h.login()
	a := h.createSandbox(`{}`)
	b := h.createSandbox(``)
	assert.Equal(t, h.URL+"/sandboxes/"+a.id+"/crmapi/rest/v2", a.base)
	assert.Equal(t, h.URL+"/sandboxes/"+a.id+"/__admin", a.adminU)
	assert.NotEqual(t, a.id, b.id)

	ta, tb := a.login(), b.login()
	assert.Equal(t, "OK", a.use(ta))
	assert.Equal(t, "INVALID_TOKEN", h.code(h.use(ta)), "a sandbox's token at the root")
	assert.Equal(t, "INVALID_TOKEN", b.use(ta), "a sandbox's token in another sandbox")
	assert.Equal(t, "INVALID_TOKEN", a.use(tb))
	assert.Equal(t, "INVALID_TOKEN", a.use(rootTok), "the root's token in a sandbox")

	// F9: R12 tokens die 2 h after issue — in the sandbox whose clock moved, only.
	st, v := a.admin("POST", "/clock/advance", `{"duration":"2h"}`)
	require.Equal(t, http.StatusOK, st, "%v", v)
	assert.Equal(t, "2024-01-01T11:00:00Z", v["now"])
	assert.Equal(t, "TOKEN_EXPIRED", a.use(ta))
	assert.Equal(t, "OK", b.use(tb))
	assert.Equal(t, "OK", h.code(h.use(rootTok)))
	assert.Equal(t, t0, h.Now())

	_, v = a.admin("GET", "/tokens", "")
	require.Len(t, v["tokens"], 1)
	assert.Equal(t, ta, v["tokens"].([]any)[0].(map[string]any)["token"])
	_, v = a.admin("GET", "/requests", "")
	assert.Len(t, v["requests"], 5, "the sandbox's journal has its own requests only")

	st, v = h.call("GET", h.URL+"/__admin/sandboxes", "")
	require.Equal(t, http.StatusOK, st)
	list := v["sandboxes"].([]any)
	require.Len(t, list, 2)
	assert.Equal(t, a.id, list[0].(map[string]any)["id"])
	assert.Equal(t, a.base, list[0].(map[string]any)["base_url"])
	assert.EqualValues(t, 1, list[0].(map[string]any)["tokens"])

	st, _ = h.call("DELETE", h.URL+"/__admin/sandboxes/"+a.id, "")
	assert.Equal(t, http.StatusOK, st)
	st, v = h.call("GET", a.base+"/contact_information/show?token="+ta, "")
	assert.Equal(t, http.StatusNotFound, st)
	assert.Equal(t, "INVALID_REQUEST", statusCode(v), "an envelope on a Web API path")
	assert.Contains(t, v["status"].(map[string]any)["description"], a.id)
	st, v = a.admin("GET", "/clock", "")
	assert.Equal(t, http.StatusNotFound, st)
	assert.Contains(t, v["error"], a.id, "a JSON error on a control path")
	st, v = h.call("DELETE", h.URL+"/__admin/sandboxes/"+a.id, "")
	assert.Equal(t, http.StatusNotFound, st)
	assert.Contains(t, v["error"], a.id)
	assert.Equal(t, "OK", b.use(tb))
}

// Ensure version, start and scenario (text or object) shape a sandbox; defaults are
// the root's start-up values even after the root moved; bad bodies answer 400 naming
// the field, and a scenario that fails to load names the line.
func TestSandboxOptions(t *testing.T) {
	h := startVersion(t, "R10")
	h.advance(5 * time.Hour)
	_, err := h.SetVersion("R12")
	require.NoError(t, err)

	d := h.createSandbox(`{}`)
	_, v := d.admin("GET", "/version", "")
	assert.Equal(t, "R10", v["version"], "the root's start-up release")
	_, v = d.admin("GET", "/clock", "")
	assert.Equal(t, "2024-01-01T09:00:00Z", v["now"], "the root's start")
	assert.Len(t, d.login(), 32, "F6: an R10 token is 32 hex characters")

	s := h.createSandbox(`{"version":"pre-R10","start":"2030-06-01T12:00:00Z"}`)
	_, v = s.admin("GET", "/version", "")
	assert.Equal(t, "pre-R10", v["version"])
	_, v = s.admin("GET", "/clock", "")
	assert.Equal(t, "2030-06-01T12:00:00Z", v["now"])

	const yamlText = "version: R12\nclock: {start: \"2025-02-03T04:05:06Z\"}\norganisations:\n  - name: ACME\n    units: [{id: U1}]\n    users: [{username: bob, password: pw}]\n"
	body, _ := json.Marshal(map[string]any{"scenario": yamlText})
	x := h.createSandbox(string(body))
	_, v = x.admin("GET", "/version", "")
	assert.Equal(t, "R12", v["version"], "the scenario's version")
	_, v = x.admin("GET", "/clock", "")
	assert.Equal(t, "2025-02-03T04:05:06Z", v["now"], "the scenario's clock.start")
	_, v = h.call("POST", x.base+"/authentication/token", `{"username":"bob","password":"pw","organisation":"ACME"}`)
	assert.Equal(t, "OK", statusCode(v), "%v", v)
	_, v = h.call("POST", x.base+"/authentication/token", `{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`)
	assert.Equal(t, "INVALID_ORGANISATION", statusCode(v), "the root's fixtures are not the sandbox's")

	o := h.createSandbox(`{"version":"R10","scenario":{"organisations":[{"name":"ACME","units":[{"id":"U1"}],
		"web_api_keys":[],"users":[{"username":"bob","password":"pw"}]}]}}`)
	_, v = h.call("POST", o.base+"/authentication/token", `{"username":"bob","password":"pw","organisation":"ACME"}`)
	assert.Equal(t, "OK", statusCode(v), "%v", v)

	for body, want := range map[string]string{
		`{"version":"X1"}`:                   "version: ",
		`{"start":"tomorrow"}`:               "start: ",
		`{"clock":"fake"}`:                   `unknown field "clock"`,
		`{"scenario":42}`:                    "scenario: ",
		`{"scenario":"organisations: []\n"}`: "scenario: line 1: ",
		`{"scenario":"organisations:\n  - name: A\n    units: [{id: U}]\n    colour: red\n"}`:                                             "scenario: line 4: ",
		`{"scenario":{"organisations":[{"name":"A","units":[{"id":"U"}],"users":[{"username":"u","password":"p","default_unit":"V"}]}]}}`: "scenario: line 1: ",
		`{`: "body: ",
	} {
		st, v := h.call("POST", h.URL+"/__admin/sandboxes", body)
		assert.Equal(t, http.StatusBadRequest, st, body)
		assert.Contains(t, v["error"], want, body)
	}
	assert.Len(t, h.Sandboxes(), 4, "no sandbox was made by a bad body")
}

// Ensure --max-sandboxes: a create beyond the limit answers 429; deleting one makes room.
func TestSandboxLimit(t *testing.T) {
	h := start(t, Options{Version: "R10", MaxSandboxes: 2})
	a := h.createSandbox(`{}`)
	h.createSandbox(`{}`)
	st, v := h.call("POST", h.URL+"/__admin/sandboxes", `{}`)
	assert.Equal(t, http.StatusTooManyRequests, st)
	assert.Contains(t, v["error"], "--max-sandboxes")
	require.True(t, h.DeleteSandbox(a.id))
	h.createSandbox(`{}`)

	none := start(t, Options{Version: "R10", MaxSandboxes: -1})
	st, _ = none.call("POST", none.URL+"/__admin/sandboxes", `{}`)
	assert.Equal(t, http.StatusTooManyRequests, st)
}

// Ensure --sandbox-ttl on the wall clock: a sandbox without a request for the TTL is
// gone (at the exact boundary), a used one stays, and the sweep timer drops idle
// ones with nobody asking, then stops.
func TestSandboxTTL(t *testing.T) {
	wall := clockwork.NewFakeClock()
	h := start(t, Options{Version: "R10", WallClock: wall, SandboxTTL: time.Hour})
	a := h.createSandbox(`{}`)
	b := h.createSandbox(`{}`)
	ta := a.login() // a is used now; b was last touched at creation

	wall.Advance(40 * time.Minute)
	assert.Equal(t, "OK", a.use(ta))
	wall.Advance(20*time.Minute - time.Nanosecond)
	st, _ := b.admin("GET", "/clock", "")
	assert.Equal(t, http.StatusOK, st, "1 ns before the TTL: still there (and touched again)")
	wall.Advance(time.Hour)
	st, v := b.admin("GET", "/clock", "")
	assert.Equal(t, http.StatusNotFound, st, "idle for exactly the TTL: gone")
	assert.Contains(t, v["error"], "--sandbox-ttl")
	st, v = h.call("GET", a.base+"/contact_information/show?token="+ta, "")
	assert.Equal(t, http.StatusNotFound, st)
	assert.Equal(t, "INVALID_REQUEST", statusCode(v))

	h.createSandbox(`{}`)
	wall.Advance(30 * time.Minute)
	require.Len(t, h.Sandboxes(), 1)
	wall.Advance(30 * time.Minute) // the sweep fires with no request in sight
	require.Eventually(t, func() bool { return h.sandboxes.size() == 0 }, 10*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return !hasWaiters(wall) }, 10*time.Second, 5*time.Millisecond,
		"no timer is left once the set is empty")
}

func (s *sandboxSet) size() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byID)
}

// Ensure the root's reset, faults and clock leave sandboxes alone and the other way
// round (docs/faults-and-sandboxes.md: POST /__admin/reset at the root leaves sandboxes alone).
func TestSandboxIsolation(t *testing.T) {
	h := startVersion(t, "R10")
	s := h.createSandbox(`{}`)
	ts := s.login()
	h.addFault(`{"operation":"*","times":0}`)
	assert.Equal(t, "INTERNAL_ERROR", h.code(h.post("authentication/token", creds())))
	assert.Equal(t, "OK", s.use(ts), "a root fault does not reach a sandbox")
	st, _ := h.admin("POST", "/__admin/reset", "")
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, "OK", s.use(ts), "the root's reset keeps sandboxes and their tokens")
	assert.Len(t, h.Sandboxes(), 1)

	st, v := s.admin("POST", "/faults", `{"operation":"contact_information/show","answer":{"code":"TOKEN_EXPIRED"}}`)
	require.Equal(t, http.StatusCreated, st, "%v", v)
	rt := h.login()
	assert.Equal(t, "OK", h.code(h.use(rt)), "a sandbox fault does not reach the root")
	assert.Equal(t, "TOKEN_EXPIRED", s.use(ts))
	_, v = s.admin("GET", "/faults", "")
	assert.EqualValues(t, 1, v["faults"].([]any)[0].(map[string]any)["fired"])
	_, v = s.admin("GET", "/requests", "")
	last := v["requests"].([]any)[len(v["requests"].([]any))-1].(map[string]any)
	assert.Equal(t, "f1", last["fault"], "the sandbox journals its firing")

	st, _ = s.admin("POST", "/reset", "")
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, "INVALID_TOKEN", s.use(ts), "the sandbox's reset dropped its tokens")
	assert.Equal(t, "OK", h.code(h.use(rt)), "and not the root's")

	st, v = s.admin("POST", "/sandboxes", `{}`)
	assert.Equal(t, http.StatusNotFound, st)
	assert.Contains(t, v["error"], "do not nest")
}

// Ensure the admin token guards sandbox creation and every sandbox's control API,
// while a sandbox's Web API stays open.
func TestSandboxAdminToken(t *testing.T) {
	h := start(t, Options{Version: "R10", AdminToken: "s3cret"})
	st, _ := h.call("POST", h.URL+"/__admin/sandboxes", `{}`)
	assert.Equal(t, http.StatusUnauthorized, st)
	s := h.createSandbox(`{}`, "Authorization", "Bearer s3cret")
	s.login()
	st, _ = s.admin("GET", "/clock", "")
	assert.Equal(t, http.StatusUnauthorized, st)
	st, _ = h.call("GET", s.adminU+"/clock", "", "Authorization", "Bearer s3cret")
	assert.Equal(t, http.StatusOK, st)
	st, _ = h.call("GET", h.URL+"/sandboxes/nope/__admin/clock", "")
	assert.Equal(t, http.StatusUnauthorized, st, "no hint about sandboxes without the token")
}

// Ensure 16 concurrent sandboxes each move their own clock to the exact F9 boundary
// while the root's tokens stay live and its clock never moves.
func TestSandboxesConcurrentClocks(t *testing.T) {
	h := startVersion(t, "R10")
	rootUser, rootKey := h.login(), h.keyLogin()
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	stop := make(chan struct{})
	var rootWG sync.WaitGroup
	rootWG.Go(func() { // the root's client keeps using its tokens all along
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, tok := range []string{rootUser, rootKey} {
				if c := rootUse(h, tok); c != "OK" {
					errs <- fmt.Errorf("root token answered %s", c)
					return
				}
			}
		}
	})
	for i := range n {
		wg.Go(func() {
			if err := sandboxRun(h, i); err != nil {
				errs <- fmt.Errorf("sandbox %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(stop)
	rootWG.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.Equal(t, t0, h.Now(), "the root's clock never moved")
	assert.Equal(t, "OK", h.code(h.use(rootUser)))
	assert.Len(t, h.Sandboxes(), n)
	for _, s := range h.Sandboxes() {
		assert.Equal(t, t0.Add(2*time.Hour), s.Now())
		assert.Len(t, s.Tokens(), 1)
	}
}

// rootUse calls a root Web API method without the test helpers (safe off the test goroutine).
func rootUse(h *harness, tok string) string {
	resp, err := h.Client().Get(h.APIURL("contact_information/show") + "?token=" + url.QueryEscape(tok))
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return err.Error()
	}
	return statusCode(v)
}

// sandboxRun is one parallel suite: its own sandbox on R12, a token used up to 1 ns
// before its 2 h limit, then expired at the limit (F9).
func sandboxRun(h *harness, i int) error {
	do := func(method, u, body string) (int, map[string]any, error) {
		req, err := http.NewRequest(method, u, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := h.Client().Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var v map[string]any
		return resp.StatusCode, v, json.NewDecoder(resp.Body).Decode(&v)
	}
	st, v, err := do("POST", h.URL+"/__admin/sandboxes", `{"version":"R12"}`)
	if err != nil || st != http.StatusCreated {
		return fmt.Errorf("create: %d %v %v", st, v, err)
	}
	base, admin := v["base_url"].(string), v["admin_url"].(string)
	credsJSON, _ := json.Marshal(creds())
	_, v, err = do("POST", base+"/authentication/token", string(credsJSON))
	if err != nil || statusCode(v) != "OK" {
		return fmt.Errorf("login: %v %v", v, err)
	}
	tok := v["data"].(map[string]any)["token"].(string)
	use := func() string {
		_, v, err := do("GET", base+"/contact_information/show?token="+url.QueryEscape(tok), "")
		if err != nil {
			return err.Error()
		}
		return statusCode(v)
	}
	for _, step := range []struct{ advance, want string }{
		{"59m", "OK"}, {"1h0m59.999999999s", "OK"}, {"1ns", "TOKEN_EXPIRED"},
	} {
		if st, v, err := do("POST", admin+"/clock/advance", fmt.Sprintf(`{"duration":%q}`, step.advance)); err != nil || st != http.StatusOK {
			return fmt.Errorf("advance %s: %d %v %v", step.advance, st, v, err)
		}
		if got := use(); got != step.want {
			return fmt.Errorf("after +%s: %s, want %s (sandbox %d)", step.advance, got, step.want, i)
		}
	}
	return nil
}

// Ensure the Go API: NewSandbox with options, URLs from a root URL, its own clock,
// Sandbox/Sandboxes/DeleteSandbox; a sandbox holds no sandboxes.
func TestSandboxGoAPI(t *testing.T) {
	h := startVersion(t, "R12")
	s, err := h.NewSandbox(SandboxOptions{Version: "R10", Start: t0.Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, "R10", s.Version().Name)
	assert.Equal(t, t0.Add(time.Hour), s.Now())
	assert.Equal(t, h.URL+"/sandboxes/"+s.ID+"/crmapi/rest/v2", s.BaseURL(h.URL))
	assert.Equal(t, h.URL+"/sandboxes/"+s.ID+"/__admin", s.AdminURL(h.URL+"/"))
	c := sb{h: h, id: s.ID, base: s.BaseURL(h.URL), adminU: s.AdminURL(h.URL)}
	tok := c.login()
	_, err = s.Advance(61 * time.Minute)
	require.NoError(t, err)
	assert.Equal(t, "TOKEN_EXPIRED", c.use(tok), "F6: the R10 idle hour, on the sandbox's clock")
	assert.Equal(t, t0, h.Now())

	got, ok := h.Sandbox(s.ID)
	require.True(t, ok)
	assert.Same(t, s, got)
	assert.Equal(t, []*Sandbox{s}, h.Sandboxes())
	// a Sandbox has no NewSandbox (it is an Instance); its mock refuses one all the same
	_, err = s.mock.NewSandbox(SandboxOptions{})
	assert.ErrorIs(t, err, ErrSandboxNesting)
	_, err = h.NewSandbox(SandboxOptions{Version: "Q7"})
	assert.Error(t, err)
	assert.True(t, h.DeleteSandbox(s.ID))
	_, ok = h.Sandbox(s.ID)
	assert.False(t, ok)
}

// Ensure a path under /sandboxes/ with no sandbox never reaches the Web API and that
// a sandbox answers its own unknown paths.
func TestSandboxPaths(t *testing.T) {
	h := startVersion(t, "R10")
	for _, p := range []string{"/sandboxes/", "/sandboxes/x", "/sandboxes/x/crmapi/rest/v2/authentication/token"} {
		st, v := h.call("POST", h.URL+p, `{}`)
		assert.Equal(t, http.StatusNotFound, st, p)
		assert.Equal(t, "INVALID_REQUEST", statusCode(v), p)
	}
	s := h.createSandbox(`{}`)
	st, v := h.call("GET", h.URL+"/sandboxes/"+s.id, "")
	assert.Equal(t, http.StatusNotFound, st)
	assert.Contains(t, v["status"].(map[string]any)["description"], "outside the Web API base path")
	st, v = h.call("GET", s.adminU+"/nothing", "")
	assert.Equal(t, http.StatusNotFound, st)
	assert.Contains(t, v["error"], "no control call")
}

// Ensure Server.Close drops the sandboxes and leaves no TTL timer behind.
func TestSandboxServerCloseStopsTimer(t *testing.T) {
	wall := clockwork.NewFakeClock()
	s, err := NewServer(Options{Version: "R10", Start: t0, WallClock: wall})
	require.NoError(t, err)
	_, err = s.NewSandbox(SandboxOptions{})
	require.NoError(t, err)
	require.True(t, hasWaiters(wall), "the TTL timer runs while a sandbox lives")
	s.Close()
	assert.Empty(t, s.Sandboxes())
	assert.False(t, hasWaiters(wall), "no timer after Close")
}

// BenchmarkSandboxCreate is the cost of one sandbox with the default scenario
// (docs/faults-and-sandboxes.md target: ≤ 1 ms and ≤ 100 KB): ns/op and B/op of NewSandbox, and
// retained-B/sandbox, the heap a live sandbox holds (measured over b.N live ones).
func BenchmarkSandboxCreate(b *testing.B) {
	m, err := New(Options{MaxSandboxes: 1 << 30, Start: t0})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.NewSandbox(SandboxOptions{}); err != nil { // warm: contract, router
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := m.NewSandbox(SandboxOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "retained-B/sandbox")
	m.DeleteSandboxes()
}

// BenchmarkSandboxUse is a Web API request through the root's ServeHTTP into a
// sandbox (the lookup and the prefix strip on top of BenchmarkUse's work).
func BenchmarkSandboxUse(b *testing.B) {
	m, err := New(Options{Version: "R10", Start: t0})
	if err != nil {
		b.Fatal(err)
	}
	sb, err := m.NewSandbox(SandboxOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.DeleteSandboxes() })
	base := sb.Prefix() + sb.BasePath()
	tok := issueToken(b, m, base)
	target := base + "/contact_information/show?token=" + tok
	w := newSinkWriter()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w.reset()
		m.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		if w.code != http.StatusOK || !bytes.Contains(w.body.Bytes(), okCode) {
			b.Fatalf("answered %d %s", w.code, w.body.Bytes())
		}
	}
}
