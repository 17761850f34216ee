// Cross-cutting suite (keeps its name): F20 clients with worker threads or a login per test, which no rule may read as a pool or a login per request.

package lint

import (
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/wire"
	"github.com/stretchr/testify/require"
)

// workers is a client with n worker threads, each keeping one token of the same user
// and logging it in again when answered TOKEN_EXPIRED (the well-behaved client, once
// per thread). Each round every busy worker makes a call; the first `busy` workers
// are busy all the time, the others pause for 61 minutes every 12 rounds (10 minutes
// apart), for `rounds` rounds.
func workers(s *sim, n, busy, rounds int) {
	toks := make([]string, n)
	for i := range toks {
		toks[i] = s.login("mpadministrator")
	}
	call := func(i int) {
		if s.use(toks[i]) == wire.CodeTokenExpired {
			toks[i] = s.login("mpadministrator")
			if code := s.use(toks[i]); code != wire.CodeOK {
				s.t.Fatalf("fresh token answered %s", code)
			}
		}
	}
	for r := range rounds {
		pause := r%12 >= 6 && r%12 < 12 // rounds 6..11 of each 12: 60 min
		for i := range toks {
			if i >= busy && pause {
				continue
			}
			call(i)
		}
		s.advance(10*time.Minute + 10*time.Second)
	}
}

// F20 false positives: a client of 2 or 3 worker threads, each keeping one token and
// logging in again only on TOKEN_EXPIRED, is well behaved on every release, also when
// one worker stays busy while the others pause past the idle hour (F6) day after day.
func TestF20WorkerThreadsAreNoPool(t *testing.T) {
	for _, rel := range []string{"pre-R10", "R10", "R12"} {
		for _, n := range []int{2, 3} {
			for _, busy := range []int{0, 1, n - 1, n} {
				s := newSim(t, rel)
				workers(s, n, busy, 12*8)
				r := Run(s.input())
				for _, f := range r.Findings {
					require.Equal(t, "info", f.Severity, "%s, %d workers, %d busy: %s: %s", rel, n, busy, f.Rule, f.Message)
				}
			}
		}
	}
}

// suite is a test suite of n tests run `parallel` at a time: each test logs in once,
// uses its token `uses` times (0: a test of the login alone), and is done; between
// batches the suite moves the mock clock by `step`.
func suite(s *sim, n, parallel, uses int, step time.Duration) {
	for i := 0; i < n; i += parallel {
		var batch []string
		for range min(parallel, n-i) {
			batch = append(batch, s.login("mpadministrator"))
		}
		for range uses {
			for _, tok := range batch {
				s.use(tok)
			}
		}
		s.advance(step)
	}
}

// F20 false positives: a suite of 50 tests, each logging in once, run one or three at
// a time, some of them tests of the login alone, with the clock moved between tests
// (an expiry test) is no pool.
func TestF20SuiteLoginPerTestIsNoPool(t *testing.T) {
	for _, rel := range []string{"pre-R10", "R10", "R12"} {
		for _, parallel := range []int{1, 3} {
			for _, uses := range []int{0, 1, 3} {
				s := newSim(t, rel)
				suite(s, 50, parallel, uses, 0)
				suite(s, 50, parallel, uses, 3*time.Hour)
				for _, f := range Run(s.input(), PooledTokensIdle).Findings {
					t.Errorf("%s, %d at a time, %d uses: %s: %s", rel, parallel, uses, f.Rule, f.Message)
				}
			}
		}
	}
}

// F20 false negative: a client that logs in before every call from three threads at
// once (each thread: log in, one call, log in again) is login-per-request, though a
// thread's call comes after the other threads' logins.
func TestF20ThreadedLoginPerRequest(t *testing.T) {
	for _, rel := range []string{"R10", "R12"} {
		s := newSim(t, rel)
		for range 20 {
			a, b, c := s.login("mpadministrator"), s.login("mpadministrator"), s.login("mpadministrator")
			s.use(a)
			s.use(b)
			s.use(c)
			s.advance(time.Second)
		}
		got := s.run(LoginPerRequest)
		require.Len(t, got, 1, rel)
		require.Empty(t, s.run(PooledTokensIdle))
	}
}
