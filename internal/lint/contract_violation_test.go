package lint

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crmmock/crmmock/internal/ops"
)

// Ensure requests the contract rejected are reported, one finding per path and reason (F2).
func TestContractViolationFires(t *testing.T) {
	s := newSim(t, "R12")
	const login = "/crmapi/rest/v2/authentication/token"
	missing := `request body has an error: doesn't match schema: property "organisation" is missing`
	s.violation("POST", login, missing)
	s.violation("POST", login, missing)
	s.violation("POST", login, "header Content-Type has an error: must be application/json")

	got := s.run(ContractViolation)
	require.Len(t, got, 2)
	require.Equal(t, "error", got[0].Severity)
	require.Equal(t, 2, got[0].Count)
	require.Equal(t, []uint64{1, 2}, got[0].Requests)
	require.Contains(t, got[0].Message, `POST /crmapi/rest/v2/authentication/token broke the contract twice: request body has an error`)
	require.Contains(t, got[0].Message, "answered INVALID_REQUEST")
	require.Equal(t, []uint64{3}, got[1].Requests)
}

// Ensure an error that is no contract violation (a wrong password) is not reported.
func TestContractViolationNearMiss(t *testing.T) {
	s := newSim(t, "R12")
	s.journal(Entry{Method: "POST", Path: "/crmapi/rest/v2/authentication/token", Operation: ops.UserToken,
		Description: `password: wrong password for user "mpadministrator"`}, "INVALID_CREDENTIALS")
	require.Empty(t, s.run(ContractViolation))
}
