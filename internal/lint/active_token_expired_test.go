package lint

import (
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/wire"
	"github.com/stretchr/testify/require"
)

// Ensure a client that logs in again when its token dies in use gets the info (F9),
// one finding per user however often it happens.
func TestActiveTokenExpiredFires(t *testing.T) {
	s := newSim(t, "R12")
	var rejected []uint64
	tok := s.login("mpadministrator")
	for range 3 {
		useEvery(s, tok, 10*time.Minute)
		rejected = append(rejected, s.entries[len(s.entries)-1].ID)
		tok = s.login("mpadministrator")
	}
	got := s.run(ActiveTokenExpired)
	require.Len(t, got, 1)
	f := got[0]
	require.Equal(t, "info", f.Severity)
	require.Equal(t, 3, f.Count)
	require.Equal(t, rejected, f.Requests)
	require.Contains(t, f.Message, "3 tokens of user mpadministrator@CRMDEMO died in use")
	require.Contains(t, f.Message, "logged in again, which is right")
	require.Contains(t, f.Message, "from R12 (F9) every token dies 2 h after issue, used or not")
}

// Ensure one recovery reads as one token, with the token named.
func TestActiveTokenExpiredOne(t *testing.T) {
	s := newSim(t, "R12")
	tok := s.login("mpadministrator")
	useEvery(s, tok, 10*time.Minute)
	s.login("mpadministrator")
	got := s.run(ActiveTokenExpired)
	require.Len(t, got, 1)
	require.Equal(t, tok, got[0].Token)
	require.Contains(t, got[0].Message, "was in use until 2024-01-01T10:50:00Z")
}

// Ensure a new login by another user is no recovery, and an unused token dying is no
// active expiry.
func TestActiveTokenExpiredNearMiss(t *testing.T) {
	s := newSim(t, "R12")
	tok := s.login("mpadministrator")
	useEvery(s, tok, 10*time.Minute)
	s.login("someoneelse")
	require.Empty(t, s.run(ActiveTokenExpired))
	require.Len(t, s.run(IdleRuleAssumed), 1)

	s = newSim(t, "R12")
	tok = s.login("mpadministrator")
	s.advance(2 * time.Hour)
	require.Equal(t, wire.CodeTokenExpired, s.use(tok))
	s.login("mpadministrator")
	require.Empty(t, s.run(ActiveTokenExpired))
}
