package mockserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Helpers shared by the hardening tests (fuzz_test.go, hostile_test.go,
// concurrency_test.go, bench_test.go). Names carry the prefix hz so they do not clash
// with the other test files of the package.

const (
	hzSecret = "hardening-secret"
)

// hzMock is a Mock on the default scenario, a fixed secret and a fixed fake clock.
func hzMock(tb testing.TB, version string) *Mock {
	tb.Helper()
	m, err := New(Options{Version: version, JWTSecret: []byte(hzSecret), Start: t0})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return m
}

// hzEnvelope checks that body is exactly the Web API envelope: an object with the
// keys status and data, status holding string code (non-empty), message and
// description; data null on errors and not null on OK. It returns the code and data.
func hzEnvelope(body []byte) (code string, data json.RawMessage, err error) {
	if !json.Valid(body) {
		return "", nil, fmt.Errorf("not valid JSON: %q", hzClip(body))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return "", nil, fmt.Errorf("not a JSON object: %v", err)
	}
	st, okS := top["status"]
	data, okD := top["data"]
	if !okS || !okD || len(top) != 2 {
		return "", nil, fmt.Errorf("want exactly the keys status and data, got %q", hzClip(body))
	}
	var status map[string]json.RawMessage
	if err := json.Unmarshal(st, &status); err != nil || len(status) != 3 {
		return "", nil, fmt.Errorf("status: want {code, message, description}, got %s", hzClip(st))
	}
	var fields [3]string
	for i, k := range []string{"code", "message", "description"} {
		raw, ok := status[k]
		if !ok {
			return "", nil, fmt.Errorf("status.%s missing", k)
		}
		if err := json.Unmarshal(raw, &fields[i]); err != nil || raw[0] != '"' {
			return "", nil, fmt.Errorf("status.%s is not a string: %s", k, hzClip(raw))
		}
	}
	code = fields[0]
	switch {
	case code == "":
		return "", nil, fmt.Errorf("status.code is empty")
	case code == "OK" && string(data) == "null":
		return "", nil, fmt.Errorf("data is null on OK")
	case code != "OK" && string(data) != "null":
		return "", nil, fmt.Errorf("data is %s on error %s, want null", hzClip(data), code)
	}
	return code, data, nil
}

func hzClip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// hzRaw composes a raw HTTP/1.1 request. headers is a raw header block (lines
// separated by \r\n, no final blank line); a Content-Length is added unless headers
// already carry one or a Transfer-Encoding.
func hzRaw(method, target, headers string, body []byte) []byte {
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

// hzServeRaw parses raw as net/http's server would and serves it in process. ok is
// false when net/http itself would refuse the bytes (the mock never sees them).
func hzServeRaw(h http.Handler, raw []byte) (rec *httptest.ResponseRecorder, ok bool) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, false
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec, true
}

// hzIssue issues a token through the full stack and returns it.
func hzIssue(tb testing.TB, h http.Handler, basePath string) string {
	tb.Helper()
	body := `{"username":"` + docUser + `","password":"` + docPass + `","organisation":"` + docOrg + `"}`
	req := httptest.NewRequest(http.MethodPost, basePath+"/authentication/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	code, data, err := hzEnvelope(rec.Body.Bytes())
	if err != nil || code != "OK" {
		tb.Fatalf("issue: %s %v", code, err)
	}
	var d struct{ Token string }
	_ = json.Unmarshal(data, &d)
	return d.Token
}
