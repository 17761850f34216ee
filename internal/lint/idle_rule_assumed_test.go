package lint

import (
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/wire"
	"github.com/stretchr/testify/require"
)

// useEvery uses tok every step until it is answered TOKEN_EXPIRED; it returns the
// number of accepted uses.
func useEvery(s *sim, tok string, step time.Duration) int {
	n := 0
	for s.use(tok) == wire.CodeOK {
		n++
		s.advance(step)
	}
	return n
}

// Ensure an R10-era client (refreshing only after an idle hour) on R12 is caught when
// its token dies in use and it never logs in again (F9).
func TestIdleRuleAssumedFires(t *testing.T) {
	s := newSim(t, "R12")
	tok := s.login("mpadministrator")
	require.Equal(t, 12, useEvery(s, tok, 10*time.Minute)) // rejected at 2 h, last used at 1 h 50
	rejected := s.entries[len(s.entries)-1]

	got := s.run(IdleRuleAssumed)
	require.Len(t, got, 1)
	f := got[0]
	require.Equal(t, "warning", f.Severity)
	require.Equal(t, tok, f.Token)
	require.Equal(t, []uint64{rejected.ID}, f.Requests)
	require.Equal(t, t0.Add(2*time.Hour), f.First)
	require.Contains(t, f.Message, "last used at 2024-01-01T10:50:00Z")
	require.Contains(t, f.Message, "user mpadministrator@CRMDEMO got no new token afterwards")
	require.Contains(t, f.Message, "from R12 (F9) every token dies 2 h after issue, used or not")
	require.Empty(t, s.run(ActiveTokenExpired))
}

// Ensure a Web API key token on R10 (2 h from issue, F7) is judged the same way.
func TestIdleRuleAssumedKeyTokenOnR10(t *testing.T) {
	s := newSim(t, "R10")
	tok := s.keyLogin("EE73C0AE64524371B5DDEFF5F7BB2192")
	useEvery(s, tok, 30*time.Minute)
	got := s.run(IdleRuleAssumed)
	require.Len(t, got, 1)
	require.Contains(t, got[0].Message, "key …2192")
	require.Contains(t, got[0].Message, "from R10 (F7) a Web API key token dies 2 h after issue, used or not")
}

// Ensure the near misses stay silent: the client logs in again after TOKEN_EXPIRED
// (that is active-token-expired, info); the token was idle over an hour when it died;
// an idle-rule token (R10 user token) died of idleness.
func TestIdleRuleAssumedNearMiss(t *testing.T) {
	s := newSim(t, "R12")
	tok := s.login("mpadministrator")
	useEvery(s, tok, 10*time.Minute)
	tok = s.login("mpadministrator")
	require.Equal(t, wire.CodeOK, s.use(tok))
	require.Empty(t, s.run(IdleRuleAssumed))
	require.Len(t, s.run(ActiveTokenExpired), 1)

	s = newSim(t, "R12")
	tok = s.login("mpadministrator")
	s.use(tok)
	s.advance(61 * time.Minute) // not in use for over an hour …
	s.advance(time.Hour)        // … when it dies at 2 h
	require.Equal(t, wire.CodeTokenExpired, s.use(tok))
	require.Empty(t, s.run(IdleRuleAssumed))
	require.Empty(t, s.run(ActiveTokenExpired))

	s = newSim(t, "R10")
	tok = s.login("mpadministrator")
	s.use(tok)
	s.advance(time.Hour)
	require.Equal(t, wire.CodeTokenExpired, s.use(tok))
	require.Empty(t, s.run(IdleRuleAssumed))
}
