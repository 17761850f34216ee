package lint

import (
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/wire"
	"github.com/stretchr/testify/require"
)

// Ensure a token presented after its release is caught (F8).
func TestReleasedTokenUsedFires(t *testing.T) {
	s := newSim(t, "R10")
	tok := s.login("mpadministrator")
	s.use(tok)
	require.Equal(t, wire.CodeOK, s.releaseToken(tok)) // request 3
	s.advance(time.Minute)
	require.Equal(t, wire.CodeTokenReleased, s.use(tok))          // 4
	require.Equal(t, wire.CodeTokenReleased, s.releaseToken(tok)) // 5: released twice

	got := s.run(ReleasedTokenUsed)
	require.Len(t, got, 1)
	f := got[0]
	require.Equal(t, "error", f.Severity)
	require.Equal(t, 2, f.Count)
	require.Equal(t, []uint64{4, 5}, f.Requests)
	require.Equal(t, tok, f.Token)
	require.Contains(t, f.Message, "released at 2024-01-01T09:00:00Z (request 3)")
	require.Contains(t, f.Message, "(F8)")
}

// Ensure a client that releases and then logs in again is not flagged.
func TestReleasedTokenUsedNearMiss(t *testing.T) {
	s := newSim(t, "R11")
	tok := s.login("mpadministrator")
	s.use(tok)
	s.releaseToken(tok)
	tok = s.login("mpadministrator")
	require.Equal(t, wire.CodeOK, s.use(tok))
	require.Empty(t, s.run(ReleasedTokenUsed))
}
