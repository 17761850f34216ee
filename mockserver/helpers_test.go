// The package's one set of test helpers: the harness over an httptest server, its requests, the answer checks against openapi.yaml and the raw-request helpers of the fuzz suite.

package mockserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/stretchr/testify/require"
)

// The documentation's own example fixtures (scenarios/default.yaml).
const (
	docUser = "mpadministrator"
	docPass = "1234"
	docOrg  = "CRMDEMO"
	docUnit = "EE63A82C4FEBE02FF34E90DD1EBA5ABE"
	docKey  = "EE73C0AE64524371B5DDEFF5F7BB2192"
)

var t0 = time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)

// reply is a decoded Web API answer.
type reply struct {
	HTTP   int
	Header http.Header
	Raw    []byte
	Status struct {
		Code        string  `json:"code"`
		Message     *string `json:"message"`
		Description *string `json:"description"`
	} `json:"status"`
	Data json.RawMessage `json:"data"`
}

func (r reply) token(t *testing.T) string {
	t.Helper()
	var d struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.Unmarshal(r.Data, &d), "data: %s", r.Raw)
	require.NotEmpty(t, d.Token, "no token in %s", r.Raw)
	return d.Token
}

// harness drives one test server and checks every answer against openapi.yaml.
type harness struct {
	t *testing.T
	*Server
	// offContract skips the answer's check against openapi.yaml: for a scenario that
	// shapes tokens as an installation does, not as the contract's pattern says.
	offContract bool
}

func start(t *testing.T, opts Options) *harness {
	t.Helper()
	if opts.Start.IsZero() && opts.Clock == nil && !opts.RealClock {
		opts.Start = t0
	}
	return &harness{t: t, Server: Start(t, opts)}
}

func startVersion(t *testing.T, version string) *harness {
	return start(t, Options{Version: version})
}

// do sends a request and checks the answer against the contract.
func (h *harness) do(req *http.Request) reply {
	h.t.Helper()
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := h.Client().Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	var r reply
	r.HTTP, r.Header, r.Raw = resp.StatusCode, resp.Header, body
	require.NoError(h.t, json.Unmarshal(body, &r), "answer is not JSON: %s", body)
	require.Equal(h.t, "application/json", resp.Header.Get("Content-Type"))
	if !h.offContract {
		checkAnswer(h.t, h.Mock, req, reqBody, resp.StatusCode, resp.Header, body)
	}
	return r
}

// checkAnswer validates an answer against openapi.yaml: the mock never answers outside
// its own contract.
func checkAnswer(t *testing.T, m *Mock, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	t.Helper()
	c, err := loadProcessContract()
	require.NoError(t, err)
	rest := strings.TrimPrefix(req.URL.Path, m.BasePath())
	routed, route, params, aerr := c.route(req, rest)
	if aerr != nil { // no operation: the answer must still be the error envelope
		var v any
		require.NoError(t, json.Unmarshal(body, &v))
		require.NoError(t, c.doc.Components.Schemas["ErrorEnvelope"].Value.VisitJSON(v), "answer %s", body)
		return
	}
	routed.Body = io.NopCloser(bytes.NewReader(reqBody))
	err = validateAnswer(routed, route, params.asMap(), status, header, body)
	require.NoError(t, err, "answer outside the contract: %d %s", status, body)
}

// validateAnswer checks an answer against the route its request was found on (of
// openapi.yaml or admin-openapi.yaml): a status the route documents, a body its schema
// accepts.
func validateAnswer(routed *http.Request, route *routers.Route, params map[string]string, status int, header http.Header, body []byte) error {
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: routed, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	})
}

func (h *harness) post(method string, body any, header ...string) reply {
	h.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	case nil:
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(h.t, err)
	}
	req, err := http.NewRequest(http.MethodPost, h.APIURL(method), bytes.NewReader(raw))
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	return h.do(req)
}

func (h *harness) get(method string, query url.Values) reply {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.APIURL(method)+"?"+query.Encode(), nil)
	require.NoError(h.t, err)
	return h.do(req)
}

func creds(extra ...string) map[string]any {
	m := map[string]any{"username": docUser, "password": docPass, "organisation": docOrg}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func basic(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

// login issues a user token and fails the test unless it is OK.
func (h *harness) login() string {
	h.t.Helper()
	r := h.post("authentication/token", creds())
	require.Equal(h.t, "OK", r.Status.Code, "%s", r.Raw)
	return r.token(h.t)
}

// keyLogin issues a Web API key token.
func (h *harness) keyLogin() string {
	h.t.Helper()
	r := h.post("authentication/web_api_key/token", nil, "Authorization", basic(docKey))
	require.Equal(h.t, "OK", r.Status.Code, "%s", r.Raw)
	return r.token(h.t)
}

// use calls another Web API method with the token (GET, query token: F5).
func (h *harness) use(token string) reply {
	h.t.Helper()
	return h.get("contact_information/show", url.Values{"token": {token}})
}

func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	_, err := h.Advance(d)
	require.NoError(h.t, err)
}

func (h *harness) code(r reply) string { return r.Status.Code }

// Helpers for requests built byte by byte and served in process (fuzz_test.go,
// hostile_test.go, concurrency_test.go, bench_test.go).

const (
	fixedSecret = "hardening-secret"
)

// newTestMock is a Mock on the default scenario, a fixed secret and a fixed fake clock.
func newTestMock(tb testing.TB, version string) *Mock {
	tb.Helper()
	m, err := New(Options{Version: version, JWTSecret: []byte(fixedSecret), Start: t0})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return m
}

// parseEnvelope checks that body is exactly the Web API envelope: an object with the
// keys status and data, status holding string code (non-empty), message and
// description; data null on errors and not null on OK. It returns the code and data.
func parseEnvelope(body []byte) (code string, data json.RawMessage, err error) {
	if !json.Valid(body) {
		return "", nil, fmt.Errorf("not valid JSON: %q", clipBody(body))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return "", nil, fmt.Errorf("not a JSON object: %v", err)
	}
	st, okS := top["status"]
	data, okD := top["data"]
	if !okS || !okD || len(top) != 2 {
		return "", nil, fmt.Errorf("want exactly the keys status and data, got %q", clipBody(body))
	}
	var status map[string]json.RawMessage
	if err := json.Unmarshal(st, &status); err != nil || len(status) != 3 {
		return "", nil, fmt.Errorf("status: want {code, message, description}, got %s", clipBody(st))
	}
	var fields [3]string
	for i, k := range []string{"code", "message", "description"} {
		raw, ok := status[k]
		if !ok {
			return "", nil, fmt.Errorf("status.%s missing", k)
		}
		if err := json.Unmarshal(raw, &fields[i]); err != nil || raw[0] != '"' {
			return "", nil, fmt.Errorf("status.%s is not a string: %s", k, clipBody(raw))
		}
	}
	code = fields[0]
	switch {
	case code == "":
		return "", nil, fmt.Errorf("status.code is empty")
	case code == "OK" && string(data) == "null":
		return "", nil, fmt.Errorf("data is null on OK")
	case code != "OK" && string(data) != "null":
		return "", nil, fmt.Errorf("data is %s on error %s, want null", clipBody(data), code)
	}
	return code, data, nil
}

func clipBody(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// rawRequest composes a raw HTTP/1.1 request. headers is a raw header block (lines
// separated by \r\n, no final blank line); a Content-Length is added unless headers
// already carry one or a Transfer-Encoding.
func rawRequest(method, target, headers string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: crmmock.test\r\n", method, target)
	if headers != "" {
		b.WriteString(strings.TrimRight(headers, "\r\n"))
		b.WriteString("\r\n")
	}
	lh := strings.ToLower(headers)
	if !strings.Contains(lh, "content-length:") && !strings.Contains(lh, "transfer-encoding:") {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// serveRaw parses raw as net/http's server would and serves it in process. ok is
// false when net/http itself would refuse the bytes (the mock never sees them).
func serveRaw(h http.Handler, raw []byte) (rec *httptest.ResponseRecorder, ok bool) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, false
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec, true
}

// issueToken issues a token through the full stack and returns it.
func issueToken(tb testing.TB, h http.Handler, basePath string) string {
	tb.Helper()
	body := `{"username":"` + docUser + `","password":"` + docPass + `","organisation":"` + docOrg + `"}`
	req := httptest.NewRequest(http.MethodPost, basePath+"/authentication/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	code, data, err := parseEnvelope(rec.Body.Bytes())
	if err != nil || code != "OK" {
		tb.Fatalf("issue: %s %v", code, err)
	}
	var d struct{ Token string }
	_ = json.Unmarshal(data, &d)
	return d.Token
}
