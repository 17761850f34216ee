// Cross-cutting suite (keeps its name): abuse of the server as a whole (journal, logs, faults, sandboxes, clock, control API).

package mockserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/testutil"
	"github.com/crmmock/crmmock/internal/tokens"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Focused tests from the attack round: what the hostile cases (testdata/hostile)
// cannot express as one request and its answer.

// Ensure the journal keeps no request line: net/http slices the method and the path
// out of the line it read (up to MaxHeaderBytes), so an entry that kept a method, a
// path or an operation as given would keep the whole line alive. 600 requests with
// 60 KB lines (a long query token, a long action, a long method) stay a few MB in the
// journal, not 38 MB; every kept string is at most 2 KiB.
func TestJournalKeepsNoRequestLine(t *testing.T) {
	h := startVersion(t, "R10")
	long := strings.Repeat("a", 60000)
	send := func(method, target string) {
		req, err := http.NewRequest(method, h.URL+h.BasePath()+target, nil)
		require.NoError(t, err)
		resp, err := h.Client().Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	send("GET", "/contact_information/show") // warm up the connection and the pools
	before := testutil.LiveHeap()
	const n = 200
	for range n {
		send("GET", "/contact_information/show?token="+long) // a long line, short method and path
		send("GET", "/contact_information/"+long)            // a long action: the operation
		send(strings.ToUpper(long), "/contact_information/show")
	}
	grown := int64(testutil.LiveHeap()) - int64(before)
	t.Logf("heap grew %d MB", grown>>20)
	j := h.Journal()
	require.Len(t, j, 3*n+1)
	for _, e := range j {
		for _, s := range []string{e.Method, e.Path, e.Operation, e.Description, e.Token} {
			require.LessOrEqual(t, len(s), journalTextLimit, "entry %d keeps a string of %d bytes", e.ID, len(s))
		}
	}
	assert.Equal(t, "contact_information/"+long[:journalTextLimit-len("contact_information/")], j[2].Operation, "a long operation is cut, not dropped")
	assert.Less(t, grown, int64(12<<20), "the journal of %d long requests grew the heap by %d MB", 3*n, grown>>20)
	runtime.KeepAlive(h)

	// A request handed to ServeHTTP in process (no request line, no RequestURI) is cut too.
	req, err := http.NewRequest("GET", h.BasePath()+"/contact_information/"+long, nil)
	require.NoError(t, err)
	h.Mock.ServeHTTP(httptest.NewRecorder(), req)
	j = h.Journal()
	e := j[len(j)-1]
	assert.LessOrEqual(t, len(e.Path), journalTextLimit)
	assert.LessOrEqual(t, len(e.Operation), journalTextLimit)
}

// Ensure a sandbox's control API never hands a client over to the root's: a control
// path with a doubled slash or a dot segment used to answer 301 with the path minus
// the sandbox prefix, so a client following redirects read (or reset) the root.
func TestSandboxUncleanControlPathStaysInside(t *testing.T) {
	h := startVersion(t, "R12")
	s := h.createSandbox(`{"start":"2030-01-01T00:00:00Z"}`)
	for _, p := range []string{"//clock", "/./clock", "/x/../clock"} {
		resp, err := h.Client().Get(s.adminU + p) // follows redirects, as most clients do
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s: %s", p, body)
		assert.NotContains(t, string(body), `"now":"2024-01-01T09:00:00Z"`, "%s answered the root's clock", p)
	}
}

// Ensure a client that goes away during a delay ends the wait also when it sent a GET
// with a body: net/http notices a closed connection only once the body is read to its
// end, and nothing read a GET's body, so the delay ran its full hour and the request
// was journaled as answered.
func TestFaultDelayClientGoneGETWithBody(t *testing.T) {
	wall := clockwork.NewFakeClock()
	h := start(t, Options{Version: "R10", WallClock: wall})
	t.Cleanup(func() { wall.Advance(2 * time.Hour) }) // a wait that did not end must not hold Close
	tok := h.login()
	id := h.addFault(`{"operation":"contact_information/show","delay":"1h"}`)
	conn, err := net.Dial("tcp", h.Addr())
	require.NoError(t, err)
	_, err = fmt.Fprintf(conn, "GET %s/contact_information/show?token=%s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde", h.BasePath(), tok)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, wall.BlockUntilContext(ctx, 1), "the delay is waiting")
	require.NoError(t, conn.Close())
	require.Eventually(t, func() bool { return !hasWaiters(wall) }, 10*time.Second, 5*time.Millisecond, "the wait ends when the client goes")
	require.Eventually(t, func() bool { return len(h.Journal()) == 2 }, 10*time.Second, 5*time.Millisecond)
	e := h.Journal()[1]
	assert.Equal(t, id, e.Fault)
	assert.Equal(t, 0, e.Status, "no answer was written")
	assert.Contains(t, e.Description, "went away")
}

// Ensure a delay longer than the server's WriteTimeout still ends in the answer the
// journal records: net/http's write deadline counts from the request, so after a long
// delay the envelope was silently lost (the client saw a closed connection).
func TestFaultDelayOutlastsWriteTimeout(t *testing.T) {
	wall := clockwork.NewFakeClock()
	m, err := New(Options{Version: "R10", Start: t0, WallClock: wall})
	require.NoError(t, err)
	srv := NewHTTPServer(m, nil)
	srv.WriteTimeout = 100 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	_, err = m.AddFault(FaultSpec{Operation: "authentication/token", Delay: time.Hour, Answer: &FaultAnswer{Code: "INTERNAL_ERROR"}})
	require.NoError(t, err)

	type result struct {
		code string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+m.BasePath()+"/authentication/token", "application/json",
			strings.NewReader(`{"username":"`+docUser+`","password":"`+docPass+`","organisation":"`+docOrg+`"}`))
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		code, _, _ := parseEnvelope(b)
		done <- result{code, err}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, wall.BlockUntilContext(ctx, 1), "the delay is waiting")
	time.Sleep(3 * srv.WriteTimeout) // past the write deadline, in real time
	wall.Advance(time.Hour)
	select {
	case r := <-done:
		require.NoError(t, r.err, "the answer after the delay reaches the client")
		assert.Equal(t, "INTERNAL_ERROR", r.code)
	case <-ctx.Done():
		t.Fatal("no answer")
	}
}

// Ensure the server as a whole holds under concurrent clients across the root and
// sandboxes (bounded: 10 workers × 40 rounds, loopback): sandboxes created past the
// limit (429), used, moved, deleted and dropped by TTL sweeps while in use; faults
// added and cleared while firing; tokens expired, revoked and swept (KeepDead: none)
// while presented; journals, timelines, lint and lists read all along. Every answer is
// JSON (the envelope on the Web API), nothing panics, the limit holds, and afterwards
// the root answers as before.
func TestConcurrentRootAndSandboxes(t *testing.T) {
	const workers, rounds, maxSB = 10, 40, 6
	wall := clockwork.NewFakeClock()
	var logs syncBuffer
	h := start(t, Options{Version: "R10", WallClock: wall, MaxSandboxes: maxSB, SandboxTTL: time.Minute, KeepDead: -1,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	rootTok := h.login()
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	login, _ := json.Marshal(creds())

	var (
		mu       sync.Mutex
		problems []string
		tooMany  int
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	// do sends a request; it answers the HTTP status and the decoded JSON (nil on a
	// transport error, which only a dropped connection may cause).
	do := func(method, u, body string) (int, map[string]any) {
		req, err := http.NewRequest(method, u, strings.NewReader(body))
		if err != nil {
			fail("%s %s: %v", method, u, err)
			return 0, nil
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var v map[string]any
		if err := json.Unmarshal(raw, &v); err != nil {
			fail("%s %s: %d, not JSON: %q", method, u, resp.StatusCode, clipBody(raw))
		}
		return resp.StatusCode, v
	}
	api := func(base, method, path, body string) (string, map[string]any) {
		_, v := do(method, base+path, body)
		if v == nil {
			return "", nil
		}
		c := statusCode(v)
		if c == "" {
			fail("%s %s: no status.code in %v", method, path, v)
		}
		return c, v
	}
	token := func(v map[string]any) string {
		d, _ := v["data"].(map[string]any)
		s, _ := d["token"].(string)
		return s
	}
	rootBase := h.URL + h.BasePath()

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				switch w % 5 {
				case 0, 1: // a parallel suite: its own sandbox, used then (sometimes) deleted
					st, v := do("POST", h.URL+"/__admin/sandboxes", `{"version":"R12"}`)
					if st == http.StatusTooManyRequests {
						mu.Lock()
						tooMany++
						mu.Unlock()
						continue
					}
					if st != http.StatusCreated {
						fail("create: %d %v", st, v)
						continue
					}
					base, admin, id := v["base_url"].(string), v["admin_url"].(string), v["id"].(string)
					c, lv := api(base, "POST", "/authentication/token", string(login))
					tok := token(lv)
					if c == "OK" {
						api(base, "GET", "/contact_information/show?token="+url.QueryEscape(tok), "")
						do("POST", admin+"/clock/advance", `{"duration":"61m"}`)
						do("GET", admin+"/tokens/"+url.PathEscape(tok), "")
						do("POST", admin+"/faults", `{"operation":"*","times":2}`)
						api(base, "GET", "/contact_information/show?token="+url.QueryEscape(tok), "")
						do("GET", admin+"/requests?limit=5", "")
						do("GET", admin+"/lint", "")
					}
					if i%3 != 0 { // the others are left to the TTL sweeps
						do("DELETE", h.URL+"/__admin/sandboxes/"+id, "")
					}
				case 2: // the root's client: log in, use, release; faults come and go under it
					c, lv := api(rootBase, "POST", "/authentication/token", string(login))
					tok := token(lv)
					if c == "OK" {
						api(rootBase, "GET", "/contact_information/show?token="+url.QueryEscape(tok), "")
						api(rootBase, "POST", "/authentication/token/release", `{"token":"`+tok+`"}`)
					}
					if i%5 == 0 {
						do("POST", h.URL+"/__admin/faults", `{"operation":"contact_information/show","after":1,"times":3,"answer":{"code":"TOKEN_EXPIRED"}}`)
					}
					if i%7 == 0 {
						do("DELETE", h.URL+"/__admin/faults", "")
					}
				case 3: // token faults on tokens in use, and the store's sweeps (KeepDead: none)
					c, lv := api(rootBase, "POST", "/authentication/token", string(login))
					tok := token(lv)
					if c != "OK" {
						continue
					}
					switch i % 3 {
					case 0:
						do("POST", h.URL+"/__admin/tokens/"+tok+"/expire", "")
					case 1:
						do("POST", h.URL+"/__admin/tokens/"+tok+"/revoke", "")
					}
					api(rootBase, "GET", "/contact_information/show?token="+url.QueryEscape(tok), "")
					do("GET", h.URL+"/__admin/tokens/"+tok, "")
				case 4: // readers, and the wall clock that drives the sandbox TTL sweeps
					do("GET", h.URL+"/__admin/sandboxes", "")
					do("GET", h.URL+"/__admin/tokens", "")
					do("GET", h.URL+"/__admin/requests?limit=50&code=OK", "")
					do("GET", h.URL+"/__admin/lint", "")
					do("GET", h.URL+"/__admin/faults", "")
					if i%4 == 0 {
						wall.Advance(40 * time.Second)
					}
				}
			}
		})
	}
	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	assert.LessOrEqual(t, len(h.Sandboxes()), maxSB)
	assert.NotContains(t, logs.String(), "panic")
	h.ClearFaults()
	assert.Equal(t, "OK", h.code(h.use(rootTok)), "the root's first token is still live: sandboxes never moved its clock")
	st, _ := do("GET", h.URL+"/__admin/health", "")
	assert.Equal(t, http.StatusOK, st)
	t.Logf("%d creates refused at the limit of %d", tooMany, maxSB)
}

// Ensure a token presented a million times (and rejected in between) keeps 16 + 16
// events and exact counts, and its timeline stays time-ordered with the expiry in its
// place: the event list does not grow with the presentations.
func TestTokenTimelineMillionPresentations(t *testing.T) {
	n := 1_000_000
	if raceEnabled {
		n = 100_000
	}
	h := startVersion(t, "R10")
	tok := h.login()
	r := h.tokens.Holding(tok)
	require.NotNil(t, r)
	for i := range n {
		kind, code := tokens.EvUsed, CodeOK
		if i%10 == 9 {
			kind, code = tokens.EvRejected, CodeInternal // a fault's answer on a live token
		}
		h.tokens.Note(r, kind, uint64(i+2), t0.UnixNano()+int64(i), eventCode(code))
	}
	first, last, capacity, _ := h.tokens.EventsKept(r)
	require.Equal(t, tokens.EventKeep, first)
	require.Equal(t, tokens.EventKeep, last)
	assert.LessOrEqual(t, capacity, 4*tokens.EventKeep, "the lists never grow past their bound")
	h.advance(2 * time.Hour)
	tl, ok := h.TokenTimeline(tok)
	require.True(t, ok)
	assert.Equal(t, n-n/10, tl.Uses)
	assert.Equal(t, n/10, tl.Rejections)
	assert.Equal(t, n-2*tokens.EventKeep, tl.Omitted)
	require.Len(t, tl.Events, 1+2*tokens.EventKeep+1, "issued, 16 + 16 kept, expired")
	for i := 1; i < len(tl.Events); i++ {
		assert.False(t, tl.Events[i].Time.Before(tl.Events[i-1].Time), "events out of order at %d", i)
	}
	assert.Equal(t, "expired", tl.Events[len(tl.Events)-1].Event)
}

// Ensure the fault set is bounded as the rest of the mock is: a fault body is at most
// 16 KiB (a 1 MiB message used to be kept, and nothing limited how many: a client
// could hold gigabytes with a few thousand posts), at most MaxFaults faults are set
// (429 beyond, naming the way out), and with thousands set the right one still fires.
func TestFaultSetBounded(t *testing.T) {
	h := startVersion(t, "R10")
	big := `{"operation":"*","answer":{"code":"INTERNAL_ERROR","message":"` + strings.Repeat("m", 1<<20-100) + `"}}`
	st, v := h.admin("POST", "/__admin/faults", big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, st, "%.200v", v)
	assert.Contains(t, v["error"], "16384")
	assert.Empty(t, h.Faults())

	for i := range MaxFaults - 1 {
		_, err := h.AddFault(FaultSpec{Operation: "authentication/token", Match: FaultMatch{User: fmt.Sprintf("user%d", i)}, Times: FaultForever})
		require.NoError(t, err)
	}
	h.addFault(`{"operation":"authentication/token","match":{"user":"` + docUser + `"},"answer":{"code":"INVALID_CREDENTIALS"}}`)
	st, v = h.admin("POST", "/__admin/faults", `{"operation":"*"}`)
	assert.Equal(t, http.StatusTooManyRequests, st, "%v", v)
	assert.Contains(t, v["error"], "DELETE /__admin/faults")
	_, err := h.AddFault(FaultSpec{Operation: "*"})
	assert.ErrorIs(t, err, ErrTooManyFaults)

	assert.Equal(t, "INVALID_CREDENTIALS", h.code(h.post("authentication/token", creds())), "the last of %d faults fires", MaxFaults)
	assert.Equal(t, "OK", h.code(h.post("authentication/token", creds())), "once")
	require.True(t, h.DeleteFault("f1"))
	h.addFault(`{"operation":"*"}`) // room again
}

// Ensure the fault bound holds for the root and its sandboxes together: each sandbox
// held its own 10 000, so 256 sandboxes of faults with 16 KiB bodies could hold about
// 41 GB (one root's 10 000 measured 295 MB RSS). Deleting faults, resetting or
// dropping a sandbox gives room back.
func TestFaultBoundSharedWithSandboxes(t *testing.T) {
	h := startVersion(t, "R10")
	for i := range MaxFaults - 2 {
		_, err := h.AddFault(FaultSpec{Operation: "authentication/token", Match: FaultMatch{User: fmt.Sprintf("user%d", i)}, Times: FaultForever})
		require.NoError(t, err)
	}
	a, err := h.NewSandbox(SandboxOptions{})
	require.NoError(t, err)
	b := h.createSandbox("")
	_, err = a.AddFault(FaultSpec{Operation: "*"})
	require.NoError(t, err)
	st, v := b.admin("POST", "/faults", `{"operation":"authentication/token"}`)
	require.Equal(t, http.StatusCreated, st, "%v", v)
	st, v = b.admin("POST", "/faults", `{"operation":"authentication/token"}`)
	assert.Equal(t, http.StatusTooManyRequests, st, "%v", v)
	assert.Contains(t, v["error"], "the limit of 10000 faults of the mock and its sandboxes together is reached")
	_, err = h.AddFault(FaultSpec{Operation: "*"})
	assert.ErrorIs(t, err, ErrTooManyFaults, "the root is full too")
	body, _ := json.Marshal(creds())
	_, v = h.call("POST", b.base+"/authentication/token", string(body))
	assert.Equal(t, "INTERNAL_ERROR", statusCode(v), "the sandbox's fault fires")

	require.True(t, h.DeleteSandbox(a.ID))
	_, err = h.AddFault(FaultSpec{Operation: "*", Match: FaultMatch{User: "nobody"}})
	require.NoError(t, err, "a dropped sandbox's fault leaves the count")
	_, err = a.AddFault(FaultSpec{Operation: "*"})
	require.NoError(t, err, "a dropped sandbox counts alone")
	st, v = b.admin("POST", "/reset", "")
	require.Equal(t, http.StatusOK, st, "%v", v)
	st, v = b.admin("POST", "/faults", `{"operation":"authentication/token"}`)
	assert.Equal(t, http.StatusCreated, st, "a reset sandbox's faults left the count: %v", v)
	h.Reset()
	sbB, ok := h.Sandbox(b.id)
	require.True(t, ok)
	assert.Len(t, sbB.Faults(), 1, "the root's reset leaves the sandbox's")
	for range MaxFaults - 1 {
		_, err = h.AddFault(FaultSpec{Operation: "*", Match: FaultMatch{User: "nobody"}})
		require.NoError(t, err, "the root's reset gave its faults back")
	}
	_, err = h.AddFault(FaultSpec{Operation: "*"})
	assert.ErrorIs(t, err, ErrTooManyFaults)
}

// Ensure the mock's clock stays where its token times are exact: token times are Unix
// nanoseconds (an int64 ends in 2262), so advancing by 2562047h or setting the year
// 2300 used to issue tokens dated 1731, and setting 1600 silently stopped elsewhere.
// Each move outside the epoch to 2200 is a 400 naming the field, the clock unmoved.
func TestClockStaysInRange(t *testing.T) {
	h := startVersion(t, "R12")
	for _, c := range []struct{ path, body, field string }{
		{"/__admin/clock/advance", `{"duration":"2562047h"}`, "duration"},
		{"/__admin/clock/set", `{"now":"2300-01-01T00:00:00Z"}`, "now"},
		{"/__admin/clock/set", `{"now":"2200-01-01T00:00:00Z"}`, "now"},
		{"/__admin/clock/set", `{"now":"1600-01-01T00:00:00Z"}`, "now"},
		{"/__admin/clock/set", `{"now":"1969-12-31T23:59:59Z"}`, "now"},
		{"/__admin/sandboxes", `{"start":"2500-01-01T00:00:00Z"}`, "start"},
	} {
		st, v := h.admin("POST", c.path, c.body)
		assert.Equal(t, http.StatusBadRequest, st, "%s %s: %v", c.path, c.body, v)
		assert.Regexp(t, "^"+c.field+"[ :]", v["error"], c.body)
		assert.Equal(t, t0, h.Now(), "the clock did not move")
	}
	_, err := New(Options{Start: time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC)})
	assert.ErrorContains(t, err, "start:")

	last := time.Date(2199, 12, 31, 23, 0, 0, 0, time.UTC) // the latest hours still work exactly
	require.NoError(t, h.SetNow(last))
	tok := h.login()
	tk, ok := h.Token(tok)
	require.True(t, ok)
	assert.Equal(t, last, tk.IssuedAt)
	assert.Equal(t, last.Add(2*time.Hour), tk.ExpiresAt)
	assert.Equal(t, "OK", h.code(h.use(tok)))
}

// Ensure one hostile request is one bounded log line: the path and the reason are
// logged as the journal keeps them (cut at 2 KiB), not as sent (a 60 KB path made a
// 120 KB line at info, twice over when a fault fired: log collectors split or drop such
// lines).
func TestLogLinesBounded(t *testing.T) {
	var logs syncBuffer
	h := start(t, Options{Version: "R10", Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	tok := h.login()
	long := strings.Repeat("a", 60000)
	h.addFault(`{"operation":"*","times":0,"answer":{"code":"INTERNAL_ERROR"}}`)
	for _, target := range []string{"/contact_information/" + long + "?token=" + tok, "/" + long, "/x/y/" + long} {
		resp, err := h.Client().Get(h.URL + h.BasePath() + target)
		require.NoError(t, err)
		resp.Body.Close()
	}
	resp, err := h.Client().Get(h.URL + "/" + long)
	require.NoError(t, err)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.GreaterOrEqual(t, len(lines), 6)
	for _, l := range lines {
		assert.Less(t, len(l), 8<<10, "a log line of %d bytes: %.120s…", len(l), l)
	}
}

// Ensure a sandbox with a request in flight is not idle: a TTL sweep during a long
// request (here a 1 h delay fault, TTL 1 m) used to drop the sandbox under it, so the
// suite's next request met a 404. The TTL counts from the end of the last request.
func TestSandboxTTLSparesRequestsInFlight(t *testing.T) {
	wall := clockwork.NewFakeClock()
	h := start(t, Options{Version: "R10", WallClock: wall, SandboxTTL: time.Minute})
	t.Cleanup(func() { wall.Advance(2 * time.Hour) }) // a wait that did not end must not hold Close
	s := h.createSandbox("")
	st, v := s.admin("POST", "/faults", `{"operation":"authentication/token","delay":"1h"}`)
	require.Equal(t, http.StatusCreated, st, "%v", v)
	done := make(chan string, 1)
	go func() {
		body, _ := json.Marshal(creds())
		resp, err := h.Client().Post(s.base+"/authentication/token", "application/json", strings.NewReader(string(body)))
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		code, _, _ := parseEnvelope(b)
		done <- code
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, wall.BlockUntilContext(ctx, 2), "the TTL sweep's timer and the delay are waiting")
	ids := func() []string {
		var out []string
		for _, sb := range h.Sandboxes() { // lists after a sweep of its own
			out = append(out, sb.ID)
		}
		return out
	}
	wall.Advance(2 * time.Minute)
	assert.Equal(t, []string{s.id}, ids(), "kept while its request is in flight")
	wall.Advance(time.Hour)
	require.Equal(t, "OK", <-done)
	assert.Equal(t, []string{s.id}, ids(), "the TTL counts from the end of the request")
	wall.Advance(time.Minute)
	assert.Empty(t, ids(), "idle for the TTL after its last request")
}

// Ensure passwords and Web API keys reach no log line (debug level included), no
// journal entry, violation, lint finding or token listing, whatever shape the login
// takes: wrong types, broken JSON, trailing bytes, NUL and bad escapes in the password,
// deep nesting, the wrong content type, the password in the query; keys as Basic
// with a password, without a colon, not base64, as Bearer, on other methods.
func TestNoSecretsInLogsOrControlAPI(t *testing.T) {
	var logs syncBuffer
	h := start(t, Options{Version: "R10", Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	const pw = "S3cretPW"
	const key = "ZZKEYSECRET00000000000000000ABCD"
	send := func(method, u, ct, auth, body string) {
		req, err := http.NewRequest(method, u, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", ct)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := h.Client().Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	user := `{"username":"` + docUser + `","organisation":"` + docOrg + `","password":`
	for _, b := range []string{
		user + `"` + pw + `"}`,
		user + `"` + pw + `","unit":"nope"}`,
		user + `"` + pw + `"`,
		user + `["` + pw + `"]}`,
		user + `{"p":"` + pw + `"}}`,
		user + `"` + pw + `","extra":1}`,
		user + `"` + pw + `"}xx` + pw,
		user + `"` + pw + `\uZZZZ"}`,
		user + `"` + pw + "\x00" + `"}`,
		user + strings.Repeat("[", 5000) + `"` + pw + `"` + strings.Repeat("]", 5000) + `}`,
	} {
		for _, ct := range []string{"application/json", "text/plain"} {
			send("POST", h.APIURL("authentication/token")+"?password="+pw, ct, "", b)
		}
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, auth := range []string{"Basic " + b64(key+":"), "Basic " + b64(key+":"+pw), "Basic " + b64(key),
		"Basic " + key, "Bearer " + key, "basic  " + b64(key+":")} {
		for _, body := range []string{``, `{"unit":"x"}`, `{"unit":5}`, `nope`} {
			send("POST", h.APIURL("authentication/web_api_key/token"), "application/json", auth, body)
		}
		send("GET", h.APIURL("contact_information/show"), "", auth, "")
	}
	var admin strings.Builder
	for _, p := range []string{"/__admin/requests", "/__admin/violations", "/__admin/lint", "/__admin/tokens"} {
		resp, err := h.Client().Get(h.URL + p)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		admin.Write(b)
	}
	for where, text := range map[string]string{"the logs": logs.String(), "the control API": admin.String()} {
		for _, secret := range []string{pw, key, b64(key + ":"), key[:16]} {
			assert.NotContains(t, text, secret, "%s show a secret", where)
		}
	}
}

// Ensure a delay fault's times hold under concurrent requests: of 20 requests at once,
// exactly `times` wait (counted when they arrive, not when they are answered), the
// rest are answered at once, and the journal names the fault on exactly those.
func TestFaultDelayTimesConcurrent(t *testing.T) {
	wall := clockwork.NewFakeClock()
	h := start(t, Options{Version: "R10", WallClock: wall})
	t.Cleanup(func() { wall.Advance(2 * time.Hour) })
	tok := h.login()
	id := h.addFault(`{"operation":"contact_information/show","delay":"1h","times":3}`)
	const n = 20
	codes := make(chan string, n)
	for range n {
		go func() { codes <- rootUse(h, tok) }()
	}
	for range n - 3 {
		select {
		case c := <-codes:
			assert.Equal(t, "OK", c)
		case <-time.After(10 * time.Second):
			t.Fatal("a request not chosen by the fault is held")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, wall.BlockUntilContext(ctx, 3), "three requests wait")
	wall.Advance(time.Hour)
	for range 3 {
		assert.Equal(t, "OK", <-codes, "answered normally after the delay")
	}
	fired := 0
	for _, f := range journalFaults(h.Mock) {
		if f == id {
			fired++
		}
	}
	assert.Equal(t, 3, fired)
	assert.EqualValues(t, 3, h.faultList()[id]["fired"])
}

// Ensure a request in flight in a sandbox with a tiny TTL does not spin the TTL sweep:
// the sweep looks again at the latest a second later, not a nanosecond.
func TestSandboxTinyTTLInFlightDoesNotSpin(t *testing.T) {
	wall := clockwork.NewFakeClock()
	h := start(t, Options{Version: "R10", WallClock: wall, SandboxTTL: time.Nanosecond})
	s, err := h.NewSandbox(SandboxOptions{})
	require.NoError(t, err)
	s.inflight.Add(1) // as serveSandbox does while it serves a request
	wall.Advance(time.Millisecond)
	now := wall.Now().UnixNano()
	h.sandboxes.mu.Lock()
	next := h.sandboxes.sweepLocked(now)
	h.sandboxes.mu.Unlock()
	assert.Len(t, h.Sandboxes(), 1, "kept while in flight")
	assert.GreaterOrEqual(t, next-now, int64(time.Second), "the next sweep")
	s.inflight.Add(-1)
	wall.Advance(time.Second)
	assert.Empty(t, h.Sandboxes(), "dropped once idle")
}

// Ensure a sandbox created by a request without a Host header (HTTP/1.0) gets URLs a
// client can use: the address the request came in on, not "http:///sandboxes/…".
func TestSandboxURLsWithoutHost(t *testing.T) {
	h := startVersion(t, "R12")
	conn, err := net.Dial("tcp", h.Addr())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /__admin/sandboxes HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
	require.NoError(t, err)
	raw, err := io.ReadAll(conn)
	require.NoError(t, err)
	_, body, _ := strings.Cut(string(raw), "\r\n\r\n")
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &v), "%s", raw)
	assert.Equal(t, h.URL+"/sandboxes/"+v["id"].(string)+"/crmapi/rest/v2", v["base_url"])
	assert.Equal(t, h.URL+"/sandboxes/"+v["id"].(string)+"/__admin", v["admin_url"])
}

// Ensure listing sandboxes (the dashboard does it every 2 s) counts their faults
// without copying them: with 10 000 faults in a sandbox, one listing allocated their
// copies (1.5 MB per sandbox, per listing).
func TestSandboxListCountsFaultsWithoutCopies(t *testing.T) {
	h := startVersion(t, "R12")
	s, err := h.NewSandbox(SandboxOptions{})
	require.NoError(t, err)
	for range MaxFaults {
		_, err := s.AddFault(FaultSpec{Operation: "*"})
		require.NoError(t, err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	info := s.info(h.URL)
	runtime.ReadMemStats(&after)
	assert.Equal(t, MaxFaults, info.Faults)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<10), "bytes allocated to describe one sandbox")
}

// Ensure 3 000 requests on the mock's real routes (control calls, sandboxes, tokens,
// faults, the Web API), each mutated by dot segments, doubled or encoded slashes, NUL,
// bytes that are not UTF-8 or a long segment, under every method with odd bodies, never
// panic and always answer JSON (the envelope or {"error"}), never a 500.
func TestRandomPathsNeverPanic(t *testing.T) {
	var logs syncBuffer
	h := start(t, Options{Version: "R12", Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	tok := h.login()
	s, err := h.NewSandbox(SandboxOptions{Version: "R10"})
	require.NoError(t, err)
	_, err = s.AddFault(FaultSpec{Operation: "*", Times: FaultForever, After: 50})
	require.NoError(t, err)
	routes := []string{"/__admin/health", "/__admin/clock", "/__admin/clock/advance", "/__admin/clock/set", "/__admin/version",
		"/__admin/tokens", "/__admin/tokens/" + tok, "/__admin/tokens/" + tok + "/expire", "/__admin/tokens/" + tok + "/revoke",
		"/__admin/tokens/revoke", "/__admin/requests?limit=3", "/__admin/requests?since=x", "/__admin/violations", "/__admin/lint",
		"/__admin/scenario", "/__admin/faults", "/__admin/faults/f1", "/__admin/sandboxes", "/__admin/sandboxes/nope", // not s: a DELETE would end the sandbox part
		"/__admin/reset", "/crmapi/rest/v2/authentication/token", "/crmapi/rest/v2/authentication/web_api_key/token",
		"/crmapi/rest/v2/authentication/token/release", "/crmapi/rest/v2/contact_information/show?token=" + tok}
	odd := []string{"", ".", "..", "%2F", "%2e%2e", "%00", "%FF", "é", "x", strings.Repeat("a", 3000), s.ID, "sandboxes", "__admin"}
	mutate := func(rng *rand.Rand, p string) string {
		path, query, _ := strings.Cut(p, "?")
		segs := strings.Split(path, "/")
		switch k := 1 + rng.IntN(len(segs)-1); rng.IntN(5) {
		case 0: // a segment replaced
			segs[k] = odd[rng.IntN(len(odd))]
		case 1: // a segment inserted
			segs = append(segs[:k], append([]string{odd[rng.IntN(len(odd))]}, segs[k:]...)...)
		case 2: // a doubled slash
			segs = append(segs[:k], append([]string{""}, segs[k:]...)...)
		case 3: // a dot-dot after a made-up segment
			segs = append(segs[:k], append([]string{"x", ".."}, segs[k:]...)...)
		}
		out := strings.Join(segs, "/")
		if query != "" {
			out += "?" + query
		}
		return out
	}
	methods := []string{"GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}
	bodies := []string{"", "{}", "null", "[]", "{", `{"token":"` + tok + `"}`, `{"duration":"1h"}`, `{"now":"2024-01-01T09:00:00Z"}`,
		`{"operation":"*"}`, `{"version":"R9"}`, "\x00\xff", `{"username":"` + docUser + `","password":"` + docPass + `","organisation":"` + docOrg + `"}`}
	rng := rand.New(rand.NewPCG(1, 2))
	served := map[int]int{}
	for i := range 3000 {
		raw := routes[rng.IntN(len(routes))]
		for range rng.IntN(3) / 2 * (1 + rng.IntN(2)) { // half unmutated, else one or two mutations
			raw = mutate(rng, raw)
		}
		if rng.IntN(3) == 0 {
			raw = "/sandboxes/" + s.ID + raw
		}
		u, err := url.Parse(raw)
		if err != nil {
			continue // not a request target net/http would hand over
		}
		method, body := methods[rng.IntN(len(methods))], bodies[rng.IntN(len(bodies))]
		req := &http.Request{Method: method, URL: u, RequestURI: raw, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/json"}}, Host: "crmmock.test",
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
		rec := httptest.NewRecorder()
		h.Mock.ServeHTTP(rec, req)
		served[rec.Code]++
		ct := rec.Header().Get("Content-Type")
		if rec.Code >= 500 || ct == "application/json" && !json.Valid(rec.Body.Bytes()) || ct != "application/json" {
			t.Fatalf("request %d: %s %s (%q): %d %s %s", i, method, raw, body, rec.Code, ct, clipBody(rec.Body.Bytes()))
		}
	}
	assert.NotContains(t, logs.String(), "panic")
	t.Logf("answers by status: %v", served)
}

// Ensure a large --max-sandboxes holds exactly: 2 000 sandboxes, the next a 429 over
// HTTP, all listed once, each its own mock, all dropped by DeleteSandboxes.
func TestManySandboxesAtTheLimit(t *testing.T) {
	const n = 2000
	h := start(t, Options{Version: "R12", MaxSandboxes: n})
	ids := map[string]bool{}
	for range n {
		s, err := h.NewSandbox(SandboxOptions{})
		require.NoError(t, err)
		ids[s.ID] = true
	}
	require.Len(t, ids, n, "ids are distinct")
	st, v := h.call("POST", h.URL+"/__admin/sandboxes", "")
	assert.Equal(t, http.StatusTooManyRequests, st, "%v", v)
	_, err := h.NewSandbox(SandboxOptions{})
	assert.ErrorIs(t, err, ErrTooManySandboxes)
	st, v = h.call("GET", h.URL+"/__admin/sandboxes", "")
	require.Equal(t, http.StatusOK, st)
	listed := v["sandboxes"].([]any)
	require.Len(t, listed, n)
	for _, x := range listed {
		delete(ids, x.(map[string]any)["id"].(string))
	}
	assert.Empty(t, ids, "every sandbox listed once")
	assert.Equal(t, n, h.DeleteSandboxes())
	assert.Empty(t, h.Sandboxes())
}

// Ensure Server.Close is bounded: a client that stalls mid-body with its connection
// open (a request in flight that never ends) held Close, and with it the test that
// deferred it, until the test binary's timeout; Close now waits the grace and cuts the
// connection, and the request's goroutine ends.
func TestServerCloseBoundedByStalledBody(t *testing.T) {
	srv, err := NewServer(Options{Start: t0})
	require.NoError(t, err)
	sb, err := srv.NewSandbox(SandboxOptions{})
	require.NoError(t, err)
	conn, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST %s/authentication/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"us",
		"/sandboxes/"+sb.ID+srv.BasePath())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return sb.inflight.Load() == 1 }, 10*time.Second, time.Millisecond, "the request reached the handler")
	srv.grace = 10 * time.Millisecond
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second): // a guard against hanging, not an ordering
		t.Fatal("Close still waits for a body that never ends")
	}
	require.Eventually(t, func() bool { return sb.inflight.Load() == 0 }, 10*time.Second, time.Millisecond, "the request's goroutine ended")
}
