package lint

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/testutil"
	"github.com/crmmock/crmmock/internal/wire"
	"github.com/stretchr/testify/require"
)

// noErrorsOrWarnings fails when the report has a finding above info.
func noErrorsOrWarnings(t *testing.T, r Report) {
	t.Helper()
	for _, f := range r.Findings {
		require.Equal(t, "info", f.Severity, "%s: %s", f.Rule, f.Message)
	}
	require.False(t, r.Fails(Warning))
}

// Ensure a well-behaved client (logs in once, reuses, logs in once again on
// TOKEN_EXPIRED even in active use, releases on R10/R11) gets no error or warning on
// every release, with user and (from R10) key tokens.
func TestWellBehavedClientEveryRelease(t *testing.T) {
	for _, rel := range []string{"pre-R10", "R10", "R11", "R12", "R14"} {
		t.Run(rel, func(t *testing.T) {
			s := newSim(t, rel)
			wellBehaved(s, func() string { return s.login("mpadministrator") })
			if s.profile != wire.ProfilePreR10 {
				wellBehaved(s, func() string { return s.keyLogin("EE73C0AE64524371B5DDEFF5F7BB2192") })
			}
			r := Run(s.input())
			noErrorsOrWarnings(t, r)
			// Tokens under the absolute rule die in use, and the client recovers: info,
			// one per user or key (F9 from R12; F7 key tokens from R10).
			infos := map[string]int{wire.ProfilePreR10: 0, wire.ProfileR10: 1, wire.ProfileR12: 2}[s.profile]
			require.Len(t, r.Findings, infos)
			for _, f := range r.Findings {
				require.Equal(t, "active-token-expired", f.Rule)
			}
			// It did hit TOKEN_EXPIRED and log in again: the client was put to the test.
			var expired, logins int
			for _, e := range s.entries {
				if e.Judged() == wire.CodeTokenExpired {
					expired++
				}
				if e.Issued != "" {
					logins++
				}
			}
			require.Positive(t, expired)
			require.Greater(t, logins, 1)
		})
	}
}

// Ensure the R10-era client on R12 is told off: refreshing only after an idle hour, it
// retries its dead token.
func TestR10ClientOnR12(t *testing.T) {
	s := newSim(t, "R12")
	tok := s.login("mpadministrator")
	lastUse := s.now
	for range 20 {
		if s.now.Sub(lastUse) >= time.Hour { // its refresh: only after an idle hour
			tok = s.login("mpadministrator")
		}
		s.use(tok)
		lastUse = s.now
		s.advance(10 * time.Minute)
	}
	r := Run(s.input())
	require.Equal(t, map[string]int{"error": 1, "warning": 1, "info": 0}, r.Summary)
	require.Equal(t, "expired-token-reused", r.Findings[0].Rule)
	require.Equal(t, "idle-rule-assumed", r.Findings[1].Rule)
	require.True(t, r.Fails(Error))
}

// Ensure the report's JSON is the shape of docs/lint.md, with [] and zeros when clean.
func TestReportJSON(t *testing.T) {
	b, err := json.Marshal(Run(&Input{}))
	require.NoError(t, err)
	require.JSONEq(t, `{"findings":[],"summary":{"error":0,"warning":0,"info":0}}`, string(b))

	s := newSim(t, "R12")
	tok := s.login("mpadministrator")
	s.use(tok[:32])
	b, err = json.Marshal(Run(s.input()))
	require.NoError(t, err)
	var got struct {
		Findings []map[string]any `json:"findings"`
	}
	require.NoError(t, json.Unmarshal(b, &got))
	require.Len(t, got.Findings, 1)
	keys := []string{}
	for k := range got.Findings[0] {
		keys = append(keys, k)
	}
	require.ElementsMatch(t, []string{"rule", "severity", "message", "count", "first", "last", "requests", "token"}, keys)
	require.Equal(t, "2024-01-01T09:00:00Z", got.Findings[0]["first"])
}

// Ensure findings come worst first and the summary counts them.
func TestRunOrdersWorstFirst(t *testing.T) {
	s := newSim(t, "R12")
	tok := s.login("mpadministrator")
	s.releaseToken(tok)                                        // info: deprecated-release-used
	loginEach(s, 10, 1, func() string { return s.login("x") }) // warning: login-per-request
	s.use(tok)                                                 // error: released-token-used
	r := Run(s.input())
	var rules []string
	for _, f := range r.Findings {
		rules = append(rules, f.Rule)
	}
	require.Equal(t, []string{"released-token-used", "login-per-request", "deprecated-release-used"}, rules)
	require.Equal(t, map[string]int{"error": 1, "warning": 1, "info": 1}, r.Summary)
	require.True(t, r.Fails(Info))
	require.Equal(t, Error, r.Worst())

	only := Run(s.input(), DeprecatedReleaseUsed)
	require.Len(t, only.Findings, 1)
	require.False(t, only.Fails(Warning))
}

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]Severity{"error": Error, "WARNING": Warning, "info": Info} {
		got, err := ParseSeverity(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := ParseSeverity("fatal")
	require.ErrorContains(t, err, `unknown severity "fatal"`)
}

// Ensure every rule is a complete value: a unique kebab-case id, a severity, a doc
// whose first line says what to do, a check.
func TestRulesAreComplete(t *testing.T) {
	require.Len(t, Rules, 15) // the rule table of docs/lint.md (TestReadmeListsRules keeps them equal)
	seen := map[string]bool{}
	id := regexp.MustCompile(`^[a-z]+(-[a-z]+)+$`)
	for _, r := range Rules {
		require.Regexp(t, id, r.ID)
		require.False(t, seen[r.ID], r.ID)
		seen[r.ID] = true
		require.Contains(t, Severities, r.Severity, r.ID)
		require.NotNil(t, r.Check, r.ID)
		first, rest, ok := strings.Cut(r.Doc, "\n")
		require.True(t, ok, "%s: doc needs a first line and an explanation", r.ID)
		require.True(t, strings.HasSuffix(first, "."), "%s: %q", r.ID, first)
		require.NotEmpty(t, strings.TrimSpace(rest))
	}
}

// Ensure every rule is silent on an empty mock.
func TestRulesSilentOnNothing(t *testing.T) {
	for _, r := range Rules {
		require.Empty(t, r.Check(&Input{}), r.ID)
	}
}

// Ensure the rule table of docs/lint.md lists every rule with its severity, in order.
func TestReadmeListsRules(t *testing.T) {
	data, err := os.ReadFile("../../docs/lint.md")
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(data), "### The lint rules")
	require.True(t, ok, "docs/lint.md has no \"### The lint rules\"")
	row := regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\| (error|warning|info) \\|")
	var got []string
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		got = append(got, m[1]+" "+m[2])
	}
	var want []string
	for _, r := range Rules {
		want = append(want, r.ID+" "+string(r.Severity))
	}
	require.Equal(t, want, got)
}

// Ensure a finding lists every id up to MaxRequests, and beyond that the first and
// the last MaxRequests/2 without a gap in either half.
func TestGroupRequests(t *testing.T) {
	for _, n := range []int{1, 20, 21, 25, 100} {
		var g group
		for i := 1; i <= n; i++ {
			g.add(uint64(i), t0)
		}
		got := g.requests()
		if n <= MaxRequests {
			require.Len(t, got, n)
			continue
		}
		want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
		for i := n - 9; i <= n; i++ {
			want = append(want, uint64(i))
		}
		require.Equal(t, want, got, "n=%d", n)
	}
}

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
