package lint

import (
	"testing"

	"github.com/crmmock/crmmock/internal/wire"
	"github.com/stretchr/testify/require"
)

// Ensure a token answered INVALID_TOKEN because the mock evicted it is named, with the
// bound that evicted it.
func TestTokenEvictedFires(t *testing.T) {
	s := newSim(t, "R12")
	tok := s.login("mpadministrator")
	s.use(tok)
	delete(s.byValue, tok) // the store evicted it
	e := s.journal(Entry{Method: "GET", Path: "/crmapi/rest/v2/contact_information/show", Operation: "contact_information/show", Token: tok,
		Description: EvictedReason + " (--max-tokens 3)"}, wire.CodeInvalidToken)
	s.journal(*e, wire.CodeInvalidToken) // presented twice

	got := s.run(TokenEvicted)
	require.Len(t, got, 1)
	f := got[0]
	require.Equal(t, "warning", f.Severity)
	require.Equal(t, 2, f.Count)
	require.Equal(t, []uint64{3, 4}, f.Requests)
	require.Equal(t, tok, f.Token)
	require.Contains(t, f.Message, "(--max-tokens 3)")
}

// Ensure a token that was never issued (INVALID_TOKEN for another reason) is not taken
// for an evicted one.
func TestTokenEvictedNearMiss(t *testing.T) {
	s := newSim(t, "R12")
	tok := s.login("mpadministrator")
	require.Equal(t, wire.CodeOK, s.use(tok))
	require.Equal(t, wire.CodeInvalidToken, s.use("4AD9C84FA60F9FE407140E20F707726A"))
	require.Empty(t, s.run(TokenEvicted))
}
