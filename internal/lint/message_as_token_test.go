package lint

import (
	"testing"

	"github.com/crmmock/crmmock/internal/wire"
	"github.com/stretchr/testify/require"
)

// F20: a public PHP client returns status.message as the token when its login fails,
// then calls methods with it. Ensure message-as-token names it, and the status.message
// and request it came from.
func TestF20MessageAsTokenFires(t *testing.T) {
	s := newSim(t, "R12")
	failed := s.failedLogin("mpadministrator")
	msg := failed.Message
	require.Equal(t, wire.CodeInvalidToken, s.use(msg))
	require.Equal(t, wire.CodeInvalidToken, s.use(msg))

	got := s.run(MessageAsToken)
	require.Len(t, got, 1)
	f := got[0]
	require.Equal(t, "error", f.Severity)
	require.Equal(t, 2, f.Count)
	require.Equal(t, []uint64{2, 3}, f.Requests)
	require.Contains(t, f.Message, `The client presented "Invalid username or password" as its token (twice)`)
	require.Contains(t, f.Message, "the status.message the mock answered to request 1 (INVALID_CREDENTIALS, authentication/token)")
	require.Contains(t, f.Message, "keep data.token only when status.code is OK")
}

// F20: the same habit with status.description, under a scenario's renamed code.
func TestF20MessageAsTokenDescription(t *testing.T) {
	s := newSim(t, "R10")
	s.override = map[string]string{"INVALID_CREDENTIALS": "COM.CRM.EXCEPTION.AUTH.LOGINEXCEPTION"}
	failed := s.failedLogin("mpadministrator")
	s.use(failed.Description)
	got := s.run(MessageAsToken)
	require.Len(t, got, 1)
	require.Contains(t, got[0].Message, "the status.description the mock answered to request 1 (COM.CRM.EXCEPTION.AUTH.LOGINEXCEPTION, authentication/token)")
}

// F20 near misses: a token that merely contains a word of a message; a message text the
// mock never answered; a message presented before the mock answered it; a valid token.
func TestF20MessageAsTokenNearMiss(t *testing.T) {
	s := newSim(t, "R12")
	require.Equal(t, wire.CodeInvalidToken, s.use("The token has expired")) // not answered yet
	s.failedLogin("mpadministrator")
	require.Equal(t, wire.CodeInvalidToken, s.use("Invalid"))
	require.Equal(t, wire.CodeInvalidToken, s.use("Invalid username or password!"))
	require.Equal(t, wire.CodeInvalidToken, s.use("The method is not available in this release")) // never answered
	require.Equal(t, wire.CodeOK, s.use(s.login("mpadministrator")))
	require.Empty(t, s.run(MessageAsToken))
}
