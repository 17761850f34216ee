package lint

import (
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/wire"
	"github.com/stretchr/testify/require"
)

// javaPool is CRM.COM's own Java sample (F20): it logs in 64 tokens at once, uses them
// round-robin, one call every `every`, logs all 64 in again every 7 000 s, and logs a
// slot in again when its token is answered TOKEN_EXPIRED (then retries the call). It
// runs for d of mock time.
func javaPool(s *sim, every, d time.Duration) {
	pool := make([]string, 64)
	relog := func() {
		for i := range pool {
			pool[i] = s.login("mpadministrator")
		}
	}
	relog()
	last, next := s.now, 0
	for end := s.now.Add(d); s.now.Before(end); s.advance(every) {
		if s.now.Sub(last) >= 7000*time.Second {
			relog()
			last = s.now
		}
		i := next % len(pool)
		next++
		if s.use(pool[i]) == wire.CodeTokenExpired {
			pool[i] = s.login("mpadministrator")
			if code := s.use(pool[i]); code != wire.CodeOK {
				s.t.Fatalf("a fresh pool token answered %s", code)
			}
		}
	}
}

// rulesFired is the report's rule ids with their severities, in report order.
func rulesFired(r Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Severity+" "+f.Rule)
	}
	return out
}

// F20: the Java sample's pool, a call every 70 s (100 per 7 000 s refresh, so every
// token is used each round), for 8 h. On R10 a token is used every 64×70 s = 75 min:
// each dies idle after its hour (F6) while the client uses the others, and the lint
// says so, naming the refresh period and the rule; never login-per-request. On R12
// every token is used before the refresh and dies 2 h after issue (F9), replaced 200 s
// before: nothing to warn of.
func TestF20JavaSamplePool(t *testing.T) {
	s := newSim(t, "R10")
	javaPool(s, 70*time.Second, 8*time.Hour)
	r := Run(s.input())
	require.Equal(t, []string{"warning pooled-tokens-idle", "info never-released"}, rulesFired(r))
	f := r.Findings[0]
	require.GreaterOrEqual(t, f.Count, PoolIdle)
	require.Contains(t, f.Message, "user mpadministrator@CRMDEMO keeps a pool of tokens (up to 64 logged in at once, refreshed every 1h56m40s (7000 s, as observed))")
	require.Contains(t, f.Message, "died idle (1 h without use) while the client used others")
	require.Contains(t, f.Message, "Before R12 (F6) a user token dies after 1 h without use")
	require.Empty(t, s.run(LoginPerRequest))

	s = newSim(t, "R12")
	javaPool(s, 70*time.Second, 8*time.Hour)
	noErrorsOrWarnings(t, Run(s.input()))
	require.Empty(t, s.run(PooledTokensIdle))
	require.Empty(t, s.run(LoginPerRequest))
}

// F20: the same pool with little traffic, a call every 175 s (40 per refresh): 24
// tokens of each round of 64 are never used. On R12 they expire unused 2 h after issue
// (F9); on R10 after their hour (F6).
func TestF20JavaSamplePoolQuiet(t *testing.T) {
	s := newSim(t, "R12")
	javaPool(s, 175*time.Second, 8*time.Hour)
	got := s.run(PooledTokensIdle)
	require.Len(t, got, 1)
	require.Contains(t, got[0].Message, "of its tokens expired never used while the client used others")
	require.Contains(t, got[0].Message, "from R12 (F9) every token dies 2 h after issue, used or not")
	require.Contains(t, got[0].Message, "refreshed every 1h56m40s (7000 s, as observed)")
	require.Empty(t, s.run(LoginPerRequest))

	s = newSim(t, "R10")
	javaPool(s, 175*time.Second, 8*time.Hour)
	got = s.run(PooledTokensIdle)
	require.Len(t, got, 1)
	require.Contains(t, got[0].Message, "of its tokens expired never used while the client used others")
	require.Contains(t, got[0].Message, "Before R12 (F6) a user token dies after 1 h without use")
	require.Empty(t, s.run(LoginPerRequest))
}

// F20 near misses: a pool used within the hour on R10 (a call every 50 s: each token
// every 53 min) loses no token; nine dead pool tokens are not yet a finding; a client
// with one token at a time is no pool, however its tokens die.
func TestF20PooledTokensIdleNearMiss(t *testing.T) {
	s := newSim(t, "R10")
	javaPool(s, 50*time.Second, 8*time.Hour)
	require.Empty(t, s.run(PooledTokensIdle), "busy enough for the idle hour")
	noErrorsOrWarnings(t, Run(s.input()))

	for n, want := range map[int]int{12: 0, 13: 1} { // a pool of n: 3 in use, the others die idle
		s = newSim(t, "R10")
		idlePool(s, n, 3)
		require.Len(t, s.run(PooledTokensIdle), want, "%d dead tokens", n-3)
	}

	s = newSim(t, "R10") // one token at a time, each left to die idle before the next login
	for range 15 {
		s.use(s.login("mpadministrator"))
		s.advance(61 * time.Minute)
	}
	require.Empty(t, s.run(PooledTokensIdle), "no pool")
}

// idlePool logs in n tokens at once and uses each, keeps the first `kept` in use every
// 10 minutes for 70 minutes, then comes back to the others (TOKEN_EXPIRED, F6).
func idlePool(s *sim, n, kept int) {
	pool := make([]string, n)
	for i := range pool {
		pool[i] = s.login("mpadministrator")
	}
	for _, tok := range pool {
		s.use(tok)
	}
	for range 7 {
		s.advance(10 * time.Minute)
		for _, tok := range pool[:kept] {
			s.use(tok)
		}
	}
	for _, tok := range pool[kept:] {
		if code := s.use(tok); code != wire.CodeTokenExpired {
			s.t.Fatalf("an idle pool token answered %s", code)
		}
	}
}
