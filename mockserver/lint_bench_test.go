package mockserver

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BenchmarkLintJournal100k is Mock.Lint (journal and store read, the lint run) over a
// journal of 100 000 requests on R12: 50 clients using their tokens every minute and
// logging in again at each expiry, one logging in per request, one truncating its
// token, misplaced tokens and contract violations. Issue 7: ≤ 200 ms.
func BenchmarkLintJournal100k(b *testing.B) {
	m, err := New(Options{Version: "R12", Start: t0})
	if err != nil {
		b.Fatal(err)
	}
	m.journal = newJournal(100_000)
	do := func(method, target, body string, header ...string) string {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		m.ServeHTTP(w, req)
		return w.Body.String()
	}
	const login = `{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`
	token := func(answer string) string {
		_, rest, _ := strings.Cut(answer, `"token":"`)
		tok, _, _ := strings.Cut(rest, `"`)
		return tok
	}
	base := "/crmapi/rest/v2/"
	toks := make([]string, 50)
	for i := range toks {
		toks[i] = token(do(http.MethodPost, base+"authentication/token", login))
	}
	for n := 0; n < 100_000; n += len(toks) + 5 {
		for i := range toks {
			if strings.Contains(do(http.MethodGet, base+"contact_information/show?token="+toks[i], ""), "TOKEN_EXPIRED") {
				toks[i] = token(do(http.MethodPost, base+"authentication/token", login))
			}
		}
		do(http.MethodGet, base+"contact_information/show?token="+token(do(http.MethodPost, base+"authentication/token", login)), "")
		do(http.MethodGet, base+"contact_information/show?token="+toks[0][:32], "")
		do(http.MethodGet, base+"contact_information/show", "", "Authorization", "Bearer "+toks[1])
		do(http.MethodPost, base+"authentication/token", `{"username":"x"}`)
		m.fake.Advance(time.Minute)
	}
	if n := len(m.Journal()); n != 100_000 {
		b.Fatalf("journal of %d", n)
	}
	b.ResetTimer()
	var r LintReport
	for b.Loop() {
		r = m.Lint()
	}
	b.ReportMetric(float64(len(r.Findings)), "findings")
	b.ReportMetric(float64(len(m.Tokens())), "tokens")
	if len(r.Findings) == 0 {
		b.Fatal(fmt.Sprintf("no findings: %+v", r.Summary))
	}
}
