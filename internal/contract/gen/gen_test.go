package main

import (
	"os"
	"testing"

	"github.com/crmmock/crmmock"
	"github.com/stretchr/testify/require"
)

// Ensure the shipped doc_gen.go is exactly what openapi.yaml generates.
func TestGeneratedIsCurrent(t *testing.T) {
	want, err := GoSource(crmmock.OpenAPI)
	require.NoError(t, err)
	got, err := os.ReadFile("../doc_gen.go")
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "internal/contract/doc_gen.go is stale: run `go generate ./internal/contract`")
}
