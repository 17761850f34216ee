package mockserver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure a Web API key that may not use its user's default unit gets the first unit of
// its own `units` list, every time (issue 8, item 4; F7: the key's token is its user's,
// in a unit the key may use).
func TestKeyTokenUnitIsDeterministic(t *testing.T) {
	sc, err := ParseScenario([]byte(`
organisations:
  - name: O
    units: [{id: U1}, {id: U2}, {id: U3}, {id: U4}, {id: U5}, {id: U6}]
    users: [{username: u, password: p, default_unit: U1}]
    web_api_keys:
      - {key: K, user: u, units: [U5, U3, U2, U6]}
`))
	require.NoError(t, err)
	for _, version := range []string{"R10", "R12"} {
		h := start(t, Options{Version: version, Scenario: sc})
		for range 64 {
			r := h.post("authentication/web_api_key/token", nil, "Authorization", basic("K"))
			require.Equal(t, "OK", r.Status.Code, "%s", r.Raw)
			tok, ok := h.Token(r.token(t))
			require.True(t, ok)
			assert.Equal(t, "U5", tok.Unit, "%s: the first of the key's units, as listed", version)
		}
	}
}
