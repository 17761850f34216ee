package mockserver

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// allocatedBy is how many bytes f allocates, over n calls, per call.
func allocatedBy(n int, f func()) uint64 {
	f() // warm up
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	for range n {
		f()
	}
	runtime.ReadMemStats(&b)
	return (b.TotalAlloc - a.TotalAlloc) / uint64(n)
}

// Ensure a 1 MiB garbage token (no JWT shape, not 32 characters: never an issued
// token) costs no copy of itself when the mock looks for it among evicted tokens,
// before or after an eviction happened: it is answered INVALID_TOKEN as before the
// token bound existed.
func TestEvictedLookupOfHugeGarbageToken(t *testing.T) {
	m, err := New(Options{Version: "R10", MaxTokens: 1, Start: t0})
	require.NoError(t, err)
	garbage := strings.Repeat("A", 1<<20)
	check := func() {
		if a := m.checkToken(garbage, presentUse); a.err == nil || a.err.Code != CodeInvalidToken {
			t.Fatalf("answered %v", a.err)
		}
	}
	require.Less(t, allocatedBy(20, check), uint64(64<<10), "a 1 MiB garbage token was copied")
	issueN(t, m, 3) // two evicted: the evicted set is in use
	require.Equal(t, uint64(2), m.TokensFiltered(TokenFilter{}).Evicted)
	require.Less(t, allocatedBy(20, check), uint64(64<<10), "a 1 MiB garbage token was copied")
}

// BenchmarkEvictAllUsed: an issue (and a use of the new token) into a full store of
// 100 000 tokens, every one of them used since the eviction hand last passed, and each
// new one used at once: a login flood whose every token is used. The hand clears the
// marks in one pass and then evicts as it goes, so an issue costs about what it costs
// below the bound (compare BenchmarkEvictAllUsed/below), never a walk of the store.
func BenchmarkEvictAllUsed(b *testing.B) {
	const held = 100_000
	for _, c := range []struct {
		name string
		max  int
	}{{"below", -1}, {"full", held}} {
		b.Run(c.name, func(b *testing.B) {
			m, err := New(Options{Version: "R10", MaxTokens: c.max, TokenBudget: -1, JWTSecret: []byte(fixedSecret), Start: t0})
			if err != nil {
				b.Fatal(err)
			}
			snap := m.snap.Load()
			wd, rel := snap.world, &snap.rel
			u := wd.orgs[docOrg].users[docUser]
			now := m.Now()
			issueUse := func() {
				a := m.issue(nil, u, u.defaultUnit, rel, wd, now)
				if a.err != nil {
					b.Fatal(a.err)
				}
				if r := m.checkToken(a.issued, presentUse); r.err != nil {
					b.Fatal(r.err)
				}
			}
			for range held {
				issueUse()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				issueUse()
			}
		})
	}
}

type failingWriter struct{ writes int }

func (w *failingWriter) Write(p []byte) (int, error) { w.writes++; return 0, errGone }

var errGone = errors.New("client gone")

// Ensure a listing (GET /__admin/tokens) whose client went away stops building tokens
// at the first failed write: 5 000 JWTs are not rebuilt and marshalled for nobody, and
// the error is returned.
func TestTokenStreamStopsWhenClientGone(t *testing.T) {
	m := newTestMock(t, "R12")
	issueN(t, m, 5000)
	var w failingWriter
	per := allocatedBy(3, func() {
		w = failingWriter{}
		if err := m.tokens.stream(TokenFilter{}, &w); !errors.Is(err, errGone) {
			t.Fatalf("stream: %v", err)
		}
	})
	require.Equal(t, 1, w.writes)
	full := allocatedBy(3, func() { _ = m.tokens.stream(TokenFilter{}, io.Discard) })
	require.Less(t, per, full/4, "the listing went on building tokens after the client was gone")
}

// BenchmarkJournalAddAtBudget: a journal entry added in a flood at --journal-budget
// (each add past it trims a quarter of the journal's own oldest), against the same
// without a budget: trim is amortised O(1) per add, the ring's 10 000 entries copied
// once per 2 500 adds.
func BenchmarkJournalAddAtBudget(b *testing.B) {
	e := JournalEntry{Method: "GET", Path: "/crmapi/rest/v2/contact_information/show", Operation: "contact_information/show",
		Code: "OK", Version: "R12", Token: strings.Repeat("T", 200)}
	for _, c := range []struct {
		name   string
		budget int64
	}{{"unbounded", 0}, {"at-budget", 2000 * entryCost(&e)}} {
		b.Run(c.name, func(b *testing.B) {
			j := newJournal(defaultJournalSize)
			if c.budget > 0 {
				j.budget = &memBudget{limit: c.budget}
			}
			for range 2 * defaultJournalSize {
				j.add(e)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				j.add(e)
			}
			b.ReportMetric(float64(len(j.entries)), "entries")
		})
	}
}

// Ensure a journal kept at --journal-budget by a flood trims in place once it has
// settled: adding an entry allocates nothing on average (it allocated two new arrays
// of the journal per trim, 2.6 KB per add, all for the collector to scan), and the
// journal still lists its newest entries in order.
func TestJournalTrimAtBudgetInPlace(t *testing.T) {
	e := JournalEntry{Method: "GET", Path: "/crmapi/rest/v2/contact_information/show", Code: "OK", Token: strings.Repeat("T", 200)}
	for _, size := range []int{defaultJournalSize, 1500} { // 1500: a full ring, trimmed from its middle
		j := newJournal(size)
		if size < 2000 { // the ring wraps, then the budget shrinks under it (other journals filled it)
			for range size + 700 {
				j.add(e)
			}
			require.Equal(t, 700, j.next)
			j.budget = &memBudget{limit: 1000 * entryCost(&e)}
			j.budget.used.Store(j.bytes)
		} else {
			j.budget = &memBudget{limit: 2000 * entryCost(&e)}
		}
		for range 4 * defaultJournalSize {
			j.add(e)
		}
		per := allocatedBy(4000, func() { j.add(e) })
		require.Less(t, per, uint64(64), "size %d: bytes allocated per add at the budget", size)
		l := j.list(journalFilter{})
		require.GreaterOrEqual(t, len(l), journalFloor)
		for i := 1; i < len(l); i++ {
			require.Equal(t, l[i-1].ID+1, l[i].ID, "size %d: the journal is out of order after trims", size)
		}
		require.Equal(t, j.lastID, l[len(l)-1].ID)
		var sum int64
		for i := range j.entries {
			sum += entryCost(&j.entries[i])
		}
		require.Equal(t, sum, j.bytes)
		require.Equal(t, j.bytes, j.budget.used.Load())
	}
}

// Ensure a journal entry's cost counts the status.message it keeps for the lint (a
// scenario's errors may answer a long one), as it counts the description.
func TestJournalEntryCostCountsMessage(t *testing.T) {
	e := JournalEntry{Method: "GET"}
	long := e
	long.message = strings.Repeat("m", 1000)
	require.Equal(t, entryCost(&e)+1000, entryCost(&long))
}
