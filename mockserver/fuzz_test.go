// Cross-cutting suite (keeps its name): fuzzing of the Web API methods and the scenario parser.

package mockserver

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/crmmock/crmmock/internal/tokens"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crmmock/crmmock"

	yamlscenario "github.com/crmmock/crmmock/internal/scenario"
)

// Fuzz targets of the hardening issue: the full request path of each Web API method
// (raw HTTP request bytes in, parsed as net/http's server parses them, served by the
// Mock, envelope out), the scenario loader and token checking. Run them with
// `make fuzz` (FUZZTIME each); seeds are the f.Add calls and testdata/fuzz/<Target>.
//
// Placeholders in fuzzed inputs are replaced before the request is built, so the
// fuzzer can reach the states past a token check:
//
//	@TOK@  a live user token of the emulated release (opaque before R12, JWT from R12)
//	@REL@  a released token
//	@EXP@  an expired token (issued three hours ago)

var fuzzVersions = [...]string{"R9", "R10", "R12"}

// fuzzMocks is one Mock per emulated release, reset now and then so a long run does
// not hold every token it issued.
type fuzzMocks struct {
	mocks [len(fuzzVersions)]*Mock
	n     int
}

func newFuzzMocks(tb testing.TB) *fuzzMocks {
	fm := &fuzzMocks{}
	for i, v := range fuzzVersions {
		fm.mocks[i] = newTestMock(tb, v)
	}
	return fm
}

func (fm *fuzzMocks) pick(ver uint8) *Mock {
	fm.n++
	m := fm.mocks[int(ver)%len(fm.mocks)]
	if fm.n%2000 == 0 {
		m.Reset()
	}
	return m
}

// fill replaces the placeholders in s with tokens issued (and released, aged) on m.
func fill(tb testing.TB, m *Mock, s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	if strings.Contains(s, "@TOK@") {
		s = strings.ReplaceAll(s, "@TOK@", issueToken(tb, m, m.BasePath()))
	}
	if strings.Contains(s, "@REL@") {
		tok := issueToken(tb, m, m.BasePath())
		if aerr := storeRelease(m.tokens, tok); aerr != nil {
			tb.Fatalf("release: %v", aerr)
		}
		s = strings.ReplaceAll(s, "@REL@", tok)
	}
	if strings.Contains(s, "@EXP@") {
		wd, rel := m.snap.Load().world, &m.snap.Load().rel
		u := wd.orgs[docOrg].users[docUser]
		a := m.issue(nil, u, u.defaultUnit, rel, wd, m.Now().Add(-3*time.Hour))
		if a.err != nil {
			tb.Fatalf("issue expired: %v", a.err)
		}
		s = strings.ReplaceAll(s, "@EXP@", a.issued)
	}
	return s
}

// tokenStates counts tokens and released tokens.
func tokenStates(m *Mock) (total, released int, byValue map[string]State) {
	ts := m.Tokens()
	byValue = make(map[string]State, len(ts))
	for _, t := range ts {
		byValue[t.Token] = t.State
		if t.State == StateReleased {
			released++
		}
	}
	return len(ts), released, byValue
}

// fuzzServe serves raw on m and checks what every Web API answer must be: the
// envelope, JSON, never INTERNAL_ERROR (the default scenario injects none, so one
// would be a recovered panic or an unhandled case), and a status that fits the code.
func fuzzServe(t *testing.T, m *Mock, raw []byte) (code string, data json.RawMessage, served bool) {
	t.Helper()
	rec, ok := serveRaw(m, raw)
	if !ok {
		return "", nil, false // net/http refuses these bytes before any handler runs
	}
	code, data, err := parseEnvelope(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("answer is not the envelope: %v\nrequest: %q", err, raw)
	}
	if code == string(CodeInternal) {
		t.Fatalf("INTERNAL_ERROR: %s\nrequest: %q", rec.Body.Bytes(), raw)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	switch st := rec.Code; {
	case st == http.StatusOK:
	case st == http.StatusNotFound && (code == string(CodeNotAvailable) || code == string(CodeInvalidRequest)):
	case st == http.StatusMethodNotAllowed && code == string(CodeInvalidRequest):
	default:
		t.Fatalf("HTTP %d with %s", st, code)
	}
	return code, data, true
}

const jsonHeader = "Content-Type: application/json"

func basicHeader(s string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(s))
}

// fuzzIssue is the body of the two token-issuing targets.
func fuzzIssue(t *testing.T, fm *fuzzMocks, ver uint8, path, headers string, body []byte, kind Kind) {
	m := fm.pick(ver)
	headers = fill(t, m, headers)
	total, released, _ := tokenStates(m)
	code, data, served := fuzzServe(t, m, rawRequest(http.MethodPost, m.BasePath()+path, headers, body))
	if !served {
		return
	}
	total2, released2, _ := tokenStates(m)
	if released2 != released {
		t.Fatalf("issuing changed released tokens %d -> %d", released, released2)
	}
	if code != string(CodeOK) {
		if total2 != total {
			t.Fatalf("%s, yet the token count went %d -> %d", code, total, total2)
		}
		return
	}
	var d struct{ Token string }
	if err := json.Unmarshal(data, &d); err != nil || d.Token == "" {
		t.Fatalf("OK without data.token: %s", data)
	}
	tok, ok := m.Token(d.Token)
	if !ok || tok.State != StateLive || tok.Kind != kind || total2 != total+1 {
		t.Fatalf("issued %q: found %v, %+v; count %d -> %d", d.Token, ok, tok, total, total2)
	}
}

func keySeeds(f *testing.F) {
	for v := range uint8(3) {
		f.Add(v, basicHeader(docKey+":"), []byte(nil))
		f.Add(v, jsonHeader+"\r\n"+basicHeader(docKey+":"), []byte(`{"unit":"Head Office"}`))
		f.Add(v, jsonHeader+"\r\n"+basicHeader(docKey+":"), []byte(`{"unit":"nope"}`))
	}
	f.Add(uint8(2), basicHeader(docKey), []byte(nil))
	f.Add(uint8(2), basicHeader(":"), []byte(nil))
	f.Add(uint8(2), basicHeader(docKey+":pw"), []byte(nil))
	f.Add(uint8(2), "Authorization: Basic !!notbase64", []byte(nil))
	f.Add(uint8(2), "Authorization: Bearer "+docKey, []byte(nil))
	f.Add(uint8(2), "Authorization: basic "+base64.StdEncoding.EncodeToString([]byte(docKey+":")), []byte(`{"unit":5}`))
	f.Add(uint8(1), jsonHeader+"\r\n"+basicHeader(docKey+":"), []byte(`{"unit":"Head Office","unit":"Branch"}`))
	f.Add(uint8(1), "Content-Type: text/plain\r\n"+basicHeader(docKey+":"), []byte(`{`))
}

// FuzzAuthenticationToken: POST authentication/token (F2) from raw header and body bytes.
func FuzzAuthenticationToken(f *testing.F) {
	ok := `{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`
	for v := range uint8(3) {
		f.Add(v, jsonHeader, []byte(ok))
		f.Add(v, jsonHeader, []byte(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO","unit":"Branch"}`))
		f.Add(v, jsonHeader, []byte(`{"username":"branchuser","password":"5678","organisation":"CRMDEMO","unit":"Head Office"}`))
	}
	f.Add(uint8(0), jsonHeader, []byte(`{"username":"mpadministrator","password":"12345","organisation":"CRMDEMO"}`))
	f.Add(uint8(2), jsonHeader, []byte(`{"username":"x","password":"1234","organisation":"NOPE"}`))
	f.Add(uint8(2), jsonHeader, []byte(`{"username":1,"password":"1234","organisation":"CRMDEMO"}`))
	f.Add(uint8(2), jsonHeader, []byte(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO","username":"branchuser"}`))
	f.Add(uint8(2), jsonHeader, []byte("{\"username\":\"mp\xffadmin\",\"password\":\"1234\",\"organisation\":\"CRMDEMO\"}"))
	f.Add(uint8(2), jsonHeader, []byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`))
	f.Add(uint8(2), jsonHeader, []byte(ok[:30]))
	f.Add(uint8(2), "Content-Type: text/plain", []byte(ok))
	f.Add(uint8(2), "Content-Type: application/json; charset=utf-8", []byte(ok))
	f.Add(uint8(2), jsonHeader+"\r\nContent-Length: 10", []byte(ok))
	f.Add(uint8(2), jsonHeader+"\r\nTransfer-Encoding: chunked", []byte("10\r\n{\"username\":\"mpa\r\n0\r\n\r\n"))
	f.Add(uint8(2), "", []byte(nil))
	fm := newFuzzMocks(f)
	f.Fuzz(func(t *testing.T, ver uint8, headers string, body []byte) {
		fuzzIssue(t, fm, ver, "/authentication/token", headers, body, KindUser)
	})
}

// FuzzWebAPIKeyToken: POST authentication/web_api_key/token (F7), the key in Basic auth.
func FuzzWebAPIKeyToken(f *testing.F) {
	keySeeds(f)
	fm := newFuzzMocks(f)
	f.Fuzz(func(t *testing.T, ver uint8, headers string, body []byte) {
		fuzzIssue(t, fm, ver, "/authentication/web_api_key/token", headers, body, KindKey)
	})
}

// FuzzReleaseToken: POST authentication/token/release (F8). Released tokens never come
// back; at most the one token named is released; nothing is issued.
func FuzzReleaseToken(f *testing.F) {
	for v := range uint8(3) {
		f.Add(v, jsonHeader, []byte(`{"token":"@TOK@"}`))
		f.Add(v, jsonHeader, []byte(`{"token":"@REL@"}`))
		f.Add(v, jsonHeader, []byte(`{"token":"@EXP@"}`))
	}
	f.Add(uint8(2), jsonHeader, []byte(`{"token":"@TOK@x"}`))
	f.Add(uint8(2), jsonHeader, []byte(`{"token":"@TOK@","token":"@REL@"}`))
	f.Add(uint8(2), jsonHeader, []byte(`{"token":["@TOK@"]}`))
	f.Add(uint8(2), jsonHeader, []byte(`{"token":""}`))
	f.Add(uint8(1), jsonHeader, []byte(`{"token":"4AD9C84FA60F9FE407140E20F707726A"}`))
	f.Add(uint8(2), jsonHeader, []byte(`{"token":"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJ1c3IiOiJ4In0."}`))
	f.Add(uint8(2), "", []byte(`{"token":"@TOK@"}`))
	fm := newFuzzMocks(f)
	f.Fuzz(func(t *testing.T, ver uint8, headers string, body []byte) {
		m := fm.pick(ver)
		headers = fill(t, m, headers)
		body = []byte(fill(t, m, string(body)))
		total, released, before := tokenStates(m)
		code, _, served := fuzzServe(t, m, rawRequest(http.MethodPost, m.BasePath()+"/authentication/token/release", headers, body))
		if !served {
			return
		}
		total2, released2, after := tokenStates(m)
		want := released
		if code == string(CodeOK) {
			want++
		}
		if total2 != total || released2 != want {
			t.Fatalf("%s: tokens %d -> %d, released %d -> %d", code, total, total2, released, released2)
		}
		for v, s := range before {
			if s == StateReleased && after[v] != StateReleased {
				t.Fatalf("token %s went %s -> %s", v, s, after[v])
			}
		}
	})
}

// FuzzOtherMethod: any other GET/POST <resource>/<action> (F5), method, target,
// headers and body all fuzzed. Nothing is issued or released by them.
func FuzzOtherMethod(f *testing.F) {
	base := docBasePath
	for v := range uint8(3) {
		f.Add(v, "GET", base+"/contact_information/show?token=@TOK@", "", []byte(nil))
		f.Add(v, "POST", base+"/contact_information/show", jsonHeader, []byte(`{"token":"@TOK@","x":[1,2,{"y":null}]}`))
		f.Add(v, "GET", base+"/contact_information/show?token=@REL@", "", []byte(nil))
		f.Add(v, "GET", base+"/contacts/list?token=@EXP@", "", []byte(nil))
	}
	f.Add(uint8(2), "GET", base+"/contact_information/show?token=@TOK@&token=x", "", []byte(nil))
	f.Add(uint8(2), "GET", base+"/contact_information/show", "", []byte(nil))
	f.Add(uint8(2), "GET", base+"/Contact/Show?token=@TOK@", "", []byte(nil))
	f.Add(uint8(2), "GET", base+"/a/b/c?token=@TOK@", "", []byte(nil))
	f.Add(uint8(2), "GET", base+"/contact_information/show?token=%ff%fe", "", []byte(nil))
	f.Add(uint8(2), "GET", "/elsewhere?token=@TOK@", "", []byte(nil))
	f.Add(uint8(2), "DELETE", base+"/contact_information/show?token=@TOK@", "", []byte(nil))
	f.Add(uint8(2), "PUT", base+"/authentication/token", jsonHeader, []byte(`{}`))
	f.Add(uint8(2), "POST", base+"/contact_information/show", jsonHeader, []byte(`{"token":7}`))
	f.Add(uint8(2), "POST", base+"/contact_information/show", "Content-Type: application/xml", []byte(`<token/>`))
	f.Add(uint8(2), "POST", base+"/contact_information/show?token=@TOK@", jsonHeader, []byte(`{"token":"@REL@"}`))
	f.Add(uint8(0), "GET", base+"/authentication/token/release?token=@TOK@", "", []byte(nil))
	fm := newFuzzMocks(f)
	f.Fuzz(func(t *testing.T, ver uint8, method, target, headers string, body []byte) {
		m := fm.pick(ver)
		target = fill(t, m, target)
		headers = fill(t, m, headers)
		body = []byte(fill(t, m, string(body)))
		total, released, before := tokenStates(m)
		raw := rawRequest(method, target, headers, body)
		if u, err := url.ParseRequestURI(target); err == nil && strings.HasPrefix(u.Path, "/__admin") {
			return // the control API answers its own shape, not the envelope
		}
		if u, err := url.ParseRequestURI(target); err == nil && strings.HasPrefix(u.Path, m.BasePath()+"/") {
			checkFastRoute(t, method, u.Path[len(m.BasePath()):])
		}
		code, _, served := fuzzServe(t, m, raw)
		if !served {
			return
		}
		if strings.Contains(target, "/authentication/") && method == http.MethodPost {
			return // a token method under another name: its own target covers it
		}
		total2, released2, after := tokenStates(m)
		if total2 != total || released2 != released {
			t.Fatalf("%s: tokens %d -> %d, released %d -> %d", code, total, total2, released, released2)
		}
		for v, s := range before {
			if s != StateLive && after[v] == StateLive {
				t.Fatalf("token %s went %s -> live", v, s)
			}
		}
	})
}

// FuzzParseScenario: the scenario loader never panics; a scenario it accepts starts a
// mock whose first user can log in.
func FuzzParseScenario(f *testing.F) {
	f.Add(crmmock.DefaultScenario)
	f.Add(mustJSON(DefaultScenario()))
	f.Add([]byte(`{"organisations":[{"name":"O","units":[{"id":"U"}],"users":[{"username":"u","password":"p"}]}]}`))
	f.Add([]byte("version: R10\nclock: {start: \"2024-01-01T09:00:00Z\"}\njwt: {numeric_dates: true}\norganisations:\n  - name: A\n    units: [{id: X, oun: \"7\"}]\n    users: [{username: a, password: b, units: [X]}]\n    web_api_keys: [{key: K, user: a}]\nmethods:\n  - {method: post, path: /a/b/, data: [1, {x: y}]}\n  - {method: GET, path: a/b, error: INTERNAL_ERROR}\nerrors:\n  INVALID_TOKEN: {code: E1, message: bad}\n"))
	f.Add([]byte("organisations:\n  - name: A\n    units: [{id: X}, {id: X}]\n"))
	f.Add([]byte("organisations:\n  - &a {name: A, units: [{id: X}]}\n  - *a\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte(aliasBomb(10))) // issue 8: 11 KiB expanding to 100 MB stalled this target for minutes
	f.Add([]byte(keyBomb(2000)))
	f.Add([]byte("organisations: [{name: A, units: [{id: X}], users: [{username: u, default_unit: Y}]}]\nbogus: 1\n"))
	f.Add([]byte("version: R0\n"))
	f.Add([]byte("\xff\xfe"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		var strict Scenario
		if _, derr := yamlscenario.DecodeStrict(data, &strict); derr == nil || !strings.Contains(derr.Error(), "at most") && !strings.Contains(derr.Error(), "document is empty") {
			if old := knownFieldsErr(data); (derr == nil) != (old == nil) {
				t.Fatalf("DecodeStrict (one parse) and yaml.v3's KnownFields decoder disagree: %v / %v", derr, old)
			}
		}
		sc, err := ParseScenario(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		m, err := New(Options{Scenario: sc, JWTSecret: []byte(fixedSecret), Start: t0})
		if err != nil {
			t.Fatalf("ParseScenario accepted what New refuses: %v", err)
		}
		o := sc.Organisations[0]
		if len(o.Users) == 0 {
			return
		}
		u := o.Users[0]
		body, _ := json.Marshal(map[string]string{"username": u.Username, "password": u.Password, "organisation": o.Name})
		code, _, served := fuzzServe(t, m, rawRequest(http.MethodPost, m.BasePath()+"/authentication/token", jsonHeader, body))
		if !served {
			t.Fatal("net/http refused a login request")
		}
		valid := utf8.ValidString(u.Username) && utf8.ValidString(u.Password) && utf8.ValidString(o.Name)
		if valid && code != string(CodeOK) && sc.Errors == nil {
			t.Fatalf("the first user of an accepted scenario cannot log in: %s", code)
		}
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzTokenCheck: token parsing, opaque and JWT. checkJWT never panics; the token check
// accepts exactly the tokens the store holds live; the full GET path answers the same
// code as the check.
func FuzzTokenCheck(f *testing.F) {
	claims := jwt.MapClaims{"usr": docUser, "org": docOrg, "oun": "1", "iat": "1704099600", "exp": "1704106800", "jti": "0123456789ABCDEF0123456789ABCDEF"}
	sign := func(method jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, c).SignedString(key)
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	edit := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for a, b := range claims {
			c[a] = b
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	seeds := []string{
		"@TOK@", "@REL@", "@EXP@", "@TOK@x", "x@TOK@", "", "4AD9C84FA60F9FE407140E20F707726A", "4ad9c84fa60f9fe407140e20f707726a",
		sign(jwt.SigningMethodHS256, []byte(fixedSecret), claims),
		sign(jwt.SigningMethodHS512, []byte(fixedSecret), claims),
		sign(jwt.SigningMethodHS256, []byte("wrong"), claims),
		sign(jwt.SigningMethodRS256, rsaKey, claims),
		sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims),
		sign(jwt.SigningMethodHS256, []byte(fixedSecret), edit("exp", "1704200000")),
		sign(jwt.SigningMethodHS256, []byte(fixedSecret), edit("jti", "abc")),
		sign(jwt.SigningMethodHS256, []byte(fixedSecret), edit("usr", nil)),
		sign(jwt.SigningMethodHS256, []byte(fixedSecret), edit("iat", 1704099600.5)),
		sign(jwt.SigningMethodHS256, []byte(fixedSecret), edit("oun", 1)),
		"a.b.c", "..", "e30.e30.", "eyJhbGciOiJIUzI1NiJ9.@TOK@.sig",
	}
	for i, s := range seeds {
		f.Add(uint8(i%3), s, i%2 == 0)
		f.Add(uint8(2), s, true)
	}
	fm := newFuzzMocks(f)
	f.Fuzz(func(t *testing.T, ver uint8, token string, touch bool) {
		m := fm.pick(ver)
		token = fill(t, m, token)
		_ = checkJWT(m.secret, token)
		p := tokens.Check
		if touch {
			p = tokens.Use
		}
		aerr := m.checkToken(token, p).err
		tok, held := m.Token(token)
		want := string(CodeOK)
		if aerr != nil {
			want = string(aerr.Code)
			switch aerr.Code {
			case CodeInvalidToken, CodeTokenExpired, CodeTokenReleased:
			default:
				t.Fatalf("check answered %s", aerr.Code)
			}
			if aerr.Code != CodeInvalidToken && !held {
				t.Fatalf("%s for a token the store does not hold", aerr.Code)
			}
		} else if !held || tok.State != StateLive {
			t.Fatalf("accepted %q: held %v, state %s", token, held, tok.State)
		}
		if token == "" {
			return
		}
		code, _, served := fuzzServe(t, m, rawRequest(http.MethodGet, m.BasePath()+"/contact_information/show?token="+url.QueryEscape(token), "", nil))
		if served && code != want {
			t.Fatalf("GET answered %s, the check %s", code, want)
		}
	})
}

// checkFastRoute holds Contract.fastRoute to the router's answer.
func checkFastRoute(t *testing.T, method, rest string) {
	c, _ := loadProcessContract()
	fast, fparams, ok := c.fastRoute(method, rest)
	if !ok {
		return
	}
	req := &http.Request{Method: method, URL: &url.URL{Path: docBasePath + rest}, Header: http.Header{}, Host: "x"}
	router, _ := c.router()
	route, params, err := router.FindRoute(req)
	if err != nil || route.Operation.OperationID != fast.Operation.OperationID || !maps.Equal(params, fparams.asMap()) {
		t.Fatalf("%s %q: fast path %s %v, router %v %v", method, rest, fast.Operation.OperationID, fparams, route, err)
	}
}
