package mockserver

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/journal"
	"github.com/crmmock/crmmock/internal/testutil"
)

// BenchmarkLintJournal100k is Mock.Lint (journal and store read, the lint run) over a
// journal of 100 000 requests on R12 (issue 7: ≤ 200 ms):
//   - mixed: 50 clients using their tokens every minute and logging in again at each
//     expiry, one logging in per request, one truncating its token, misplaced tokens
//     and contract violations (about 2 600 tokens);
//   - logins: a load test logging in for every request (50 000 tokens).
func BenchmarkLintJournal100k(b *testing.B) {
	b.Run("mixed", func(b *testing.B) {
		benchLint(b, func(do func(method, target, body string, header ...string) string) {
			toks := make([]string, 50)
			for i := range toks {
				toks[i] = loginToken(do)
			}
			for n := len(toks); n < 100_000; n += len(toks) + 5 {
				for i := range toks {
					if strings.Contains(do(http.MethodGet, benchBase+"contact_information/show?token="+toks[i], ""), "TOKEN_EXPIRED") {
						toks[i] = loginToken(do)
						n++
					}
				}
				do(http.MethodGet, benchBase+"contact_information/show?token="+loginToken(do), "")
				do(http.MethodGet, benchBase+"contact_information/show?token="+toks[0][:32], "")
				do(http.MethodGet, benchBase+"contact_information/show", "", "Authorization", "Bearer "+toks[1])
				do(http.MethodPost, benchBase+"authentication/token", `{"username":"x"}`)
			}
		})
	})
	b.Run("logins", func(b *testing.B) {
		benchLint(b, func(do func(method, target, body string, header ...string) string) {
			for range 50_000 {
				do(http.MethodGet, benchBase+"contact_information/show?token="+loginToken(do), "")
			}
		})
	})
}

const benchBase = "/crmapi/rest/v2/"

func loginToken(do func(method, target, body string, header ...string) string) string {
	a := do(http.MethodPost, benchBase+"authentication/token", `{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`)
	_, rest, _ := strings.Cut(a, `"token":"`)
	tok, _, _ := strings.Cut(rest, `"`)
	return tok
}

// benchLint fills a mock's 100k journal with client, then times Mock.Lint.
func benchLint(b *testing.B, client func(do func(method, target, body string, header ...string) string)) {
	m, err := New(Options{Version: "R12", Start: t0})
	if err != nil {
		b.Fatal(err)
	}
	m.journal = journal.New(100_000)
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
		m.fake.Advance(time.Second)
		return w.Body.String()
	}
	client(do)
	if n := len(m.Journal()); n != 100_000 {
		b.Fatalf("journal of %d", n)
	}
	b.ResetTimer()
	var r LintReport
	cpu := testutil.CPUTime()
	for b.Loop() {
		r = m.Lint()
	}
	b.ReportMetric(float64((testutil.CPUTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(len(r.Findings)), "findings")
	b.ReportMetric(float64(len(m.Tokens())), "tokens")
	if len(r.Findings) == 0 {
		b.Fatalf("no findings: %+v", r.Summary)
	}
}
