package mockserver

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// claimOrder lists the keys of a JSON object in the order its bytes carry them.
func claimOrder(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok, "%s", raw)
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

// F21: a real R12 token carries its claims in the order usr, org, oun, exp, iat, jti;
// the mock's tokens (string or numeric dates, user or key) are serialised the same way.
func TestF21JWTClaimOrder(t *testing.T) {
	want := []string{"usr", "org", "oun", "exp", "iat", "jti"}
	for _, numeric := range []bool{false, true} {
		sc := *DefaultScenario()
		sc.JWT.NumericDates = numeric
		h := start(t, Options{Version: "R12", Scenario: &sc})
		for _, tok := range []string{h.login(), h.keyLogin()} {
			raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
			require.NoError(t, err)
			assert.Equal(t, want, claimOrder(t, raw), "numeric dates %v: payload %s", numeric, raw)
		}
	}
}
