package lint

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// loginEach logs in n times, using each token uses times.
func loginEach(s *sim, n, uses int, login func() string) {
	for range n {
		tok := login()
		for range uses {
			s.use(tok)
		}
		s.advance(time.Second)
	}
}

// Ensure ten logins in a row, each token used once while the last still lived, are caught.
func TestLoginPerRequestFires(t *testing.T) {
	s := newSim(t, "R12")
	loginEach(s, 10, 1, func() string { return s.login("mpadministrator") })

	got := s.run(LoginPerRequest)
	require.Len(t, got, 1)
	f := got[0]
	require.Equal(t, "warning", f.Severity)
	require.Equal(t, 10, f.Count)
	require.Equal(t, []uint64{1, 3, 5, 7, 9, 11, 13, 15, 17, 19}, f.Requests) // the logins
	require.Equal(t, t0, f.First)
	require.Equal(t, t0.Add(9*time.Second), f.Last)
	require.Contains(t, f.Message, "user mpadministrator@CRMDEMO logged in 10 times in a row within 9s of mock time")
	require.Contains(t, f.Message, "2 h from issue, F9")
	require.Contains(t, f.Message, "reuse it")
}

// Ensure unused tokens and Web API keys count too (F7 on R10).
func TestLoginPerRequestKeys(t *testing.T) {
	s := newSim(t, "R10")
	loginEach(s, 12, 0, func() string { return s.keyLogin("EE73C0AE64524371B5DDEFF5F7BB2192") })
	got := s.run(LoginPerRequest)
	require.Len(t, got, 1)
	require.Equal(t, 12, got[0].Count)
	require.Contains(t, got[0].Message, "key …2192 logged in 12 times")
	require.Contains(t, got[0].Message, "at most once (none of them at all)")
}

// Ensure the near misses stay silent: 9 logins; tokens used twice; a login only after
// the previous token died; a login after releasing the previous token; a run broken by
// a reused token.
func TestLoginPerRequestNearMiss(t *testing.T) {
	s := newSim(t, "R12")
	loginEach(s, 9, 1, func() string { return s.login("mpadministrator") })
	require.Empty(t, s.run(LoginPerRequest), "9 logins")

	s = newSim(t, "R12")
	loginEach(s, 20, 2, func() string { return s.login("mpadministrator") })
	require.Empty(t, s.run(LoginPerRequest), "tokens used twice")

	s = newSim(t, "R10")
	for range 12 {
		s.use(s.login("mpadministrator"))
		s.advance(time.Hour) // the idle hour has passed at the next login
	}
	require.Empty(t, s.run(LoginPerRequest), "each login after the previous token died")

	s = newSim(t, "R10")
	for range 12 {
		tok := s.login("mpadministrator")
		s.use(tok)
		s.releaseToken(tok)
	}
	require.Empty(t, s.run(LoginPerRequest), "each token released before the next login")

	s = newSim(t, "R12")
	loginEach(s, 6, 1, func() string { return s.login("mpadministrator") })
	loginEach(s, 1, 3, func() string { return s.login("mpadministrator") })
	loginEach(s, 6, 1, func() string { return s.login("mpadministrator") })
	require.Empty(t, s.run(LoginPerRequest), "a run broken by a token reused")

	s = newSim(t, "R12")
	for i := range 10 { // ten users, one login each
		s.use(s.login(string(rune('a' + i))))
	}
	require.Empty(t, s.run(LoginPerRequest), "ten users")
}
