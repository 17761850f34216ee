package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure --release takes releases at minor precision (F11): `--release R16.2` serves
// R16.2, the command line beats CRMMOCK_VERSION, and a release before R4 is refused
// naming the flag.
func TestCLIReleaseFlag(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	root, done := serveInProcess(t, ctx, "--addr", "127.0.0.1:0", "--release", "R16.2", "--log-level", "error")
	resp, err := http.Get(root + "/__admin/version")
	require.NoError(t, err)
	var v struct{ Version string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	_ = resp.Body.Close()
	assert.Equal(t, "R16.2", v.Version)
	cancel()
	assert.Equal(t, 0, <-done)

	t.Setenv("CRMMOCK_VERSION", "X9")
	code, _, errOut := cli(t, "serve", "--addr", "127.0.0.1:0", "--release", "R10")
	assert.Equal(t, 0, code, "the flag wins over a bad variable: %s", errOut)

	code, _, errOut = cli(t, "serve", "--addr", "127.0.0.1:0", "--release", "R3")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `--release: unknown release "R3"`)
}
