package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// Ensure the shipped default_scenario_gen.go is exactly what scenarios/default.yaml
// generates.
func TestGeneratedIsCurrent(t *testing.T) {
	want, err := Source()
	require.NoError(t, err)
	got, err := os.ReadFile("../../default_scenario_gen.go")
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "mockserver/default_scenario_gen.go is stale: run `go generate ./mockserver`")
}
