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

var held []byte

// Ensure LiveHeap counts what is kept, not what was only allocated: 1 MiB held shows
// (give or take the little else the runtime frees or keeps meanwhile), 1 MiB dropped
// no longer does.
func TestLiveHeapCountsWhatIsKept(t *testing.T) {
	before := LiveHeap()
	held = make([]byte, 1<<20)
	require.Greater(t, int64(LiveHeap())-int64(before), int64(1<<19))
	kept := LiveHeap()
	held = nil
	require.Less(t, int64(LiveHeap())-int64(kept), -int64(1<<19))
}
