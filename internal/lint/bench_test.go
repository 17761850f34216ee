package lint

import (
	"fmt"
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/testutil"
	"github.com/crmmock/crmmock/internal/wire"
)

// journal100k is a session of 100 000 requests: 100 users on R12 using their tokens
// every minute with a correct re-login at each expiry, one that logs in per request,
// one that truncates its token, one retrying a dead token, misplaced tokens and
// contract violations.
func journal100k(tb testing.TB) *Input {
	s := newSim(&testing.T{}, "R12")
	toks := make([]string, 100)
	for i := range toks {
		toks[i] = s.login(fmt.Sprintf("user%03d", i))
	}
	for len(s.entries) < 100_000 {
		for i := range toks {
			if s.use(toks[i]) == wire.CodeTokenExpired {
				toks[i] = s.login(fmt.Sprintf("user%03d", i))
			}
		}
		s.use(s.login("perrequest"))
		s.use(toks[0][:32])
		s.use(toks[1] + "x")
		s.misplaced("Authorization header")
		s.violation("POST", "/crmapi/rest/v2/authentication/token", `property "organisation" is missing`)
		s.advance(time.Minute)
	}
	in := s.input()
	if len(in.Entries) < 100_000 || len(in.Tokens) < 1000 {
		tb.Fatalf("journal of %d entries, %d tokens", len(in.Entries), len(in.Tokens))
	}
	return in
}

// BenchmarkLint100k is the lint over a 100k-request journal (issue 7: ≤ 200 ms).
func BenchmarkLint100k(b *testing.B) {
	in := journal100k(b)
	b.ReportAllocs()
	b.ResetTimer()
	var r Report
	cpu := testutil.CPUTime()
	for b.Loop() {
		fresh := &Input{Entries: in.Entries, Tokens: in.Tokens, Now: in.Now, Release: in.Release, Profile: in.Profile}
		r = Run(fresh)
	}
	b.ReportMetric(float64(len(r.Findings)), "findings")
	b.ReportMetric(float64((testutil.CPUTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}
