package lint

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Ensure live, unreleased tokens on R10/R11 are counted in one info (F8).
func TestNeverReleasedFires(t *testing.T) {
	s := newSim(t, "R11")
	s.use(s.login("mpadministrator"))
	s.use(s.login("mpadministrator"))
	s.use(s.keyLogin("EE73C0AE64524371B5DDEFF5F7BB2192"))

	got := s.run(NeverReleased)
	require.Len(t, got, 1)
	f := got[0]
	require.Equal(t, "info", f.Severity)
	require.Equal(t, 3, f.Count)
	require.Equal(t, []uint64{1, 3, 5}, f.Requests)
	require.Empty(t, f.Token)
	require.Contains(t, f.Message, "3 tokens issued on R10/R11 are still live and never released (key …2192: 1, user mpadministrator@CRMDEMO: 2)")
	require.Contains(t, f.Message, "(F8)")
}

// Ensure released tokens, expired ones and R12 tokens are not counted.
func TestNeverReleasedNearMiss(t *testing.T) {
	s := newSim(t, "R10")
	tok := s.login("mpadministrator")
	s.use(tok)
	s.releaseToken(tok)
	s.use(s.login("mpadministrator"))
	s.advance(time.Hour) // the second token died of its idle hour
	require.Empty(t, s.run(NeverReleased))

	s = newSim(t, "R12")
	s.use(s.login("mpadministrator"))
	require.Empty(t, s.run(NeverReleased))
}
