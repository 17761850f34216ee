package lint

import (
	"strings"
	"testing"

	"github.com/crmmock/crmmock/internal/wire"
	"github.com/stretchr/testify/require"
)

// Ensure a client that stores an R12 JWT in a 32-character column is caught (F9).
func TestTruncatedTokenFires(t *testing.T) {
	s := newSim(t, "R12")
	tok := s.login("mpadministrator")
	require.Equal(t, wire.CodeInvalidToken, s.use(tok[:32]))
	require.Equal(t, wire.CodeInvalidToken, s.use(tok[:32]))

	got := s.run(TruncatedToken)
	require.Len(t, got, 1)
	f := got[0]
	require.Equal(t, "truncated-token", f.Rule)
	require.Equal(t, "error", f.Severity)
	require.Equal(t, 2, f.Count)
	require.Equal(t, []uint64{2, 3}, f.Requests)
	require.Equal(t, tok, f.Token)
	require.Contains(t, f.Message, "first 32 characters of a")
	require.Contains(t, f.Message, "From R12 (F9) tokens are JWTs")
}

// Ensure an opaque token cut to 20 characters is caught too, citing F6.
func TestTruncatedTokenOpaque(t *testing.T) {
	s := newSim(t, "R10")
	tok := s.login("mpadministrator")
	s.use(tok[:20])
	got := s.run(TruncatedToken)
	require.Len(t, got, 1)
	require.Contains(t, got[0].Message, "32 uppercase hex characters (F6)")
}

// Ensure the judgement is on the catalogue code, not the scenario's renamed one.
func TestTruncatedTokenJudgedOnCatalogueCode(t *testing.T) {
	s := newSim(t, "R12")
	s.override = map[string]string{wire.CodeInvalidToken: "BAD_SESSION"}
	tok := s.login("mpadministrator")
	s.use(tok[:40])
	got := s.run(TruncatedToken)
	require.Len(t, got, 1)
	require.Contains(t, got[0].Message, "answered BAD_SESSION")
}

// Ensure strings that are no proper prefix of an issued token are not truncated-token:
// a 31-character string no token starts with, a 15-character prefix, the whole token.
func TestTruncatedTokenNearMiss(t *testing.T) {
	s := newSim(t, "R12")
	tok := s.login("mpadministrator")
	other := strings.Repeat("A", 31)
	require.False(t, strings.HasPrefix(tok, other))
	require.Equal(t, wire.CodeInvalidToken, s.use(other))
	require.Equal(t, wire.CodeInvalidToken, s.use(tok[:MinTruncated-1]))
	require.Equal(t, wire.CodeOK, s.use(tok))
	require.Empty(t, s.run(TruncatedToken))
}

// Ensure PrefixIndex finds the token a prefix starts, and nothing for others.
func TestPrefixIndex(t *testing.T) {
	idx := PrefixIndex([]Token{{Value: "BBBB2222"}, {Value: "AAAA1111"}, {Value: "CCCC3333"}})
	v, ok := idx("BBBB")
	require.True(t, ok)
	require.Equal(t, "BBBB2222", v)
	_, ok = idx("BBBC")
	require.False(t, ok)
	_, ok = idx("D")
	require.False(t, ok)
}
