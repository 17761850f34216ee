package lint

import (
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/wire"
	"github.com/stretchr/testify/require"
)

// Ensure a retry loop that resends an expired token is caught (F6: the idle hour).
func TestExpiredTokenReusedFires(t *testing.T) {
	s := newSim(t, "R10")
	tok := s.login("mpadministrator")
	s.advance(61 * time.Minute)
	require.Equal(t, wire.CodeTokenExpired, s.use(tok)) // request 2: told
	s.advance(time.Second)
	s.use(tok) // 3
	s.advance(time.Second)
	s.use(tok) // 4

	got := s.run(ExpiredTokenReused)
	require.Len(t, got, 1)
	f := got[0]
	require.Equal(t, "error", f.Severity)
	require.Equal(t, 2, f.Count)
	require.Equal(t, []uint64{3, 4}, f.Requests)
	require.Equal(t, tok, f.Token)
	require.Equal(t, t0.Add(61*time.Minute+time.Second), f.First)
	require.Equal(t, t0.Add(61*time.Minute+2*time.Second), f.Last)
	require.Contains(t, f.Message, "(request 2)")
	require.Contains(t, f.Message, "presented it twice more")
	require.Contains(t, f.Message, "log in again")
}

// Ensure a scenario's renamed TOKEN_EXPIRED still counts, and a renamed INVALID_TOKEN
// answered as "TOKEN_EXPIRED" does not: the rule judges the catalogue code.
func TestExpiredTokenReusedJudgedOnCatalogueCode(t *testing.T) {
	s := newSim(t, "R10")
	s.override = map[string]string{wire.CodeTokenExpired: "SESSION_TIMEOUT"}
	tok := s.login("mpadministrator")
	s.advance(61 * time.Minute)
	s.use(tok)
	s.use(tok)
	require.Len(t, s.run(ExpiredTokenReused), 1)

	s = newSim(t, "R10")
	s.override = map[string]string{wire.CodeInvalidToken: "TOKEN_EXPIRED"}
	s.use("NEVERISSUEDNEVERISSUEDNEVERISSUE")
	s.use("NEVERISSUEDNEVERISSUEDNEVERISSUE")
	require.Equal(t, "TOKEN_EXPIRED", s.entries[0].Code)
	require.Empty(t, s.run(ExpiredTokenReused))
}

// Ensure a client that logs in again on TOKEN_EXPIRED is not flagged.
func TestExpiredTokenReusedNearMiss(t *testing.T) {
	s := newSim(t, "R10")
	tok := s.login("mpadministrator")
	s.advance(61 * time.Minute)
	require.Equal(t, wire.CodeTokenExpired, s.use(tok))
	tok = s.login("mpadministrator")
	require.Equal(t, wire.CodeOK, s.use(tok))
	require.Equal(t, wire.CodeOK, s.use(tok))
	require.Empty(t, s.run(ExpiredTokenReused))
}

// Ensure Requests keeps the first and last ids of a long loop while Count keeps all.
func TestExpiredTokenReusedCapsRequests(t *testing.T) {
	s := newSim(t, "R12")
	tok := s.login("mpadministrator")
	s.advance(2 * time.Hour)
	s.use(tok) // 2: told
	for range 100 {
		s.use(tok) // 3 … 102
	}
	f := s.run(ExpiredTokenReused)[0]
	require.Equal(t, 100, f.Count)
	require.Len(t, f.Requests, MaxRequests)
	require.Equal(t, []uint64{3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, f.Requests[:10])
	require.Equal(t, []uint64{93, 94, 95, 96, 97, 98, 99, 100, 101, 102}, f.Requests[10:])
}
