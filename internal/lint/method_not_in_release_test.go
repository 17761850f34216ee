package lint

import (
	"testing"

	"github.com/crmmock/crmmock/internal/wire"
	"github.com/stretchr/testify/require"
)

// Ensure a key login and a release before R10 are reported, one finding per method
// (F7, F8).
func TestMethodNotInReleaseFires(t *testing.T) {
	s := newSim(t, "pre-R10")
	require.Empty(t, s.keyLogin("EE73C0AE64524371B5DDEFF5F7BB2192")) // 1
	s.keyLogin("EE73C0AE64524371B5DDEFF5F7BB2192")                   // 2
	tok := s.login("mpadministrator")                                // 3
	require.Equal(t, wire.CodeNotAvailable, s.releaseToken(tok))     // 4

	got := s.run(MethodNotInRelease)
	require.Len(t, got, 2)
	require.Equal(t, "warning", got[0].Severity)
	require.Equal(t, []uint64{1, 2}, got[0].Requests)
	require.Contains(t, got[0].Message, "authentication/web_api_key/token was called twice on pre-R10, which lacks it (answered METHOD_NOT_AVAILABLE, HTTP 404)")
	require.Contains(t, got[0].Message, "from R10.0.0 (F7)")
	require.Equal(t, []uint64{4}, got[1].Requests)
	require.Contains(t, got[1].Message, "from R10.0.0 (F8)")
}

// Ensure the same calls on R10 are not reported.
func TestMethodNotInReleaseNearMiss(t *testing.T) {
	s := newSim(t, "R10")
	tok := s.keyLogin("EE73C0AE64524371B5DDEFF5F7BB2192")
	require.NotEmpty(t, tok)
	require.Equal(t, wire.CodeOK, s.releaseToken(tok))
	require.Empty(t, s.run(MethodNotInRelease))
}
