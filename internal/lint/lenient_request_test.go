package lint

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crmmock/crmmock/internal/ops"
	"github.com/crmmock/crmmock/internal/wire"
)

// F20: requests accepted only for leniency are mentioned (info), one finding per kind,
// each request counted once per kind, with the details the client sent.
func TestLenientRequestFires(t *testing.T) {
	s := newSim(t, "R10")
	s.journal(Entry{Method: "POST", Path: "/crmapi/rest/v2/authentication/token", Operation: ops.UserToken,
		Lenient: []string{LenientMediaTypeCase + ": Application/JSON", LenientNullField + ": unit"}}, wire.CodeOK)
	s.journal(Entry{Method: "POST", Path: "/crmapi/rest/v2/authentication/web_api_key/token", Operation: ops.KeyToken,
		Lenient: []string{LenientMediaTypeCase + ": APPLICATION/JSON", LenientNullField + ": unit", LenientBasicNoColon}}, wire.CodeOK)
	s.journal(Entry{Method: "POST", Path: "/crmapi/rest/v2/customer_events/purchases/create", Operation: "customer_events/purchases/create"}, wire.CodeOK)

	got := s.run(LenientRequest)
	require.Len(t, got, 3)
	for _, f := range got {
		require.Equal(t, "info", f.Severity)
	}
	require.Equal(t, []uint64{1, 2}, got[0].Requests)
	require.Equal(t, "2 requests sent the JSON media type not in lower case (APPLICATION/JSON, Application/JSON). "+
		"The mock compared it case-insensitively, as production does (F20), but servers that compare it byte for byte exist: send Content-Type: application/json.",
		got[0].Message)
	require.Equal(t, 2, got[1].Count)
	require.Contains(t, got[1].Message, "2 requests sent JSON null for an optional field (unit).")
	require.Equal(t, []uint64{2}, got[2].Requests)
	require.Contains(t, got[2].Message, "1 request sent HTTP Basic credentials of the key alone, without the ':'.")
}

// Ensure a client whose requests needed no leniency (a charset parameter, a lowercase
// scheme are plain HTTP, so the mock journals none) gets no finding, and a violation
// is contract-violation's, not this rule's.
func TestLenientRequestNearMiss(t *testing.T) {
	s := newSim(t, "R10")
	s.use(s.login("mpadministrator"))
	s.violation("POST", "/crmapi/rest/v2/authentication/token", `field "unit": Value is not nullable`)
	require.Empty(t, s.run(LenientRequest))
}
