package mockserver

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
