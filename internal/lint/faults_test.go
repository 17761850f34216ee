// Cross-cutting suite (keeps its name): answers given by injected faults, which no rule takes for the release's (a token resent after one is still a retry loop).

package lint

import (
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/wire"
	"github.com/stretchr/testify/require"
)

// Ensure answers given by injected faults are not taken for the release's rules: a
// fault's TOKEN_EXPIRED is no absolute limit, its TOKEN_RELEASED no release, its
// METHOD_NOT_AVAILABLE no missing method; but a token resent after a fault's
// TOKEN_EXPIRED is still a retry loop.
func TestFaultAnswersAreNotRules(t *testing.T) {
	s := newSim(t, "R12")
	tok := s.login("mpadministrator")
	s.use(tok)
	s.advance(time.Minute)
	s.faulted(tok, wire.CodeTokenExpired)
	s.faulted(tok, wire.CodeTokenReleased)
	s.faulted(tok, wire.CodeNotAvailable)
	r := Run(s.input())
	for _, f := range r.Findings {
		require.Equal(t, "expired-token-reused", f.Rule, f.Message)
	}
	require.Len(t, r.Findings, 1)
}
