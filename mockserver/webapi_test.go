package mockserver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/crmmock/crmmock/internal/ops"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure the operations table and the contract name the same operations, each row's
// kind has a handler, and a fixed operation's name is its path in the contract: adding
// a method is adding a row, and a row the contract lacks (or the reverse) fails here.
func TestOperationsTableMatchesContract(t *testing.T) {
	c, err := loadProcessContract()
	require.NoError(t, err)
	inContract := map[string]string{} // operationId → path
	for _, path := range c.doc.Paths.InMatchingOrder() {
		for _, op := range c.doc.Paths.Value(path).Operations() {
			inContract[op.OperationID] = path
		}
	}
	require.Len(t, ops.Table, len(inContract), "one row per contract operation")
	for _, o := range ops.Table {
		path, ok := inContract[o.ID]
		require.True(t, ok, "row %s: no such operationId in openapi.yaml", o.ID)
		require.NotNil(t, handlerOf(o), "row %s: kind %d has no handler", o.ID, o.Kind)
		if o.Fixed() {
			require.Equal(t, "/"+o.Name, path, "row %s", o.ID)
		} else {
			require.True(t, strings.HasPrefix(path, "/{"), "row %s: a method without a name is the template path, got %s", o.ID, path)
		}
	}
}

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

// Ensure a query of more than 10 000 parameters (net/url parses none of them then) is
// answered "too many query parameters" and journaled as a violation, instead of a
// present token being reported missing (issue 8, item 6); 10 000 still work.
func TestTooManyQueryParameters(t *testing.T) {
	h := startVersion(t, "R10")
	tok := h.login()
	get := func(junk int) reply {
		q := "token=" + tok + strings.Repeat("&x=1", junk)
		req, err := http.NewRequest(http.MethodGet, h.APIURL("contact_information/show")+"?"+q, nil)
		require.NoError(t, err)
		return h.do(req)
	}
	r := get(maxQueryParams - 1)
	assert.Equal(t, "OK", r.Status.Code, "%s", r.Raw)

	r = get(maxQueryParams)
	assert.Equal(t, "INVALID_REQUEST", r.Status.Code)
	require.NotNil(t, r.Status.Description)
	assert.Contains(t, *r.Status.Description, "too many query parameters")
	v := h.Violations()
	require.NotEmpty(t, v)
	assert.Contains(t, v[len(v)-1].Violations[0], "too many query parameters")
}
