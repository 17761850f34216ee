package mockserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/crmmock/crmmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// editedContract loads a copy of openapi.yaml changed by edit (on the YAML as maps).
func editedContract(t *testing.T, edit func(doc map[string]any)) *Contract {
	t.Helper()
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(crmmock.OpenAPI, &doc))
	edit(doc)
	data, err := json.Marshal(doc)
	require.NoError(t, err)
	c, err := loadContract(data)
	require.NoError(t, err)
	return c
}

// at walks a decoded YAML document by keys.
func at(doc map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		doc = doc[k].(map[string]any)
	}
	return doc
}

// Ensure openapi.yaml alone decides availability (F7 as written there): a copy of the
// contract whose web_api_key/token is available from R11, whose unit parameter arrives
// in R11.1 and whose login is deprecated from R11 makes the mock answer so, with no Go
// edit; the shipped contract still serves key tokens on R10.
func TestContractDecidesAvailability(t *testing.T) {
	c := editedContract(t, func(doc map[string]any) {
		at(doc, "paths", "/authentication/web_api_key/token", "post")["x-available-from"] = "R11"
		at(doc, "paths", "/authentication/token", "post")["x-deprecated-from"] = "R11"
		at(doc, "components", "schemas", "KeyTokenRequest", "properties", "unit")["x-available-from"] = "R11.1"
	})
	key := []string{"Authorization", basic(docKey)}

	h := start(t, Options{Version: "R10", contract: c})
	r := h.post("authentication/web_api_key/token", nil, key...)
	assert.Equal(t, "METHOD_NOT_AVAILABLE", h.code(r), "%s", r.Raw)
	assert.Equal(t, http.StatusNotFound, r.HTTP)
	assert.Contains(t, *r.Status.Description, "not available in R10 (from R11)")
	r = h.post("authentication/token", creds())
	assert.Equal(t, "OK", h.code(r))
	assert.Empty(t, r.Header.Get("Deprecation"))

	_, err := h.SetVersion("R11")
	require.NoError(t, err)
	assert.Equal(t, "OK", h.code(h.post("authentication/web_api_key/token", nil, key...)))
	r = h.post("authentication/web_api_key/token", map[string]string{"unit": docUnit}, key...)
	assert.Equal(t, "INVALID_REQUEST", h.code(r))
	assert.Equal(t, `request body: field "unit" is available from R11.1, not in R11`, *r.Status.Description)
	r = h.post("authentication/token", creds())
	assert.Equal(t, "OK", h.code(r))
	assert.Equal(t, "true", r.Header.Get("Deprecation"), "deprecated from R11 by the edited contract")

	_, err = h.SetVersion("R11.1")
	require.NoError(t, err)
	assert.Equal(t, "OK", h.code(h.post("authentication/web_api_key/token", map[string]string{"unit": docUnit}, key...)))

	sb, err := h.NewSandbox(SandboxOptions{Version: "R10"})
	require.NoError(t, err)
	assert.Equal(t, NotAvailable, func() Availability {
		rel := sb.Version()
		a, _ := sb.contract().availability("webApiKeyToken", &rel)
		return a
	}(), "a sandbox serves its root's contract")

	shipped := startVersion(t, "R10")
	assert.Equal(t, "OK", h.code(shipped.post("authentication/web_api_key/token", map[string]string{"unit": docUnit}, key...)), "F7: the shipped contract")
}

// Ensure a contract whose release data cannot be read does not load, naming the place.
func TestContractReleaseDataErrors(t *testing.T) {
	for _, tc := range []struct {
		value any
		want  string
	}{
		{10, `POST /authentication/web_api_key/token: x-available-from: 10 is not a quoted release name`},
		{"R10.x", `POST /authentication/web_api_key/token: x-available-from: unknown release "R10.x"`},
	} {
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal(crmmock.OpenAPI, &doc))
		at(doc, "paths", "/authentication/web_api_key/token", "post")["x-available-from"] = tc.value
		data, err := json.Marshal(doc)
		require.NoError(t, err)
		_, err = loadContract(data)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
}

// Ensure the README's release table ("Releases") is openapi.yaml's release
// data: every operation's x-available-from / x-deprecated-from and every gated request
// field, no more, no less (F7, F8, F12, F15, F17, F18).
func TestReadmeReleaseTableIsTheContracts(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(data), "<!-- release-table -->\n")
	require.True(t, ok, "README.md has no release table")
	table, _, _ = strings.Cut(table, "\n\n")
	fact := regexp.MustCompile(` \(F[0-9]+\)`)
	var got []string
	for _, line := range strings.Split(table, "\n")[2:] {
		got = append(got, fact.ReplaceAllString(line, ""))
	}

	c, err := LoadContract()
	require.NoError(t, err)
	name := func(r *Release) string {
		if r == nil {
			return "—"
		}
		return r.Name
	}
	var want []string
	for _, path := range c.Doc.Paths.InMatchingOrder() {
		for method, op := range c.Doc.Paths.Value(path).Operations() {
			o := c.releases[op.OperationID]
			if o == nil || o.from == nil && o.deprecated == nil && len(o.params) == 0 {
				continue
			}
			m := fmt.Sprintf("`%s %s`", method, strings.TrimPrefix(path, "/"))
			want = append(want, fmt.Sprintf("| %s | %s | %s |", m, name(o.from), name(o.deprecated)))
			for _, p := range o.params {
				want = append(want, fmt.Sprintf("| %s `%s` | %s | — |", m, p.field, p.from.Name))
			}
		}
	}
	assert.ElementsMatch(t, want, got)
}
