package journal

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"unsafe"

	"github.com/crmmock/crmmock/internal/testutil"
	"github.com/stretchr/testify/require"
)

// Ensure the ring of blocks holds what a plain list of the newest entries holds,
// through random adds, trims and clears, for sizes below, at and across block
// boundaries: the same entries in the same order, the same costs overwritten and freed.
func TestRingMatchesAList(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for _, size := range []int{1, 2, 7, blockSize - 1, blockSize, blockSize + 1, 1000, 1500} {
		r := ring{size: size}
		var list []Entry
		id := uint64(0)
		for step := range 20 * size {
			switch k := rng.IntN(100); {
			case k < 2 && len(list) > 0: // trim
				keep := rng.IntN(len(list))
				var want int64
				for _, e := range list[:len(list)-keep] {
					want += Cost(&e)
				}
				require.Equal(t, want, r.keepNewest(keep), "size %d step %d: freed", size, step)
				list = list[len(list)-keep:]
			case k < 3: // clear, as the journal does
				r, list = ring{size: size}, nil
			default:
				id++
				e := Entry{Public: Public{ID: id, Path: strconv.Itoa(rng.IntN(1 << 20))}}
				var want int64
				if len(list) == size {
					want = Cost(&list[0])
					list = list[1:]
				}
				require.Equal(t, want, r.push(&e), "size %d step %d: overwritten", size, step)
				list = append(list, e)
			}
			require.Equal(t, len(list), r.n)
			for i := range list {
				require.Equal(t, list[i].ID, r.at(i).ID, "size %d step %d: entry %d", size, step, i)
			}
		}
	}
}

// Ensure a fresh journal grows a block at a time: one add holds one block, 10 000 adds
// allocate the 10 000 entries once (a slice grown by append allocated about five times
// that and copied each entry at every step), and a deep trim gives the blocks back.
func TestRingGrowsByBlocksAndGivesBack(t *testing.T) {
	e := Entry{Public: Public{Method: "GET", Path: "/crmapi/rest/v2/contact_information/show", Code: "OK"}}
	small := New(DefaultSize) // a sandbox of one request holds one block, not the ring
	small.Add(e)
	require.Equal(t, 1, small.entries.blocksHeld())
	require.Len(t, small.entries.blocks[0], blockSize)

	var j *Journal
	allocated := testutil.AllocatedBy(1, func() {
		j = New(DefaultSize)
		for range DefaultSize {
			j.Add(e)
		}
	})
	entries := uint64(DefaultSize) * uint64(unsafe.Sizeof(e))
	require.Less(t, allocated, entries+entries/10, "bytes allocated to hold %d entries", DefaultSize)
	require.Equal(t, (DefaultSize+blockSize-1)/blockSize, j.entries.blocksHeld())
	require.Equal(t, 0, j.entries.start)

	j.Add(e) // wrapped: the oldest is overwritten
	require.Equal(t, 1, j.entries.start)
	j.trim(Floor)
	want := Floor + Floor/4 + 1
	require.Equal(t, (2*want+blockSize-1)/blockSize, j.entries.blocksHeld(), "a deep trim keeps the blocks twice the kept entries need")
	l := j.Snapshot()
	require.Len(t, l, Floor)
	require.Equal(t, uint64(DefaultSize+1), l[Floor-1].ID)
	require.Equal(t, uint64(DefaultSize+2-Floor), l[0].ID)
}
