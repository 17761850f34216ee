package lint

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Ensure a token sent in a header instead of the query is caught, one finding per
// place (F5: no header is used).
func TestTokenMisplacedFires(t *testing.T) {
	s := newSim(t, "R12")
	s.login("mpadministrator")
	s.misplaced("Authorization header") // 2
	s.misplaced("Authorization header") // 3
	s.misplaced("header X-Token")       // 4

	got := s.run(TokenMisplaced)
	require.Empty(t, s.run(ContractViolation), "token-misplaced explains these violations")
	require.Len(t, got, 2)
	require.Equal(t, "error", got[0].Severity)
	require.Equal(t, []uint64{2, 3}, got[0].Requests)
	require.Contains(t, got[0].Message, "GET contact_information/show was called twice with the token in the Authorization header instead of the query parameter token")
	require.Contains(t, got[0].Message, "(F5)")
	require.Equal(t, []uint64{4}, got[1].Requests)
	require.Contains(t, got[1].Message, "header X-Token")
}

// Ensure a token in its place, and a call without any token, are not misplaced.
func TestTokenMisplacedNearMiss(t *testing.T) {
	s := newSim(t, "R12")
	tok := s.login("mpadministrator")
	s.use(tok)
	s.use("")
	require.Empty(t, s.run(TokenMisplaced))
}
