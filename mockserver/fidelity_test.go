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

// F21: a fault may answer a real installation's code (any string but OK); the envelope,
// the journal and the token's timeline carry it, and the answer is the contract's error
// envelope.
func TestF21FaultAnswersAnyCode(t *testing.T) {
	const code = "COM.CRM.EXCEPTION.AUTH.INVALIDLOGINEXCEPTION"
	h := startVersion(t, "R12")
	tok := h.login()
	h.addFault(`{"operation":"authentication/token","answer":{"code":"` + code + `","message":"Invalid login"}}`)
	r := h.post("authentication/token", creds())
	assert.Equal(t, 200, r.HTTP)
	assert.Equal(t, code, r.Status.Code, "%s", r.Raw)
	assert.Equal(t, "Invalid login", *r.Status.Message)
	assert.Equal(t, "null", string(r.Data))
	j := h.Journal()
	assert.Equal(t, code, j[len(j)-1].Code)

	h.addFault(`{"operation":"contact_information/show","answer":{"code":"` + code + `"}}`)
	r = h.use(tok)
	assert.Equal(t, code, r.Status.Code, "%s", r.Raw)
	_, tl, raw := h.timelineOf(tok)
	last := tl.Events[len(tl.Events)-1]
	assert.Equal(t, "rejected", last.Event, raw)
	assert.Equal(t, code, last.Code, "the timeline names the code the client saw: %s", raw)

	st, v := h.admin("POST", "/__admin/faults", `{"operation":"*","answer":{"code":"OK"}}`)
	assert.Equal(t, 400, st, "%v", v)
}
