// Cross-cutting suite (keeps its name): the benchmarks of `make bench`, the Mock beside a bare net/http baseline.

package mockserver

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/testutil"
	"github.com/crmmock/crmmock/internal/tokens"
	"github.com/golang-jwt/jwt/v5"
)

// Benchmarks of the hardening issue (`make bench`). Each Web API benchmark runs the
// Mock (routing, contract validation, handler, envelope, journal) beside a baseline:
// a bare net/http handler doing the same work (decode, check, store, envelope) without
// the contract validator, in the same run (see benchPair). Targets: x-baseline ≥ 0.6
// for issue, ≥ 0.7 for use.

// sinkWriter is a ResponseWriter that keeps only the last answer.
type sinkWriter struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func newSinkWriter() *sinkWriter { return &sinkWriter{h: http.Header{}} }

func (w *sinkWriter) Header() http.Header         { return w.h }
func (w *sinkWriter) WriteHeader(code int)        { w.code = code }
func (w *sinkWriter) Write(p []byte) (int, error) { return w.body.Write(p) }
func (w *sinkWriter) reset() {
	clear(w.h)
	w.code = http.StatusOK
	w.body.Reset()
}

var okCode = []byte(`"code":"OK"`)

// baselineServer is the same work as the Mock's Web API minus contract routing and
// validation: a plain ServeMux, encoding/json, the same compiled scenario and store.
type baselineServer struct {
	mux    *http.ServeMux
	world  *world
	rel    Release
	tokens *baselineStore
	secret []byte
	now    func() time.Time
}

// baselineStore is the baseline's token store: a map by token under a mutex, judged by the
// same record rules (the plain way; it does not change when the Mock's store does).
type baselineStore struct {
	mu  sync.Mutex
	now func() int64
	m   map[string]*baselineRecord
}

// baselineRecord is the baseline's token: its owner, issue and last use, and whether it was
// released.
type baselineRecord struct {
	owner
	issued, lastUsed int64
	released         bool
}

func (r *baselineRecord) expiresAt() int64 {
	if rule := r.Rule(); rule.Idle {
		return r.lastUsed + int64(rule.After)
	} else {
		return r.issued + int64(rule.After)
	}
}

func (r *baselineRecord) state(now int64) State {
	switch {
	case r.released:
		return StateReleased
	case now >= r.expiresAt():
		return StateExpired
	}
	return StateLive
}

// nanoTime is a clock reading (Unix nanoseconds) as a time, as the store shows it.
func nanoTime(n int64) time.Time { return time.Unix(0, n).UTC() }

func (s *baselineStore) add(r *baselineRecord, value string) {
	s.mu.Lock()
	s.m[value] = r
	s.mu.Unlock()
}

func (s *baselineStore) use(value string, touch bool) (*baselineRecord, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, ok := s.m[value]
	if !ok {
		return nil, errorf(CodeInvalidToken, "token: no such token was issued")
	}
	switch r.state(now) {
	case StateReleased:
		return nil, errorf(CodeTokenReleased, "token: released")
	case StateExpired:
		return nil, errorf(CodeTokenExpired, "token: expired at %s (%s)", nanoTime(r.expiresAt()).Format(time.RFC3339Nano), r.Rule())
	}
	if touch && now > r.lastUsed {
		r.lastUsed = now
	}
	return r, nil
}

func (s *baselineStore) release(value string) *apiError {
	r, aerr := s.use(value, false)
	if aerr != nil {
		return aerr
	}
	s.mu.Lock()
	r.released = true
	s.mu.Unlock()
	return nil
}

// mintMapClaims is the plain way to mint an R12 token with golang-jwt (MapClaims,
// SignedString), as the Mock did before: the baseline's issue work.
func mintMapClaims(secret []byte, u *user, x *unit, iat, life int64) string {
	claims := jwt.MapClaims{"usr": u.username, "org": u.org.name, "oun": x.oun,
		"iat": strconv.FormatInt(iat, 10), "exp": strconv.FormatInt(iat+life, 10), "jti": randomHex()}
	v, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	return v
}

func newBaselineServer(m *Mock) *baselineServer {
	b := &baselineServer{mux: http.NewServeMux(), world: m.snap.Load().world, rel: m.Version(), tokens: &baselineStore{now: m.nowNano, m: map[string]*baselineRecord{}}, secret: m.secret, now: m.Now}
	b.mux.HandleFunc("POST /crmapi/rest/v2/authentication/token", b.issue)
	b.mux.HandleFunc("POST /crmapi/rest/v2/authentication/token/release", b.release)
	b.mux.HandleFunc("GET /crmapi/rest/v2/{resource}/{action}", b.use)
	return b
}

func (b *baselineServer) ServeHTTP(w http.ResponseWriter, r *http.Request) { b.mux.ServeHTTP(w, r) }

func (b *baselineServer) write(w http.ResponseWriter, code Code, data any) {
	env := envelope{Status: envelopeStatus{Code: string(code)}, Data: data}
	if code != CodeOK {
		env.Status.Message = catalogue[code].Message
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(env)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func (b *baselineServer) issue(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, DefaultBodyLimit+1))
	var req struct {
		Username, Password, Organisation string
		Unit                             *string
	}
	if json.Unmarshal(body, &req) != nil {
		b.write(w, CodeInvalidRequest, nil)
		return
	}
	g := b.world.orgs[req.Organisation]
	if g == nil {
		b.write(w, CodeInvalidOrg, nil)
		return
	}
	u := g.users[req.Username]
	if u == nil || subtle.ConstantTimeCompare([]byte(req.Password), []byte(u.password)) != 1 {
		b.write(w, CodeInvalidCredentials, nil)
		return
	}
	b.write(w, CodeOK, tokenData{Token: b.mint(u)})
}

// mint issues a user token into the baseline's store.
func (b *baselineServer) mint(u *user) string {
	now := b.now()
	value := randomHex()
	rule := b.rel.Profile.UserRule
	if b.rel.Profile.Format == FormatJWT {
		value = mintMapClaims(b.secret, u, u.defaultUnit, now.Unix(), int64(rule.After/time.Second))
	}
	n := now.UnixNano()
	b.tokens.add(&baselineRecord{owner: owner{rel: &b.rel, user: u, unit: u.defaultUnit}, issued: n, lastUsed: n}, value)
	return value
}

func (b *baselineServer) check(value string, touch bool) *apiError {
	if strings.Count(value, ".") == 2 {
		if err := checkJWT(b.secret, value); err != nil {
			return errorf(CodeInvalidToken, "%v", err)
		}
	}
	_, aerr := b.tokens.use(value, touch)
	return aerr
}

func (b *baselineServer) use(w http.ResponseWriter, r *http.Request) {
	if aerr := b.check(r.URL.Query().Get("token"), true); aerr != nil {
		b.write(w, aerr.Code, nil)
		return
	}
	ma, ok := b.world.methods["GET "+r.PathValue("resource")+"/"+r.PathValue("action")]
	if !ok {
		b.write(w, CodeOK, emptyObject)
		return
	}
	b.write(w, CodeOK, ma.data)
}

func (b *baselineServer) release(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, DefaultBodyLimit+1))
	var req struct{ Token string }
	if json.Unmarshal(body, &req) != nil {
		b.write(w, CodeInvalidRequest, nil)
		return
	}
	if aerr := b.check(req.Token, false); aerr != nil {
		b.write(w, aerr.Code, nil)
		return
	}
	if aerr := b.tokens.release(req.Token); aerr != nil {
		b.write(w, aerr.Code, nil)
		return
	}
	b.write(w, CodeOK, emptyObject)
}

// benchPair benchmarks one Web API method on the Mock and on the baseline,
// interleaved in one loop (alternating which goes first) so both see the same machine
// noise. Each operation is timed from building the request (httptest.NewRequest, i.e.
// net/http's request parsing) to the handler's return. It reports mock-ns/op,
// base-ns/op, x-baseline (= base ÷ mock: 1 is as fast as the bare handler) and
// x-baseline-handler (the same without the request building). prep returns what op
// needs for n operations (outside the timer), issuing live tokens into the given store.
func benchPair(b *testing.B, target float64, version string,
	prep func(issue func() string, n int) []string,
	op func(i int, prepared []string) *http.Request) {
	for _, transport := range []string{"inproc", "http"} {
		benchPairOn(b, transport, target, version, prep, op)
	}
}

// benchPairOn is benchPair in process (ServeHTTP on a sink) or over loopback HTTP
// (both handlers behind httptest servers, one keep-alive client: the bare net/http
// limit a client sees; there x-baseline-handler is the same as x-baseline).
func benchPairOn(b *testing.B, transport string, target float64, version string,
	prep func(issue func() string, n int) []string,
	op func(i int, prepared []string) *http.Request) {
	b.Run(version+"/"+transport, func(b *testing.B) {
		m := newTestMock(b, version)
		bl := newBaselineServer(m)
		u := m.snap.Load().world.orgs[docOrg].users[docUser]
		issueBase := func() string { return bl.mint(u) }
		issueMock := func() string { // the Mock's issue path without HTTP
			a := m.issue(nil, u, u.defaultUnit, &m.snap.Load().rel, m.snap.Load().world, m.Now())
			if a.err != nil {
				b.Fatal(a.err)
			}
			return a.issued
		}
		sides := [2]struct {
			h             http.Handler
			prepared      []string
			total, handle time.Duration
		}{{h: bl, prepared: prep(issueBase, b.N)}, {h: m, prepared: prep(issueMock, b.N)}}
		var urls [2]string
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
		if transport == "http" {
			for k := range sides {
				srv := httptest.NewServer(sides[k].h)
				b.Cleanup(srv.Close)
				urls[k] = srv.URL
			}
			b.Cleanup(client.CloseIdleConnections)
		}
		w := newSinkWriter()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			for k := range 2 {
				side := (i + k) % 2
				s := &sides[side]
				w.reset()
				t0 := time.Now()
				req := op(i, s.prepared)
				t1 := time.Now()
				if transport == "http" {
					t1 = t0 // the server parses the request: all of it is the handler's side
					creq, err := http.NewRequest(req.Method, urls[side]+req.RequestURI, req.Body)
					if err != nil {
						b.Fatal(err)
					}
					creq.Header = req.Header
					resp, err := client.Do(creq)
					if err != nil {
						b.Fatal(err)
					}
					w.code = resp.StatusCode
					_, _ = w.body.ReadFrom(resp.Body)
					resp.Body.Close()
				} else {
					s.h.ServeHTTP(w, req)
				}
				t2 := time.Now()
				s.total += t2.Sub(t0)
				s.handle += t2.Sub(t1)
				if w.code != http.StatusOK || !bytes.Contains(w.body.Bytes(), okCode) {
					b.Fatalf("answered %d %s", w.code, w.body.Bytes())
				}
			}
		}
		b.StopTimer()
		base, mock := sides[0], sides[1]
		n := float64(b.N)
		b.ReportMetric(float64(mock.total.Nanoseconds())/n, "mock-ns/op")
		b.ReportMetric(float64(base.total.Nanoseconds())/n, "base-ns/op")
		b.ReportMetric(float64(base.total)/float64(mock.total), "x-baseline")
		b.ReportMetric(float64(base.handle)/float64(mock.handle), "x-baseline-handler")
		if b.N > 1000 {
			b.Logf("mock %.0f ns/op, baseline %.0f ns/op: %.2f× the baseline (target ≥ %.1f×); handlers alone %.2f×",
				float64(mock.total.Nanoseconds())/n, float64(base.total.Nanoseconds())/n,
				float64(base.total)/float64(mock.total), target, float64(base.handle)/float64(mock.handle))
		}
	})
}

var loginBody = []byte(`{"username":"` + docUser + `","password":"` + docPass + `","organisation":"` + docOrg + `"}`)

func postRequest(path string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, docBasePath+path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// BenchmarkIssue: POST authentication/token, full stack vs baseline (target ≥ 0.6×).
func BenchmarkIssue(b *testing.B) {
	for _, v := range []string{"R10", "R12"} {
		benchPair(b, 0.6, v,
			func(func() string, int) []string { return nil },
			func(int, []string) *http.Request { return postRequest("/authentication/token", loginBody) })
	}
}

// BenchmarkUse: GET another method with a live token, full stack vs baseline (target ≥ 0.7×).
func BenchmarkUse(b *testing.B) {
	for _, v := range []string{"R10", "R12"} {
		benchPair(b, 0.7, v,
			func(issue func() string, _ int) []string { return []string{issue()} },
			func(_ int, p []string) *http.Request {
				return httptest.NewRequest(http.MethodGet, docBasePath+"/contact_information/show?token="+p[0], nil)
			})
	}
}

// BenchmarkRelease: POST authentication/token/release of a fresh live token each time.
func BenchmarkRelease(b *testing.B) {
	for _, v := range []string{"R10", "R12"} {
		benchPair(b, 0.6, v,
			func(issue func() string, n int) []string {
				bodies := make([]string, n)
				for i := range bodies {
					bodies[i] = `{"token":"` + issue() + `"}`
				}
				return bodies
			},
			func(i int, p []string) *http.Request {
				return postRequest("/authentication/token/release", []byte(p[i]))
			})
	}
}

const million = 1_000_000

// issueN issues n user tokens of the mock's release through the issue path
// (Mock.issue: mint, record, store) at the mock's clock.
func issueN(tb testing.TB, m *Mock, n int) {
	wd, rel := m.snap.Load().world, &m.snap.Load().rel
	u := wd.orgs[docOrg].users[docUser]
	now := m.Now()
	for range n {
		if a := m.issue(nil, u, u.defaultUnit, rel, wd, now); a.err != nil {
			tb.Fatal(a.err)
		}
	}
}

// BenchmarkMemoryPerToken: heap held per live token, measured over 1 M tokens issued
// through the issue path, opaque (R10) and JWT (R12) (target ≤ 400 B/token for both).
func BenchmarkMemoryPerToken(b *testing.B) {
	for _, c := range []struct{ name, version string }{{"opaque", "R10"}, {"jwt", "R12"}} {
		b.Run(c.name, func(b *testing.B) {
			var perToken float64
			for range b.N {
				m := newTestMock(b, c.version)
				before := testutil.LiveHeap()
				issueN(b, m, million)
				after := testutil.LiveHeap()
				if got := m.tokens.Held(); got != million {
					b.Fatalf("%d tokens", got)
				}
				perToken += float64(after-before) / million
				runtime.KeepAlive(m)
			}
			b.ReportMetric(perToken/float64(b.N), "B/token")
		})
	}
}

// BenchmarkAdvance1M: one clock advance with 1 M live tokens (target ≤ 100 ms), and a
// token check right after it (expiry is judged when a token is read).
func BenchmarkAdvance1M(b *testing.B) {
	m := newTestMock(b, "R10")
	issueN(b, m, million-1)
	tok := issueToken(b, m, m.BasePath())
	b.ResetTimer()
	for range b.N {
		if _, err := m.Advance(time.Second); err != nil {
			b.Fatal(err)
		}
		if aerr := m.checkToken(tok, tokens.Use).err; aerr != nil {
			b.Fatal(aerr)
		}
	}
}

// BenchmarkServerStart: an in-process test server after the first (NewServer + Close;
// the contract is parsed once per process) (target ≤ 1 ms).
func BenchmarkServerStart(b *testing.B) {
	s, err := NewServer(Options{})
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s, err := NewServer(Options{JWTSecret: []byte(fixedSecret)})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// Ensure the router fast path answers exactly what the contract's router answers
// (operation and path parameters) wherever it answers at all.
func TestFastRouteMatchesRouter(t *testing.T) {
	c, err := loadProcessContract()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.fixed) != len(fixedPaths) || c.otherGet == nil || c.otherPost == nil {
		t.Fatalf("fast routes not resolved: %d fixed, get %v, post %v", len(c.fixed), c.otherGet != nil, c.otherPost != nil)
	}
	paths := []string{
		"/authentication/token", "/authentication/web_api_key/token", "/authentication/token/release",
		"/authentication/token/", "/authentication/web_api_key", "/authentication/release", "/contact_information/show",
		"/a/b", "/A/B", "/a/b/", "/a//b", "//a/b", "/a/b/c", "/a", "/", "", "/a/", "//", "/a%2Fb/c", "/a b/c",
		"/ü/ß", "/a/\x00", "/x/y?z", "/../a", "/./b", "/a/..", "/authentication/token/release/x", "/authentication//token",
		"/AUTHENTICATION/TOKEN", "/authentication/Token", "/1/2", "/_/_", "/a-b/c.d",
		"/customer_events/purchases/create", "/a/b/c/d/e", "/a/b.c/d", "/a/b/c/", "/a/b//c", "/a/./c", "/a/b/..",
		"/authentication/consumer_application_key/token", "/authentication/token/x/y",
	}
	n := 0
	for _, p := range paths {
		for _, method := range []string{"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "BREW"} {
			fast, fparams, ok := c.fastRoute(method, p)
			if !ok {
				continue
			}
			n++
			req := &http.Request{Method: method, URL: &url.URL{Path: docBasePath + p}, Header: http.Header{}, Host: "x"}
			router, _ := c.router()
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Errorf("%s %q: fast path routes to %s, the router fails: %v", method, p, fast.Operation.OperationID, err)
				continue
			}
			if route.Operation.OperationID != fast.Operation.OperationID || !maps.Equal(params, fparams.asMap()) {
				t.Errorf("%s %q: fast %s %v, router %s %v", method, p, fast.Operation.OperationID, fparams, route.Operation.OperationID, params)
			}
		}
	}
	if n < 20 {
		t.Errorf("the fast path answered only %d requests", n)
	}
}

// Ensure encodeEnvelope writes byte for byte what json.Encoder (SetEscapeHTML(false))
// writes, for every shape of data the handlers answer and awkward strings.
func TestEncodeEnvelopeMatchesEncoder(t *testing.T) {
	strs := []string{"", "OK", "INVALID_TOKEN", `token: "x" <b>&amp;</b>`, "a\\b", "tab\there\nnl\r\x00\x1f\x7f",
		"\xff\xfeinvalid", "ünïcødé ✓", "\u2028\u2029", "emoji 😀", strings.Repeat("é\"", 100)}
	datas := []any{nil, json.RawMessage(nil), emptyObject, json.RawMessage(` { "a" : [1, 2, {"b":null}] } `),
		json.RawMessage(`{"x":"<&>"}`), tokenData{Token: "4AD9C84FA60F9FE407140E20F707726A"}, tokenData{Token: "a\"b<\xff"},
		map[string]any{"k": "v<>", "n": 1.5}, []int{1, 2}, json.RawMessage(`{bad`), compactJSON(`{"id":"C1","number":"CI000111"}`), compactJSON(`{}`)}
	for _, code := range strs[:3] {
		for _, msg := range strs {
			for _, desc := range strs {
				for _, d := range datas {
					env := envelope{Status: envelopeStatus{Code: code, Message: msg, Description: desc}, Data: d}
					var want, got bytes.Buffer
					enc := json.NewEncoder(&want)
					enc.SetEscapeHTML(false)
					werr := enc.Encode(env)
					gerr := encodeEnvelope(&got, env)
					if (werr != nil) != (gerr != nil) {
						t.Fatalf("%+v: encoder error %v, ours %v", env, werr, gerr)
					}
					if werr == nil && !bytes.Equal(want.Bytes(), got.Bytes()) {
						t.Fatalf("%+v:\nencoder %q\nours    %q", env, want.Bytes(), got.Bytes())
					}
				}
			}
		}
	}
}

// Ensure the routing shortcuts hold under another --base-path: issue, use and a
// contract violation answer as under the default one.
func TestRoutingUnderOtherBasePath(t *testing.T) {
	m, err := New(Options{BasePath: "/crm/v9", Version: "R10", Start: t0})
	if err != nil {
		t.Fatal(err)
	}
	tok := issueToken(t, m, "/crm/v9")
	for target, want := range map[string]string{
		"/crm/v9/contact_information/show?token=" + tok:         "OK",
		"/crm/v9/Contact/show?token=" + tok:                     "INVALID_REQUEST",
		"/crm/v9/a%20b/show?token=" + tok:                       "INVALID_REQUEST",
		"/crmapi/rest/v2/contact_information/show?token=" + tok: "INVALID_REQUEST",
	} {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if code, _, err := parseEnvelope(rec.Body.Bytes()); err != nil || code != want {
			t.Errorf("GET %s: %s %v, want %s", target, code, err, want)
		}
	}
}
