package testutil

import (
	"testing"

	"github.com/stretchr/testify/require"
)

var sink []byte

// Ensure AllocatedBy counts what f allocates per call, not over all calls, and not its
// warm-up: 4 KiB a call reads as about 4 KiB, a call allocating nothing as near 0.
func TestAllocatedByPerCall(t *testing.T) {
	per := AllocatedBy(100, func() { sink = make([]byte, 4096) })
	require.GreaterOrEqual(t, per, uint64(4096))
	require.Less(t, per, uint64(2*4096))
	require.Less(t, AllocatedBy(100, func() { sink = sink[:0] }), uint64(64))
}
