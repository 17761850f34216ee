package contract

import (
	"testing"

	"github.com/crmmock/crmmock"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure the shipped openapi.json is exactly what openapi.yaml converts to.
func TestJSONMatchesYAML(t *testing.T) {
	want, err := Convert(crmmock.OpenAPI)
	require.NoError(t, err)
	require.Equal(t, string(want), string(JSON), "internal/contract/openapi.json is stale: run `go generate ./internal/contract`")
}

// Ensure loading the JSON gives back the same document (the conversion loses nothing).
func TestJSONRoundTrip(t *testing.T) {
	again, err := Convert(JSON)
	require.NoError(t, err)
	assert.Equal(t, string(JSON), string(again))
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(JSON)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(loader.Context))
	assert.Contains(t, doc.Paths.Map(), "/authentication/token")
}
