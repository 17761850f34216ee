package mockserver

import (
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
	hzIssueN(t, m, 3) // two evicted: the evicted set is in use
	require.Equal(t, uint64(2), m.TokensFiltered(TokenFilter{}).Evicted)
	require.Less(t, allocatedBy(20, check), uint64(64<<10), "a 1 MiB garbage token was copied")
}
