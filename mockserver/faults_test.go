package mockserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// addFault posts a fault over HTTP and returns its id.
func (h *harness) addFault(body string) string {
	h.t.Helper()
	st, v := h.admin("POST", "/__admin/faults", body)
	require.Equal(h.t, http.StatusCreated, st, "%v", v)
	id, _ := v["id"].(string)
	require.NotEmpty(h.t, id, "%v", v)
	return id
}

// faultList is GET /__admin/faults by id.
func (h *harness) faultList() map[string]map[string]any {
	h.t.Helper()
	st, v := h.admin("GET", "/__admin/faults", "")
	require.Equal(h.t, http.StatusOK, st)
	out := map[string]map[string]any{}
	for _, f := range v["faults"].([]any) {
		f := f.(map[string]any)
		out[f["id"].(string)] = f
	}
	return out
}

func (h *harness) loginAs(user, pass string) reply {
	h.t.Helper()
	return h.post("authentication/token", map[string]any{"username": user, "password": pass, "organisation": docOrg})
}

// journalFault is the fault ids of the journal, oldest first ("" where none fired).
func journalFaults(m *Mock) []string {
	var out []string
	for _, e := range m.Journal() {
		out = append(out, e.Fault)
	}
	return out
}

// Ensure a fault on a login answers INTERNAL_ERROR by default, once, is listed with
// its count, and is journaled with its id (the client sees status.code in the body).
func TestFaultDefaultAnswerOnLogin(t *testing.T) {
	h := startVersion(t, "R10")
	id := h.addFault(`{"operation":"authentication/token"}`)

	r := h.post("authentication/token", creds())
	assert.Equal(t, http.StatusOK, r.HTTP, "docs/web-api.md: errors answer HTTP 200 by default")
	assert.Equal(t, "INTERNAL_ERROR", r.Status.Code, "%s", r.Raw)
	assert.Contains(t, *r.Status.Description, id)
	assert.Equal(t, "null", string(r.Data))
	h.login() // times defaults to 1: the next login goes through

	f := h.faultList()[id]
	assert.EqualValues(t, 1, f["fired"])
	assert.EqualValues(t, 1, f["times"])
	assert.Equal(t, false, f["active"])
	assert.Equal(t, []string{id, ""}, journalFaults(h.Mock))
}

// Ensure answer code, message and HTTP status, after and times over HTTP.
func TestFaultAnswerAfterTimes(t *testing.T) {
	h := startVersion(t, "R12")
	tok := h.login()
	id := h.addFault(`{"operation":"contact_information/show","after":1,"times":2,
		"answer":{"code":"TOKEN_EXPIRED","message":"Session timed out","http_status":503}}`)
	var codes []string
	for range 4 {
		r := h.use(tok)
		codes = append(codes, r.Status.Code)
		if r.Status.Code == "TOKEN_EXPIRED" {
			assert.Equal(t, http.StatusServiceUnavailable, r.HTTP)
			assert.Equal(t, "Session timed out", *r.Status.Message)
		}
	}
	assert.Equal(t, []string{"OK", "TOKEN_EXPIRED", "TOKEN_EXPIRED", "OK"}, codes)
	f := h.faultList()[id]
	assert.EqualValues(t, 2, f["fired"])
	assert.EqualValues(t, 3, f["seen"])
	tk, _ := h.Token(tok)
	assert.Equal(t, StateLive, tk.State, "an injected TOKEN_EXPIRED does not touch the store")
	tl, ok := h.TokenTimeline(tok)
	require.True(t, ok)
	assert.Equal(t, 2, tl.Rejections, "the timeline shows the rejections the client saw")

	// times 0: until deleted, on every method.
	any := h.addFault(`{"operation":"*","times":0,"answer":{"code":"INVALID_TOKEN"}}`)
	for range 3 {
		assert.Equal(t, "INVALID_TOKEN", h.code(h.use(tok)))
	}
	assert.Equal(t, "INVALID_TOKEN", h.code(h.post("authentication/token", creds())))
	st, _ := h.admin("DELETE", "/__admin/faults/"+any, "")
	assert.Equal(t, http.StatusOK, st)
	assert.Equal(t, "OK", h.code(h.use(tok)))
	st, v := h.admin("DELETE", "/__admin/faults/"+any, "")
	assert.Equal(t, http.StatusNotFound, st)
	assert.Contains(t, v["error"], any)
}

// Ensure match.user takes a login's username and the user of a presented token,
// match.key a key login's key and the key that issued a presented token, and
// match.token the token presented.
func TestFaultMatch(t *testing.T) {
	h := startVersion(t, "R10")
	admin := h.login()
	keyTok := h.keyLogin()
	r := h.loginAs("branchuser", "5678")
	require.Equal(t, "OK", h.code(r))
	branch := r.token(t)

	h.addFault(`{"operation":"*","times":0,"match":{"user":"branchuser"}}`)
	assert.Equal(t, "OK", h.code(h.post("authentication/token", creds())), "another user's login")
	assert.Equal(t, "INTERNAL_ERROR", h.code(h.loginAs("branchuser", "5678")), "the user's login")
	assert.Equal(t, "INTERNAL_ERROR", h.code(h.use(branch)), "a token of the user")
	assert.Equal(t, "OK", h.code(h.use(admin)))
	h.ClearFaults()

	h.addFault(`{"operation":"*","times":0,"match":{"key":"` + docKey + `"}}`)
	assert.Equal(t, "INTERNAL_ERROR", h.code(h.use(keyTok)), "a token the key issued")
	assert.Equal(t, "OK", h.code(h.use(admin)), "a token of the key's user, issued by a login")
	assert.Equal(t, "INTERNAL_ERROR", h.code(h.post("authentication/web_api_key/token", nil, "Authorization", basic(docKey))))
	h.ClearFaults()

	h.addFault(`{"operation":"authentication/web_api_key/token","match":{"user":"` + docUser + `"}}`)
	assert.Equal(t, "INTERNAL_ERROR", h.code(h.post("authentication/web_api_key/token", nil, "Authorization", basic(docKey))),
		"a key login matches its key's user")
	h.ClearFaults()

	h.addFault(`{"operation":"authentication/token/release","match":{"token":"` + admin + `"}}`)
	assert.Equal(t, "OK", h.code(h.post("authentication/token/release", map[string]string{"token": branch})))
	assert.Equal(t, "INTERNAL_ERROR", h.code(h.post("authentication/token/release", map[string]string{"token": admin})))
	assert.Equal(t, "OK", h.code(h.post("authentication/token/release", map[string]string{"token": admin})), "spent")
	fired := h.Journal()[len(h.Journal())-2]
	assert.Equal(t, "f4", fired.Fault)
	assert.Equal(t, admin, fired.Token, "the journal shows the token the faulted request presented")
	assert.Equal(t, "INTERNAL_ERROR", fired.Code)
	assert.Contains(t, fired.Description, "injected by fault f4")
}

// Ensure a fault answers only requests the contract accepts: a violation is answered
// INVALID_REQUEST and does not count, nor does a method the release lacks.
func TestFaultOnlyOnAcceptedRequests(t *testing.T) {
	h := startVersion(t, "pre-R10")
	id := h.addFault(`{"operation":"*","times":0}`)
	r := h.post("authentication/token", `{"username":"mpadministrator"}`)
	assert.Equal(t, "INVALID_REQUEST", h.code(r))
	r = h.post("authentication/web_api_key/token", nil, "Authorization", basic(docKey))
	assert.Equal(t, "METHOD_NOT_AVAILABLE", h.code(r), "F7: no key tokens before R10")
	f := h.faultList()[id]
	assert.EqualValues(t, 0, f["seen"])
	assert.EqualValues(t, 0, f["fired"])
	assert.Equal(t, "INTERNAL_ERROR", h.code(h.post("authentication/token", creds())))
}

// Ensure a delay holds the answer at least that long (wall time), then answers
// normally when no answer is given, or with the answer when one is.
func TestFaultDelay(t *testing.T) {
	h := startVersion(t, "R12")
	const d = 150 * time.Millisecond
	id := h.addFault(`{"operation":"authentication/token","delay":"150ms"}`)
	t0 := time.Now()
	r := h.post("authentication/token", creds())
	assert.GreaterOrEqual(t, time.Since(t0), d)
	assert.Equal(t, "OK", h.code(r), "a delay alone answers normally, late")
	r.token(t)
	assert.Equal(t, []string{id}, journalFaults(h.Mock))

	h.addFault(`{"operation":"authentication/token","delay":"150ms","answer":{"code":"INTERNAL_ERROR"}}`)
	t0 = time.Now()
	r = h.post("authentication/token", creds())
	assert.GreaterOrEqual(t, time.Since(t0), d)
	assert.Equal(t, "INTERNAL_ERROR", h.code(r))
}

// Ensure a delay holds no lock and no worker other requests need: while one login
// waits on a long delay (on a fake wall clock), other logins, uses and control calls
// are answered; the delayed one is answered when the wall clock reaches the delay.
func TestFaultDelayHoldsNothing(t *testing.T) {
	wall := clockwork.NewFakeClock()
	h := start(t, Options{Version: "R10", WallClock: wall})
	tok := h.login()
	h.addFault(`{"operation":"*","match":{"user":"branchuser"},"delay":"1h"}`)

	done := make(chan reply, 1)
	go func() { done <- h.loginAs("branchuser", "5678") }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, wall.BlockUntilContext(ctx, 1), "the delayed login waits on the wall clock")

	h.login()
	assert.Equal(t, "OK", h.code(h.use(tok)))
	_, err := h.Advance(2 * time.Hour) // the mock clock moves; the fault waits on wall time
	require.NoError(t, err)
	st, _ := h.admin("GET", "/__admin/tokens", "")
	assert.Equal(t, http.StatusOK, st)
	select {
	case <-done:
		t.Fatal("the delayed login was answered before its delay passed")
	default:
	}
	wall.Advance(time.Hour)
	r := <-done
	assert.Equal(t, "OK", h.code(r))
	tk, ok := h.Token(r.token(t))
	require.True(t, ok)
	assert.Equal(t, t0.Add(2*time.Hour), tk.IssuedAt, "the token is issued at the mock time after the delay")
}

// Ensure a client that goes away during a delay ends the wait, and the request is
// journaled with the fault id and no status.
func TestFaultDelayClientGone(t *testing.T) {
	wall := clockwork.NewFakeClock()
	h := start(t, Options{Version: "R10", WallClock: wall})
	id := h.addFault(`{"operation":"authentication/token","delay":"1h"}`)
	ctx, cancel := context.WithCancel(context.Background())
	body, _ := json.Marshal(creds())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.APIURL("authentication/token"), bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	errc := make(chan error, 1)
	go func() {
		resp, err := h.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	require.NoError(t, wall.BlockUntilContext(wctx, 1))
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	require.Eventually(t, func() bool { return len(h.Journal()) == 1 }, 10*time.Second, 5*time.Millisecond)
	e := h.Journal()[0]
	assert.Equal(t, id, e.Fault)
	assert.Equal(t, 0, e.Status, "no answer was written")
	assert.Contains(t, e.Description, "went away")
	require.Eventually(t, func() bool { return !hasWaiters(wall) }, 10*time.Second, 5*time.Millisecond, "the delay's timer is stopped")
}

// hasWaiters reports whether a fake clock still has a timer.
func hasWaiters(c *clockwork.FakeClock) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	return c.BlockUntilContext(ctx, 1) == nil
}

// Ensure drop_connection closes the connection without an answer: the client sees a
// transport error, the next request is served, and the journal has the fault id.
func TestFaultDropConnection(t *testing.T) {
	h := startVersion(t, "R12")
	id := h.addFault(`{"operation":"authentication/token","drop_connection":true}`)
	body, _ := json.Marshal(creds())
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Post(h.APIURL("authentication/token"), "application/json", bytes.NewReader(body))
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "a dropped connection is a transport error")
	assert.NotContains(t, err.Error(), "timeout")
	h.login()
	assert.Equal(t, []string{id, ""}, journalFaults(h.Mock))
	e := h.Journal()[0]
	assert.Equal(t, 0, e.Status)
	assert.Equal(t, "authentication/token", e.Operation)
	assert.Contains(t, e.Description, "connection dropped by fault "+id)

	// GET with times 0: even a client that retries an idempotent request sees the drop.
	tok := h.login()
	h.addFault(`{"operation":"contact_information/show","drop_connection":true,"times":0}`)
	_, err = client.Get(h.APIURL("contact_information/show") + "?token=" + url.QueryEscape(tok))
	require.Error(t, err)
}

// Ensure a connection that cannot be hijacked gets INTERNAL_ERROR, never a panic.
func TestFaultDropWithoutHijacker(t *testing.T) {
	m, err := New(Options{Version: "R10", Start: t0})
	require.NoError(t, err)
	_, err = m.AddFault(FaultSpec{Operation: "authentication/token", DropConnection: true})
	require.NoError(t, err)
	body, _ := json.Marshal(creds())
	req := httptest.NewRequest(http.MethodPost, docBasePath+"/authentication/token", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, req)
	assert.Contains(t, rec.Body.String(), `"code":"INTERNAL_ERROR"`)
	assert.Contains(t, rec.Body.String(), "cannot be dropped")
}

// Ensure bad fault bodies answer 400 naming the field, and nothing is added.
func TestFaultBadBodies(t *testing.T) {
	h := startVersion(t, "R12")
	for body, field := range map[string]string{
		`{"operation":"authentication/tokens/x"}`:          "operation",
		`{"operation":"*","times":-1}`:                     "times",
		`{"operation":"*","after":-3}`:                     "after",
		`{"operation":"*","delay":"soon"}`:                 "delay",
		`{"operation":"*","answer":{"code":"OK"}}`:         "answer.code",
		`{"operation":"*","drop":true}`:                    "drop",
		`{"operation":"*","match":{"user":"a","org":"b"}}`: "org",
		`{"operation":`:                                    "body",
		// 204 and 304 carry no body: the client would never see the status.code journaled.
		`{"operation":"*","answer":{"code":"INTERNAL_ERROR","http_status":204}}`: "answer.http_status",
		`{"operation":"*","answer":{"code":"INTERNAL_ERROR","http_status":304}}`: "answer.http_status",
		// operations the contract's path patterns refuse: no request would ever match them.
		`{"operation":"../token"}`:                 "operation",
		`{"operation":"Contact_information/show"}`: "operation",
		`{"operation":"contact-information/show"}`: "operation",
		`{"operation":"contact_information/9"}`:    "operation",
	} {
		st, v := h.admin("POST", "/__admin/faults", body)
		assert.Equal(t, http.StatusBadRequest, st, body)
		assert.Regexp(t, `^`+strings.ReplaceAll(field, ".", `\.`)+`: `, v["error"], body)
	}
	assert.Empty(t, h.faultList())
	_, err := h.AddFault(FaultSpec{Operation: "*", Answer: &FaultAnswer{Code: "OK"}})
	assert.ErrorContains(t, err, "answer.code")
	_, err = h.AddFault(FaultSpec{Operation: "Contact/show"})
	assert.ErrorContains(t, err, "operation")
	for _, op := range []string{"contact_information/show", "a/b", "authentication/web_api_key", "*", "authentication/token/release"} {
		_, err = h.AddFault(FaultSpec{Operation: op})
		assert.NoError(t, err, op)
	}
}

// Ensure the Go API, DELETE /__admin/faults and reset drop faults; firings are logged at info.
func TestFaultGoAPIAndLog(t *testing.T) {
	var logs syncBuffer
	h := start(t, Options{Version: "R10", Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	f, err := h.AddFault(FaultSpec{Operation: "authentication/token", Times: FaultForever, Answer: &FaultAnswer{Code: "INVALID_CREDENTIALS"}})
	require.NoError(t, err)
	assert.Equal(t, "INVALID_CREDENTIALS", h.code(h.post("authentication/token", creds())))
	assert.Contains(t, logs.String(), "fault fired")
	assert.Contains(t, logs.String(), "fault="+f.ID)
	require.Len(t, h.Faults(), 1)
	assert.Equal(t, 1, h.Faults()[0].Fired)

	st, _ := h.admin("DELETE", "/__admin/faults", "")
	assert.Equal(t, http.StatusOK, st)
	assert.Empty(t, h.Faults())
	h.login()

	h.addFault(`{"operation":"*","times":0}`)
	st, _ = h.admin("POST", "/__admin/reset", "")
	assert.Equal(t, http.StatusOK, st)
	assert.Empty(t, h.Faults(), "reset drops faults with tokens and journal")
	h.login()
	assert.False(t, h.DeleteFault("f99"))
}

// Ensure a fault answer follows --error-status mapped unless it names its status.
func TestFaultMappedStatus(t *testing.T) {
	h := start(t, Options{Version: "R10", MappedErrors: true})
	h.addFault(`{"operation":"authentication/token","answer":{"code":"INVALID_TOKEN"}}`)
	r := h.post("authentication/token", creds())
	assert.Equal(t, http.StatusUnauthorized, r.HTTP)
	assert.Equal(t, "INVALID_TOKEN", h.code(r))
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Ensure POST /__admin/tokens/{token}/expire: TOKEN_EXPIRED from then on for that
// token alone; unknown → 404, released → 409.
func TestTokenExpireOverHTTP(t *testing.T) {
	h := startVersion(t, "R10")
	a, b := h.login(), h.login()
	st, v := h.admin("POST", "/__admin/tokens/"+a+"/expire", "")
	require.Equal(t, http.StatusOK, st, "%v", v)
	assert.Equal(t, "expired", v["state"])
	assert.Equal(t, "2024-01-01T09:00:00Z", v["expires_at"], "it expires now, on the mock clock")
	assert.Equal(t, "TOKEN_EXPIRED", h.code(h.use(a)))
	assert.Equal(t, "OK", h.code(h.use(b)))
	st, _ = h.admin("POST", "/__admin/tokens/"+a+"/expire", "")
	assert.Equal(t, http.StatusOK, st, "expiring an expired token changes nothing")

	st, v = h.admin("POST", "/__admin/tokens/0123456789ABCDEF0123456789ABCDEF/expire", "")
	assert.Equal(t, http.StatusNotFound, st)
	assert.Contains(t, v["error"], "token")
	require.Equal(t, "OK", h.code(h.post("authentication/token/release", map[string]string{"token": b})))
	st, v = h.admin("POST", "/__admin/tokens/"+b+"/expire", "")
	assert.Equal(t, http.StatusConflict, st)
	assert.Contains(t, v["error"], "released")
}

// Ensure POST /__admin/tokens/{token}/revoke forgets one token (INVALID_TOKEN, as
// after a server restart) and POST /__admin/tokens/revoke every one; new logins work.
func TestTokenRevokeOverHTTP(t *testing.T) {
	h := startVersion(t, "R12")
	a, b, c := h.login(), h.login(), h.keyLogin()
	st, v := h.admin("POST", "/__admin/tokens/"+a+"/revoke", "")
	require.Equal(t, http.StatusOK, st, "%v", v)
	assert.Equal(t, "INVALID_TOKEN", h.code(h.use(a)))
	assert.Equal(t, "OK", h.code(h.use(b)))
	st, _ = h.admin("GET", "/__admin/tokens/"+a, "")
	assert.Equal(t, http.StatusNotFound, st, "a revoked token is forgotten")
	st, _ = h.admin("POST", "/__admin/tokens/"+a+"/revoke", "")
	assert.Equal(t, http.StatusNotFound, st)

	st, v = h.admin("POST", "/__admin/tokens/revoke", "")
	require.Equal(t, http.StatusOK, st)
	assert.EqualValues(t, 2, v["revoked"])
	assert.Equal(t, "INVALID_TOKEN", h.code(h.use(b)))
	assert.Equal(t, "INVALID_TOKEN", h.code(h.use(c)))
	assert.Equal(t, "OK", h.code(h.use(h.login())))

	// In a sandbox, revoking every token leaves the root's alone.
	root := h.login()
	s := h.createSandbox(`{}`)
	ts := s.login()
	st, _ = s.admin("POST", "/tokens/revoke", "")
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, "INVALID_TOKEN", s.use(ts))
	assert.Equal(t, "OK", h.code(h.use(root)))
}

// Ensure Server.Close does not wait for requests held by delay fault: with a 1 h delay
// on a wall clock that never moves, at the root and in a sandbox, Close returns, each
// held client gets its answer (the fault's effect, early) or a closed connection, never
// a hang, and the delays' timers are gone.
func TestServerCloseEndsFaultDelays(t *testing.T) {
	wall := clockwork.NewFakeClock()
	s, err := NewServer(Options{Version: "R10", Start: t0, WallClock: wall})
	require.NoError(t, err)
	defer s.Close()
	sb, err := s.NewSandbox(SandboxOptions{})
	require.NoError(t, err)
	_, err = s.AddFault(FaultSpec{Operation: "authentication/token", Delay: time.Hour})
	require.NoError(t, err)
	_, err = sb.AddFault(FaultSpec{Operation: "authentication/token", Delay: time.Hour, Answer: &FaultAnswer{Code: "INTERNAL_ERROR"}})
	require.NoError(t, err)

	body, _ := json.Marshal(creds())
	client := &http.Client{Transport: &http.Transport{}}
	type result struct {
		code string
		err  error
	}
	urls := map[string]string{"root": s.APIURL("authentication/token"), "sandbox": sb.BaseURL(s.URL) + "/authentication/token"}
	results := map[string]chan result{}
	for name, u := range urls {
		results[name] = make(chan result, 1)
		go func() {
			resp, err := client.Post(u, "application/json", bytes.NewReader(body))
			if err != nil {
				results[name] <- result{err: err}
				return
			}
			defer resp.Body.Close()
			var env struct {
				Status struct{ Code string } `json:"status"`
			}
			err = json.NewDecoder(resp.Body).Decode(&env)
			results[name] <- result{code: env.Status.Code, err: err}
		}()
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	require.NoError(t, wall.BlockUntilContext(wctx, 3), "both logins wait in their delays (and the sandbox TTL on its timer)")

	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		wall.Advance(time.Hour) // let the held requests and Close end before failing
		t.Fatal("Server.Close waits for requests held by a delay fault")
	}
	for name, want := range map[string]string{"root": "OK", "sandbox": "INTERNAL_ERROR"} {
		select {
		case r := <-results[name]:
			if r.err == nil {
				assert.Equal(t, want, r.code, "%s: a held request is answered with the fault's effect, early", name)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the held client got neither an answer nor a closed connection", name)
		}
	}
	assert.False(t, hasWaiters(wall), "the delays' timers are stopped")
}

// Ensure a closed Mock (serving in process, as in a custom server) holds no request in
// a delay any more, a sandbox created after the root closed neither, and Close may be
// called twice.
func TestMockCloseSkipsLaterDelays(t *testing.T) {
	wall := clockwork.NewFakeClock()
	m, err := New(Options{Version: "R10", Start: t0, WallClock: wall})
	require.NoError(t, err)
	m.Close()
	m.Close()
	sb, err := m.NewSandbox(SandboxOptions{})
	require.NoError(t, err)
	for _, mock := range []*Mock{m, sb.Mock} {
		_, err = mock.AddFault(FaultSpec{Operation: "authentication/token", Delay: time.Hour})
		require.NoError(t, err)
		body, _ := json.Marshal(creds())
		done := make(chan *httptest.ResponseRecorder, 1)
		go func() {
			req := httptest.NewRequest(http.MethodPost, docBasePath+"/authentication/token", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			mock.ServeHTTP(w, req)
			done <- w
		}()
		select {
		case w := <-done:
			assert.Contains(t, w.Body.String(), `"code":"OK"`)
		case <-time.After(10 * time.Second):
			wall.Advance(time.Hour)
			t.Fatal("a closed mock held a request in a delay")
		}
		assert.Equal(t, []string{mock.Faults()[0].ID}, journalFaults(mock), "the firing is journaled")
	}
}

// Ensure deleting a sandbox answers a request held in one of its delays at once (it
// would otherwise hold its client for the whole delay in a sandbox that is gone).
func TestSandboxDeleteEndsFaultDelays(t *testing.T) {
	wall := clockwork.NewFakeClock()
	h := start(t, Options{Version: "R10", WallClock: wall})
	sb, err := h.NewSandbox(SandboxOptions{})
	require.NoError(t, err)
	_, err = sb.AddFault(FaultSpec{Operation: "authentication/token", Delay: time.Hour})
	require.NoError(t, err)
	body, _ := json.Marshal(creds())
	done := make(chan string, 1)
	go func() {
		resp, err := h.Client().Post(sb.BaseURL(h.URL)+"/authentication/token", "application/json", bytes.NewReader(body))
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		done <- string(raw)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, wall.BlockUntilContext(ctx, 2), "the sandbox TTL's timer and the delay")
	require.True(t, h.DeleteSandbox(sb.ID))
	select {
	case got := <-done:
		assert.Contains(t, got, `"code":"OK"`)
	case <-time.After(10 * time.Second):
		wall.Advance(time.Hour)
		t.Fatal("a deleted sandbox held a request in its delay")
	}
}
