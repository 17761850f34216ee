package journal

import (
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/crmmock/crmmock/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// BenchmarkJournalAddAtBudget: a journal entry added in a flood at --journal-budget
// (each add past it trims a quarter of the journal's own oldest), against the same
// without a budget: trim is amortised O(1) per add, the ring's 10 000 entries copied
// once per 2 500 adds.
func BenchmarkJournalAddAtBudget(b *testing.B) {
	e := Entry{Public: Public{Method: "GET", Path: "/crmapi/rest/v2/contact_information/show", Operation: "contact_information/show",
		Code: "OK", Version: "R12", Token: strings.Repeat("T", 200)}}
	for _, c := range []struct {
		name   string
		budget int64
	}{{"unbounded", 0}, {"at-budget", 2000 * Cost(&e)}} {
		b.Run(c.name, func(b *testing.B) {
			j := New(DefaultSize)
			if c.budget > 0 {
				j.budget = &Budget{limit: c.budget}
			}
			for range 2 * DefaultSize {
				j.Add(e)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				j.Add(e)
			}
			b.ReportMetric(float64(j.entries.n), "entries")
		})
	}
}

// Ensure a journal kept at --journal-budget by a flood trims in place once it has
// settled: adding an entry allocates nothing on average (it allocated two new arrays
// of the journal per trim, 2.6 KB per add, all for the collector to scan), and the
// journal still lists its newest entries in order.
func TestJournalTrimAtBudgetInPlace(t *testing.T) {
	e := Entry{Public: Public{Method: "GET", Path: "/crmapi/rest/v2/contact_information/show", Code: "OK", Token: strings.Repeat("T", 200)}}
	for _, size := range []int{DefaultSize, 1500} { // 1500: a full ring, trimmed from its middle
		j := New(size)
		if size < 2000 { // the ring wraps, then the budget shrinks under it (other journals filled it)
			for range size + 700 {
				j.Add(e)
			}
			require.Equal(t, 700, j.entries.start)
			j.budget = &Budget{limit: 1000 * Cost(&e)}
			j.budget.used.Store(j.bytes)
		} else {
			j.budget = &Budget{limit: 2000 * Cost(&e)}
		}
		for range 4 * DefaultSize {
			j.Add(e)
		}
		per := testutil.AllocatedBy(4000, func() { j.Add(e) })
		require.Less(t, per, uint64(64), "size %d: bytes allocated per add at the budget", size)
		l := j.Snapshot()
		require.GreaterOrEqual(t, len(l), Floor)
		for i := 1; i < len(l); i++ {
			require.Equal(t, l[i-1].ID+1, l[i].ID, "size %d: the journal is out of order after trims", size)
		}
		require.Equal(t, j.lastID, l[len(l)-1].ID)
		var sum int64
		for i := range j.entries.n {
			sum += Cost(j.entries.at(i))
		}
		require.Equal(t, sum, j.bytes)
		require.Equal(t, j.bytes, j.budget.used.Load())
	}
}

// Ensure a journal entry's cost counts the status.message it keeps for the lint (a
// scenario's errors may answer a long one), as it counts the description.
func TestJournalEntryCostCountsMessage(t *testing.T) {
	e := Entry{Public: Public{Method: "GET"}}
	long := e
	long.Message = strings.Repeat("m", 1000)
	require.Equal(t, Cost(&e)+1000, Cost(&long))
}

// Ensure a sandbox's journal closed while requests to it are still adding entries gives
// back every byte it counted: no entry added around the close stays in the budget.
func TestJournalCloseWhileAdding(t *testing.T) {
	b := &Budget{limit: 1 << 30}
	for range 300 {
		j := New(DefaultSize)
		j.budget = b
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
						j.Add(Entry{Public: Public{Method: "GET", Path: "/crmapi/rest/v2/contact_information/show"}})
					}
				}
			}()
		}
		for j.Add(Entry{Public: Public{}}) < 50 { // the adders are running
		}
		j.Close()
		close(stop)
		wg.Wait()
		require.Equal(t, int64(0), b.used.Load(), "a closed journal's entries stayed in the budget")
	}
}

// Ensure clip counts characters, a byte that is no UTF-8 as one, returns a short
// string as it is without allocating, and copies only what it cuts.
func TestClipCharacters(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{strings.Repeat("€", 512), strings.Repeat("€", 512)},                                // 1 536 bytes, not cut
		{strings.Repeat("€", 513), strings.Repeat("€", 512)},                                // cut after character 512
		{strings.Repeat("\xff", 600), strings.Repeat("\xff", 512)},                          // not UTF-8: a byte a character
		{strings.Repeat("A", 511) + "\U0001F600Z", strings.Repeat("A", 511) + "\U0001F600"}, // 4 bytes, kept whole
	} {
		assert.Equal(t, c.want, Clip(c.in), "%d characters", utf8.RuneCountInString(c.in))
	}
	short, long := strings.Repeat("A", 512), strings.Repeat("A", 100000)
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = Clip(short) }), "at most 512 bytes: returned as it is")
	assert.Equal(t, short, Clip(long))
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { _ = Clip(long) }), "the cut is one copy")
}

// Ensure a limited selection (GET /__admin/requests?limit=1&code=OK, a client polling
// for its last request) is the newest entries that match, oldest first, and converts
// only those: a full journal of 10 000 entries is not copied out to keep one.
func TestSelectLimitConvertsOnlyTheNewest(t *testing.T) {
	j := New(100)
	for i := range 250 { // wraps the ring twice and a half
		code := "OK"
		if i%2 == 1 {
			code = "TOKEN_EXPIRED"
		}
		j.Add(Entry{Public: Public{Code: code}})
	}
	converted := 0
	conv := func(e *Entry) uint64 { converted++; return e.ID }
	assert.Equal(t, []uint64{245, 247, 249}, Select(j, Filter{Code: "OK", Limit: 3}, conv))
	assert.Equal(t, 3, converted)
	assert.Equal(t, []uint64{249, 250}, Select(j, Filter{Limit: 2}, func(e *Entry) uint64 { return e.ID }))
	assert.Equal(t, []uint64{250}, Select(j, Filter{Code: "TOKEN_EXPIRED", Limit: 1}, func(e *Entry) uint64 { return e.ID }))
	assert.Len(t, Select(j, Filter{Code: "OK", Limit: 1000}, func(e *Entry) uint64 { return e.ID }), 50)
	all := Select(j, Filter{}, func(e *Entry) uint64 { return e.ID })
	assert.Len(t, all, 100)
	assert.Equal(t, uint64(151), all[0])
}

// Ensure a presented token is journaled in memory of its own with one copy: cut (a
// 1 MiB token is kept as its first 512 characters) or whole.
func TestCutTokenCopiesOnce(t *testing.T) {
	long, short := strings.Repeat("A", 1<<20), strings.Repeat("B", 300)
	for _, c := range []struct{ in, want string }{{long, long[:TokenLimit]}, {short, short}} {
		got := CutToken(c.in)
		require.Equal(t, c.want, got)
		assert.NotSame(t, unsafe.StringData(c.in), unsafe.StringData(got), "the journal keeps its own copy")
		assert.Equal(t, 1.0, testing.AllocsPerRun(10, func() { _ = CutToken(c.in) }))
	}
}
