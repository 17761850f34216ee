// Cross-cutting suite (keeps its name): hostile input to the HTTP server as a whole (limits, panics, randomness).

package mockserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crmmock/crmmock/internal/faults"

	yamlscenario "github.com/crmmock/crmmock/internal/scenario"
)

// The hostile-input suite: every case of testdata/hostile/cases.yaml is sent as raw
// bytes over a real socket to a Mock behind NewHTTPServer (the CLI's limits; the
// timeouts shortened so slow clients are quick to test). Each case asserts the
// envelope and its status.code, or net/http's own refusal (400, 431, 501) or a closed
// connection; then that the server is healthy and that the token store moved only as
// the case says.

// hostileCase is one hostile request. String fields are text/templates (see caseFuncs).
type hostileCase struct {
	Name    string `yaml:"name"`
	Version string `yaml:"version"` // default R12
	Server  string `yaml:"server"`  // "" (HTTP 200 errors) or "mapped"
	// Raw is the whole request; otherwise it is built from Method, Path, Headers, Body.
	Raw     string   `yaml:"raw"`
	Method  string   `yaml:"method"`
	Path    string   `yaml:"path"` // below the base path unless it starts with /
	Headers []string `yaml:"headers"`
	Body    string   `yaml:"body"`
	// ContentLength replaces the computed Content-Length ("none": send none).
	ContentLength string `yaml:"content_length"`
	// Pause makes a slow client: after After bytes, wait For before the rest.
	Pause *struct {
		After int    `yaml:"after"`
		For   string `yaml:"for"`
	} `yaml:"pause"`
	Expect struct {
		HTTP   int    `yaml:"http"`   // HTTP status (required unless closed)
		Code   string `yaml:"code"`   // status.code; empty: no envelope (a net/http refusal)
		Closed bool   `yaml:"closed"` // the server closes without answering
		// Refused: net/http's 400/408 (no envelope) or a close without an answer.
		Refused bool   `yaml:"refused"`
		Tokens  string `yaml:"tokens"` // unchanged (default), issued, released
		Header  string `yaml:"header"` // "Name: value" the answer must carry
	} `yaml:"expect"`
}

type hostileEnv struct {
	servers map[string]*liveServer
	rsaKey  *rsa.PrivateKey
}

// liveServer is a Mock served by NewHTTPServer on a loopback listener.
type liveServer struct {
	m    *Mock
	srv  *http.Server
	addr string
	logs *logBuffer
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// listen serves m with the CLI's server limits, timeouts shortened for the tests.
func listen(tb testing.TB, opts Options) *liveServer {
	tb.Helper()
	logs := &logBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	m, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := NewHTTPServer(m, opts.Logger)
	srv.ReadHeaderTimeout = 300 * time.Millisecond
	srv.ReadTimeout = 3 * time.Second // a 1 MiB body under -race on a loaded machine must arrive in time
	srv.WriteTimeout = 5 * time.Second
	srv.IdleTimeout = 5 * time.Second
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return &liveServer{m: m, srv: srv, addr: ln.Addr().String(), logs: logs}
}

// healthy asserts GET /__admin/health answers {"status":"ok"}.
func (l *liveServer) healthy(t *testing.T) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + l.addr + "/__admin/health")
	if err != nil {
		t.Fatalf("health: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != `{"status":"ok"}` {
		t.Fatalf("health: %d %s", resp.StatusCode, b)
	}
}

// caseFuncs are the case templates' functions. token, released and expired issue on m
// (before the store is snapshotted) and stay the same within one case.
func (env *hostileEnv) caseFuncs(t *testing.T, m *Mock) template.FuncMap {
	memo := map[string]string{}
	once := func(name string, mk func() string) string {
		if v, ok := memo[name]; ok {
			return v
		}
		memo[name] = mk()
		return memo[name]
	}
	var fm template.FuncMap
	fm = template.FuncMap{
		"token": func() string { return once("token", func() string { return fill(t, m, "@TOK@") }) },
		"released": func() string {
			return once("released", func() string { return fill(t, m, "@REL@") })
		},
		"expired": func() string { return once("expired", func() string { return fill(t, m, "@EXP@") }) },
		// claims is the JSON payload of the live token (a JWT: R12 cases only).
		"claims": func() (string, error) {
			parts := strings.Split(fm["token"].(func() string)(), ".")
			if len(parts) != 3 {
				return "", fmt.Errorf("claims: the live token is not a JWT")
			}
			b, err := base64.RawURLEncoding.DecodeString(parts[1])
			return string(b), err
		},
		"secret": func() string { return fixedSecret },
		// sign makes a JWT of claims (JSON) with alg (HS256, HS512: key is the secret;
		// RS256: a fresh RSA key; none: unsigned).
		"sign": func(alg, key, claims string) (string, error) {
			var c jwt.MapClaims
			if err := json.Unmarshal([]byte(claims), &c); err != nil {
				return "", err
			}
			switch alg {
			case "none":
				return jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
			case "RS256":
				return jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(env.rsaKey)
			}
			return jwt.NewWithClaims(jwt.GetSigningMethod(alg), c).SignedString([]byte(key))
		},
		// set returns claims (JSON) with key set to value (JSON; "-" deletes).
		"set": func(claims, key, value string) (string, error) {
			var c map[string]json.RawMessage
			if err := json.Unmarshal([]byte(claims), &c); err != nil {
				return "", err
			}
			if value == "-" {
				delete(c, key)
			} else {
				c[key] = json.RawMessage(value)
			}
			b, err := json.Marshal(c)
			return string(b), err
		},
		// repayload swaps a JWT's payload for claims, keeping header and signature.
		"repayload": func(token, claims string) string {
			p := strings.Split(token, ".")
			p[1] = base64.RawURLEncoding.EncodeToString([]byte(claims))
			return strings.Join(p, ".")
		},
		"repeat": strings.Repeat,
		"lower":  strings.ToLower,
		"b64":    func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"hex": func(s string) (string, error) {
			b, err := hex.DecodeString(s)
			return string(b), err
		},
		// nest is open×n inner close×n.
		"nest": func(open, inner, close string, n int) string {
			return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
		},
		// pad right-pads s with spaces to n bytes.
		"pad": func(s string, n int) string { return s + strings.Repeat(" ", max(0, n-len(s))) },
		"login": func() string {
			return `{"username":"` + docUser + `","password":"` + docPass + `","organisation":"` + docOrg + `"}`
		},
		"mib": func(n int) int { return n << 20 },
		// fault adds a fault of m from its control API JSON and answers "" (so it can
		// open a path). Faults outlive the case: give them times 1 and fire them in it.
		"fault": func(spec string) (string, error) {
			fs, err := faults.ParseSpec([]byte(spec))
			if err != nil {
				return "", err
			}
			_, err = m.AddFault(fs)
			return "", err
		},
		// pctall percent-encodes every byte of s (as a path segment may carry it).
		"pctall": func(s string) string {
			var b strings.Builder
			for i := 0; i < len(s); i++ {
				fmt.Fprintf(&b, "%%%02X", s[i])
			}
			return b.String()
		},
		// sandboxid is the id of the case's sandbox (see sandbox).
		"sandboxid": func() string {
			return strings.TrimPrefix(fm["sandbox"].(func() string)(), sandboxPrefix)
		},
		// sandbox is the path prefix (/sandboxes/{id}) of a sandbox of m, made once per
		// case, whose clock starts a day after the root's.
		"sandbox": func() string {
			return once("sandbox", func() string {
				sb, err := m.NewSandbox(SandboxOptions{Start: t0.Add(24 * time.Hour)})
				if err != nil {
					t.Fatalf("sandbox: %v", err)
				}
				return sb.Prefix()
			})
		},
		"add": func(a, b int) int { return a + b },
	}
	return fm
}

func render(t *testing.T, funcs template.FuncMap, name, text string) string {
	t.Helper()
	if !strings.Contains(text, "{{") {
		return text
	}
	tp, err := template.New(name).Funcs(funcs).Parse(text)
	if err != nil {
		t.Fatalf("case template: %v", err)
	}
	var b strings.Builder
	if err := tp.Execute(&b, nil); err != nil {
		t.Fatalf("case template: %v", err)
	}
	return b.String()
}

// build renders the case into the bytes to send.
func (c *hostileCase) build(t *testing.T, funcs template.FuncMap, basePath string) []byte {
	if c.Raw != "" {
		return []byte(render(t, funcs, "raw", c.Raw))
	}
	path := render(t, funcs, "path", c.Path)
	if !strings.HasPrefix(path, "/") {
		path = basePath + "/" + path
	}
	body := render(t, funcs, "body", c.Body)
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: crmmock.test\r\nConnection: close\r\n", c.Method, path)
	for _, h := range c.Headers {
		b.WriteString(render(t, funcs, "header", h))
		b.WriteString("\r\n")
	}
	switch c.ContentLength {
	case "":
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	case "none":
	default:
		fmt.Fprintf(&b, "Content-Length: %s\r\n", render(t, funcs, "content_length", c.ContentLength))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.Bytes()
}

// exchange writes raw (pausing as a slow client) while reading the first answer.
func exchange(t *testing.T, addr string, raw []byte, c *hostileCase) (*http.Response, []byte, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	go func() {
		data := raw
		if c.Pause != nil && c.Pause.After < len(data) {
			d, err := time.ParseDuration(c.Pause.For)
			if err != nil {
				panic(err)
			}
			if _, err := conn.Write(data[:c.Pause.After]); err != nil {
				return
			}
			time.Sleep(d)
			data = data[c.Pause.After:]
		}
		if _, err := conn.Write(data); err != nil {
			return // the server may refuse and close before reading everything
		}
		_ = conn.(*net.TCPConn).CloseWrite()
	}()
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body, err
}

func loadCases(t *testing.T) []hostileCase {
	data, err := os.ReadFile("testdata/hostile/cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []hostileCase
	if _, err := yamlscenario.DecodeStrict(data, &cases); err != nil {
		t.Fatalf("cases.yaml: %v", err)
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if c.Name == "" || seen[c.Name] {
			t.Fatalf("cases.yaml: case without a name, or a duplicate name %q", c.Name)
		}
		seen[c.Name] = true
	}
	return cases
}

// Ensure hostile requests over a real socket get the envelope with the right code
// (or net/http's refusal), leave the server healthy and move no token they should not.
func TestHostileInputs(t *testing.T) {
	cases := loadCases(t)
	if len(cases) < 40 {
		t.Fatalf("%d hostile cases, want at least 40", len(cases))
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	env := &hostileEnv{rsaKey: key, servers: map[string]*liveServer{
		"":       listen(t, Options{JWTSecret: []byte(fixedSecret), Start: t0}),
		"mapped": listen(t, Options{JWTSecret: []byte(fixedSecret), Start: t0, MappedErrors: true}),
	}}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			live, ok := env.servers[c.Server]
			if !ok {
				t.Fatalf("unknown server %q", c.Server)
			}
			m := live.m
			version := c.Version
			if version == "" {
				version = "R12"
			}
			if _, err := m.SetVersion(version); err != nil {
				t.Fatal(err)
			}
			funcs := env.caseFuncs(t, m)
			raw := c.build(t, funcs, m.BasePath())
			before := m.Tokens()

			resp, body, err := exchange(t, live.addr, raw, &c)
			switch {
			case c.Expect.Refused:
				if err == nil && (resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusRequestTimeout ||
					strings.Contains(string(body), `"status"`)) {
					t.Fatalf("want net/http's refusal or a close, got %d %s", resp.StatusCode, clipBody(body))
				}
			case c.Expect.Closed:
				if err == nil {
					t.Fatalf("want the connection closed without an answer, got %d %s", resp.StatusCode, clipBody(body))
				}
			case err != nil:
				t.Fatalf("no answer: %v", err)
			default:
				if resp.StatusCode != c.Expect.HTTP {
					t.Errorf("HTTP %d, want %d (%s)", resp.StatusCode, c.Expect.HTTP, clipBody(body))
				}
				if c.Expect.Code != "" {
					code, _, err := parseEnvelope(body)
					if err != nil {
						t.Fatalf("not the envelope: %v", err)
					}
					if code != c.Expect.Code {
						t.Errorf("status.code %s, want %s (%s)", code, c.Expect.Code, clipBody(body))
					}
				} else if isEnvelope(body) {
					t.Errorf("want no envelope (net/http's refusal or the control API's JSON), got %s", clipBody(body))
				}
				if h := c.Expect.Header; h != "" {
					k, v, _ := strings.Cut(h, ":")
					if got := resp.Header.Get(k); got != strings.TrimSpace(v) {
						t.Errorf("header %s: %q, want %q", k, got, strings.TrimSpace(v))
					}
				}
			}
			live.healthy(t)
			tokensMoved(t, before, m.Tokens(), c.Expect.Tokens)
		})
	}
	for name, l := range env.servers {
		if strings.Contains(l.logs.String(), "handler panic") {
			t.Errorf("server %q logged a recovered panic:\n%s", name, l.logs.String())
		}
	}
}

// isEnvelope tells a Web API envelope (an object with status and data) from the
// control API's JSON (whose journal entries have a status of their own) and from
// net/http's plain-text refusals.
func isEnvelope(body []byte) bool {
	var v map[string]json.RawMessage
	if json.Unmarshal(body, &v) != nil {
		return false
	}
	_, status := v["status"]
	_, data := v["data"]
	return status && data
}

// tokensMoved checks how the store changed: unchanged, one token issued, or one
// live token released; every other token keeps its state.
func tokensMoved(t *testing.T, before, after []Token, want string) {
	t.Helper()
	if want == "" {
		want = "unchanged"
	}
	wantLen := len(before)
	if want == "issued" {
		wantLen++
	}
	if len(after) != wantLen {
		t.Fatalf("tokens: %d -> %d, want %s", len(before), len(after), want)
	}
	changed := 0
	for i, b := range before {
		a := after[i]
		if a.Token != b.Token {
			t.Fatalf("token %d changed identity", i)
		}
		if a.State == b.State {
			continue
		}
		changed++
		if want != "released" || b.State != StateLive || a.State != StateReleased {
			t.Errorf("token %d: %s -> %s, want %s", i, b.State, a.State, want)
		}
	}
	switch {
	case want == "released" && changed != 1:
		t.Errorf("want one token released, %d changed", changed)
	case want == "issued" && after[len(after)-1].State != StateLive:
		t.Errorf("the issued token is %s", after[len(after)-1].State)
	case want != "unchanged" && want != "issued" && want != "released":
		t.Fatalf("expect.tokens %q: want unchanged, issued or released", want)
	}
}

// Ensure a handler panic is recovered: the client gets INTERNAL_ERROR in the envelope,
// the panic is logged, and the server keeps serving. A scenario method compiled to a
// nil answer (impossible through compile) makes otherMethod panic.
func TestPanicRecoveredAsInternalError(t *testing.T) {
	live := listen(t, Options{JWTSecret: []byte(fixedSecret), Start: t0})
	m := live.m
	w := *m.snap.Load().world
	w.methods = map[string]*methodAnswer{"GET boom/now": nil}
	m.swap(func(s snapshot) snapshot { s.world = &w; return s })
	tok := issueToken(t, m, m.BasePath())
	resp, err := http.Get("http://" + live.addr + m.BasePath() + "/boom/now?token=" + tok)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	code, _, err := parseEnvelope(body)
	if err != nil || code != string(CodeInternal) {
		t.Fatalf("got %q %v, want INTERNAL_ERROR", body, err)
	}
	if !strings.Contains(live.logs.String(), "handler panic") {
		t.Errorf("the panic was not logged: %q", live.logs.String())
	}
	if j := m.Journal(); len(j) == 0 || j[len(j)-1].Code != string(CodeInternal) {
		t.Errorf("journal does not record the INTERNAL_ERROR: %+v", j)
	}
	live.healthy(t)
}

// Ensure the CLI's server limits are the documented ones.
func TestNewHTTPServerLimits(t *testing.T) {
	s := NewHTTPServer(http.NotFoundHandler(), nil)
	if s.ReadHeaderTimeout != 10*time.Second || s.ReadTimeout != 30*time.Second || s.WriteTimeout != 30*time.Second ||
		s.IdleTimeout != 120*time.Second || s.MaxHeaderBytes != 64<<10 || s.ErrorLog == nil {
		t.Errorf("limits: %+v", s)
	}
}

// Ensure tokens and jti are unpredictable-looking: 32 uppercase hex from crypto/rand
// (F6, F10), never repeated.
func TestTokensAndJTIAreRandom(t *testing.T) {
	m := newTestMock(t, "R10")
	seen := map[string]bool{}
	for range 2000 {
		tok := issueToken(t, m, m.BasePath())
		if !jtiPattern().MatchString(tok) || seen[tok] {
			t.Fatalf("token %q: not 32 uppercase hex, or repeated", tok)
		}
		seen[tok] = true
	}
	if _, err := m.SetVersion("R12"); err != nil {
		t.Fatal(err)
	}
	for range 500 {
		parts := strings.Split(issueToken(t, m, m.BasePath()), ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var c struct{ JTI string }
		if err := json.Unmarshal(payload, &c); err != nil || !jtiPattern().MatchString(c.JTI) || seen[c.JTI] {
			t.Fatalf("jti %q: not 32 uppercase hex, or repeated (%v)", c.JTI, err)
		}
		seen[c.JTI] = true
	}
}

// Ensure Options.BodyLimit (--body-limit) moves the limit: at the limit the request is
// served, one byte over it is REQUEST_TOO_LARGE, over a real socket.
func TestBodyLimitConfigurable(t *testing.T) {
	const limit = 4096
	live := listen(t, Options{JWTSecret: []byte(fixedSecret), Start: t0, BodyLimit: limit})
	login := `{"username":"` + docUser + `","password":"` + docPass + `","organisation":"` + docOrg + `"}`
	for _, tc := range []struct {
		size int
		want Code
	}{{limit, CodeOK}, {limit + 1, CodeTooLarge}, {64 << 10, CodeTooLarge}} {
		body := login + strings.Repeat(" ", tc.size-len(login))
		resp, err := http.Post("http://"+live.addr+live.m.BasePath()+"/authentication/token", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if code, _, err := parseEnvelope(b); err != nil || code != string(tc.want) {
			t.Errorf("%d bytes: %s %v, want %s", tc.size, code, err, tc.want)
		}
	}
	live.healthy(t)
}
