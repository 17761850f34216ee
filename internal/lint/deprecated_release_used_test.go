package lint

import (
	"testing"

	"github.com/crmmock/crmmock/internal/wire"
	"github.com/stretchr/testify/require"
)

// Ensure release on R12 is reported once, counted (F8: deprecated from R12.0.0).
func TestDeprecatedReleaseUsedFires(t *testing.T) {
	s := newSim(t, "R12")
	a, b := s.login("mpadministrator"), s.login("mpadministrator")
	require.Equal(t, wire.CodeOK, s.releaseToken(a))
	require.Equal(t, wire.CodeOK, s.releaseToken(b))

	got := s.run(DeprecatedReleaseUsed)
	require.Len(t, got, 1)
	require.Equal(t, "info", got[0].Severity)
	require.Equal(t, []uint64{3, 4}, got[0].Requests)
	require.Contains(t, got[0].Message, "authentication/token/release was called twice on R12: it is deprecated from R12.0.0 (F8)")
}

// Ensure release on R10, where it is the right thing, is not reported.
func TestDeprecatedReleaseUsedNearMiss(t *testing.T) {
	s := newSim(t, "R10")
	s.releaseToken(s.login("mpadministrator"))
	require.Empty(t, s.run(DeprecatedReleaseUsed))
}
