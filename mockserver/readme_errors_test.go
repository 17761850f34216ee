package mockserver

import (
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeErrorRows reads the "Error codes" table of docs/web-api.md: code → {when, mapped HTTP}.
func readmeErrorRows(t *testing.T) map[string][2]string {
	t.Helper()
	raw, err := os.ReadFile("../docs/web-api.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(raw), "\n## Error codes\n")
	require.True(t, ok, "docs/web-api.md has no Error codes section")
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string][2]string{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") || strings.HasPrefix(line, "| `status.code`") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		require.Len(t, cells, 3, "row %q", line)
		rows[strings.Trim(strings.TrimSpace(cells[0]), "`")] = [2]string{cells[1], cells[2]}
	}
	return rows
}

// Ensure every row of the error-code table of docs/web-api.md is true of the server: for each
// reason a row gives, a request for that reason gets the row's code and, under
// --error-status mapped, its HTTP status; every catalogue code has its row. A missing
// token is INVALID_REQUEST (the contract requires it, F5), not INVALID_TOKEN.
func TestReadmeErrorTableIsTrue(t *testing.T) {
	rows := readmeErrorRows(t)
	var codes []string
	for _, c := range Codes() {
		codes = append(codes, string(c))
	}
	var documented []string
	for c := range rows {
		documented = append(documented, c)
	}
	assert.ElementsMatch(t, codes, documented, "the table of docs/web-api.md lists the catalogue's codes")

	sc := *DefaultScenario()
	sc.Organisations = append(slices.Clone(sc.Organisations), Organisation{Name: "ACME",
		Units: []Unit{{ID: "ACME1", Name: "Acme"}}, Users: []User{{Username: "acmeuser", Password: "9", DefaultUnit: "ACME1"}}})
	h := start(t, Options{Version: "R10", MappedErrors: true, BodyLimit: 1 << 10, Scenario: &sc})
	tok := h.login()
	released := h.login()
	require.Equal(t, "OK", h.post("authentication/token/release", map[string]string{"token": released}).Status.Code)
	useWith := func(tok string) func() reply { return func() reply { return h.use(tok) } }
	cases := []struct {
		code, phrase string // the row, and the reason it must give
		http         int    // under --error-status mapped
		send         func() reply
	}{
		{"INVALID_REQUEST", "missing mandatory field", 400, func() reply {
			return h.post("authentication/token", map[string]string{"username": docUser, "organisation": docOrg})
		}},
		{"INVALID_REQUEST", "a missing `token`", 400, func() reply { return h.get("contact_information/show", nil) }},
		{"INVALID_REQUEST", "a missing `token`", 400, func() reply { return h.post("contact_information/show", map[string]any{}) }},
		{"INVALID_REQUEST", "a missing `token`", 400, func() reply { return h.post("authentication/token/release", map[string]any{}) }},
		{"INVALID_REQUEST", "wrong type", 400, func() reply { return h.post("authentication/token", creds("unit", "x", "username", "")) }},
		{"INVALID_REQUEST", "bad JSON", 400, func() reply { return h.post("authentication/token", `{"username":`) }},
		{"INVALID_REQUEST", "`Content-Type`", 415, func() reply {
			return h.post("authentication/token", creds(), "Content-Type", "text/plain")
		}},
		{"INVALID_REQUEST", "unknown path (always 404)", 404, func() reply { return h.get("nothing", url.Values{"token": {tok}}) }},
		{"INVALID_REQUEST", "method (always 405, with `Allow`)", 405, func() reply {
			req, err := http.NewRequest(http.MethodDelete, h.APIURL("authentication/token"), nil)
			require.NoError(t, err)
			r := h.do(req)
			assert.Equal(t, "POST", r.Header.Get("Allow"))
			return r
		}},
		{"INVALID_CREDENTIALS", "unknown user", 401, func() reply { return h.post("authentication/token", creds("username", "nobody")) }},
		{"INVALID_CREDENTIALS", "wrong password", 401, func() reply { return h.post("authentication/token", creds("password", "0000")) }},
		{"INVALID_CREDENTIALS", "user not in that organisation", 401, func() reply {
			return h.post("authentication/token", map[string]any{"username": "branchuser", "password": "5678", "organisation": "ACME"})
		}},
		{"INVALID_ORGANISATION", "unknown organisation", 401, func() reply { return h.post("authentication/token", creds("organisation", "NOPE")) }},
		{"INVALID_UNIT", "unknown unit", 403, func() reply { return h.post("authentication/token", creds("unit", "NOPE")) }},
		{"INVALID_UNIT", "may not use", 403, func() reply {
			return h.post("authentication/token", map[string]any{"username": "branchuser", "password": "5678", "organisation": docOrg, "unit": docUnit})
		}},
		{"INVALID_WEB_API_KEY", "missing", 401, func() reply { return h.post("authentication/web_api_key/token", nil) }},
		{"INVALID_WEB_API_KEY", "malformed", 401, func() reply {
			return h.post("authentication/web_api_key/token", nil, "Authorization", "Basic !!")
		}},
		{"INVALID_WEB_API_KEY", "unknown Basic key", 401, func() reply {
			return h.post("authentication/web_api_key/token", nil, "Authorization", basic("0000"))
		}},
		{"INVALID_WEB_API_KEY", "non-empty Basic password", 401, func() reply {
			return h.post("authentication/web_api_key/token", nil, "Authorization", basic(docKey+":x"))
		}},
		{"INVALID_TOKEN", "unknown", 401, useWith("00000000000000000000000000000000")},
		{"INVALID_TOKEN", "malformed", 401, useWith("not-a-token")},
		{"INVALID_TOKEN", "forged", 401, useWith("eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.e30.c2ln")},
		{"TOKEN_EXPIRED", "idle", 401, func() reply {
			idle := h.login()
			h.advance(time.Hour)
			return h.use(idle)
		}},
		{"TOKEN_RELEASED", "released", 401, useWith(released)},
		{"METHOD_NOT_AVAILABLE", "does not exist in the emulated release", 404, func() reply {
			_, err := h.SetVersion("R9")
			require.NoError(t, err)
			defer func() { _, _ = h.SetVersion("R10") }()
			return h.post("authentication/web_api_key/token", nil, "Authorization", basic(docKey))
		}},
		{"REQUEST_TOO_LARGE", "over `--body-limit`", 413, func() reply {
			return h.post("authentication/token", creds("unit", strings.Repeat("x", 2<<10)))
		}},
		{"INTERNAL_ERROR", "an injected fault", 500, func() reply {
			_, err := h.AddFault(FaultSpec{Operation: "contact_information/show"})
			require.NoError(t, err)
			return h.use(tok)
		}},
	}
	checked := map[string]bool{}
	for _, c := range cases {
		row, ok := rows[c.code]
		if !assert.True(t, ok, "docs/web-api.md has no row for %s", c.code) {
			continue
		}
		checked[c.code] = true
		assert.Contains(t, row[0], c.phrase, "docs/web-api.md row %s", c.code)
		assert.Contains(t, row[1], strconv.Itoa(c.http), "docs/web-api.md row %s: mapped HTTP", c.code)
		r := c.send()
		assert.Equal(t, c.code, r.Status.Code, "%s (%s): %s", c.code, c.phrase, r.Raw)
		assert.Equal(t, c.http, r.HTTP, "%s (%s): %s", c.code, c.phrase, r.Raw)
	}
	for _, c := range codes {
		assert.True(t, checked[c], "no request checks the row %s of docs/web-api.md", c)
	}
	// The token rows name no reason that is answered otherwise.
	assert.False(t, slices.ContainsFunc(strings.Split(rows["INVALID_TOKEN"][0], ","), func(s string) bool {
		return strings.HasPrefix(strings.TrimSpace(s), "missing")
	}), "INVALID_TOKEN row %q lists a missing token, which is INVALID_REQUEST", rows["INVALID_TOKEN"][0])
}
