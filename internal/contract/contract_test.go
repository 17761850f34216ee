package contract

import (
	"encoding/json"
	"testing"

	"github.com/crmmock/crmmock"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure Doc is the document kin-openapi loads from openapi.yaml (the literal loses
// nothing), that it validates, and that its references are resolved.
func TestDocIsTheLoadedYAML(t *testing.T) {
	loader := openapi3.NewLoader()
	want, err := loader.LoadFromData(crmmock.OpenAPI)
	require.NoError(t, err)
	doc, err := Doc()
	require.NoError(t, err)
	require.NoError(t, doc.Validate(loader.Context))
	wantJSON, err := json.Marshal(want)
	require.NoError(t, err)
	gotJSON, err := json.Marshal(doc)
	require.NoError(t, err)
	assert.JSONEq(t, string(wantJSON), string(gotJSON))

	token := doc.Paths.Value("/authentication/token")
	require.NotNil(t, token, "the login path")
	body := token.Post.RequestBody
	require.NotNil(t, body.Value, "the login body reference is resolved")
	for _, s := range body.Value.Content["application/json"].Schema.Value.Properties {
		require.NotNil(t, s.Value, "every property schema is resolved")
	}
	again, err := Doc()
	require.NoError(t, err)
	assert.NotSame(t, doc, again, "each call builds its own document")
}
