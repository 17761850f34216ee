package tokens

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// testOwner is a user token's login under a one-hour idle rule.
type testOwner struct{ user string }

func (testOwner) Kind() Kind          { return KindUser }
func (testOwner) Rule() Rule          { return Rule{Idle: true, After: time.Hour} }
func (o testOwner) Principal() string { return "user " + o.user + "@org" }
func (o testOwner) Names() (release, profile, user, organisation, unit string) {
	return "R10", "R10", o.user, "org", "unit"
}

func newTestStore(now func() int64) *Store[testOwner] {
	return New(now, func(testOwner, int64, int64, [16]byte) (string, error) { return "", nil })
}

// Ensure the sweep is amortised: after one, the store grows by at least a quarter (and
// SweepMin) before the next.
func TestStoreSweepAmortised(t *testing.T) {
	s := newTestStore(func() int64 { return 0 })
	s.Configure(0, 0)
	sweeps := 0
	for i := range 20000 {
		before := s.nextSweep
		s.AddOpaque(testOwner{"u"}, 0, strconv.Itoa(i))
		if s.nextSweep != before {
			sweeps++
			assert.GreaterOrEqual(t, s.nextSweep-len(s.order), max(SweepMin, len(s.order)/4))
		}
	}
	assert.Less(t, sweeps, 20000/SweepMin+1)
	assert.Len(t, s.order, 20000, "live tokens stay")
}

// Ensure a presented token is judged on the store's clock at the exact boundary of
// its rule (F6: live at 59m59s idle, expired at exactly 1 h after the last use), and
// a release is judged as a verdict with the moment in its text.
func TestF6PresentJudgesAtTheBoundary(t *testing.T) {
	var now int64
	s := newTestStore(func() int64 { return now })
	s.AddOpaque(testOwner{"u"}, 0, "A")
	now = int64(59*time.Minute + 59*time.Second)
	_, at, j, found := s.Present("A", nil, Use)
	assert.True(t, found)
	assert.Equal(t, now, at)
	assert.Equal(t, Accepted, j.Verdict, "59m59s idle: live")
	now += int64(time.Hour) // an hour after that use
	_, _, j, _ = s.Present("A", nil, Use)
	assert.Equal(t, Expired, j.Verdict, "exactly 1 h idle: expired")
	assert.Equal(t, "token: expired at 1970-01-01T01:59:59Z (1h0m0s idle)", j.Text)

	s.AddOpaque(testOwner{"u"}, now, "B")
	_, _, j, _ = s.Present("B", nil, Release)
	assert.Equal(t, Accepted, j.Verdict)
	_, _, j, _ = s.Present("B", nil, Release)
	assert.Equal(t, Released, j.Verdict)
	assert.Contains(t, j.Text, "already released at")
	_, _, _, found = s.Present("C", nil, Check)
	assert.False(t, found, "never issued")
}

// Ensure a full store evicts by second chance: a token used since the hand passed is
// spared, the others go first, each evicted token answers why, and the shared budget
// counts what every store holds.
func TestEvictSecondChance(t *testing.T) {
	s := newTestStore(func() int64 { return 0 })
	s.Configure(DefaultKeepDead, 3)
	b := NewBudget(0)
	s.Join(b)
	tok := func(c string) string { return strings.Repeat(c, OpaqueLen) } // an opaque token's length
	for _, v := range []string{"A", "B", "C"} {
		s.AddOpaque(testOwner{"u"}, 0, tok(v))
	}
	s.Present(tok("A"), nil, Use) // A gets its second chance
	s.AddOpaque(testOwner{"u"}, 0, tok("D"))
	assert.Equal(t, 3, s.Held())
	assert.Nil(t, s.Holding(tok("B")), "B, unused, is evicted first")
	assert.NotNil(t, s.Holding(tok("A")), "A was used: spared")
	assert.Equal(t, "evicted: token store full (--max-tokens 3)", s.EvictedWhy(tok("B"), nil))
	assert.Equal(t, uint64(1), s.List(Filter{}).Evicted)
	assert.Equal(t, int64(3), b.Held())
	s.Close()
	assert.Equal(t, int64(0), b.Held(), "a closed store gives its tokens back to the budget")
}

// Ensure the evicted tokens remembered (to answer why, ~100 bytes each) are bounded
// across the stores sharing a budget, not per store: a flooded root fills the shared
// memory, a sandbox that then evicts still remembers its newest (never making the root
// forget), and a reset or a closed store gives its places back.
func TestEvictedMemorySharedByTheBudget(t *testing.T) {
	b := NewBudget(0)
	tok := func(prefix string, i int) string {
		return prefix + strings.Repeat("0", OpaqueLen-len(prefix)-8) + fmt.Sprintf("%08d", i)
	}
	flood := func(s *Store[testOwner], prefix string, n int) {
		for i := range n + 1 { // the first one evicts nothing
			s.AddOpaque(testOwner{"u"}, 0, tok(prefix, i))
		}
	}
	root, sandbox := newTestStore(func() int64 { return 0 }), newTestStore(func() int64 { return 0 })
	for _, s := range []*Store[testOwner]{root, sandbox} {
		s.Configure(0, 1) // each add evicts the token before it
		s.Join(b)
	}
	flood(root, "R", evictedMemory+100)
	assert.Equal(t, int64(evictedMemory), b.Remembered())
	assert.Empty(t, root.EvictedWhy(tok("R", 99), nil), "the root forgot its oldest")
	assert.NotEmpty(t, root.EvictedWhy(tok("R", 100), nil))
	assert.Equal(t, uint64(evictedMemory+100), root.List(Filter{}).Evicted, "every eviction is counted")

	flood(sandbox, "S", 3)
	assert.Equal(t, int64(evictedMemory+1), b.Remembered(), "the sandbox keeps one place of its own")
	assert.NotEmpty(t, sandbox.EvictedWhy(tok("S", 2), nil), "its newest eviction answers why")
	assert.Empty(t, sandbox.EvictedWhy(tok("S", 1), nil))
	assert.NotEmpty(t, root.EvictedWhy(tok("R", 100), nil), "the sandbox made the root forget nothing")

	root.Reset()
	assert.Equal(t, int64(1), b.Remembered(), "a reset gives the root's places back")
	flood(sandbox, "T", 3) // evicts S3 (still held), then T0, T1, T2
	assert.Equal(t, int64(5), b.Remembered(), "the sandbox grows again, oldest first")
	for _, v := range []string{tok("S", 2), tok("S", 3), tok("T", 0), tok("T", 1), tok("T", 2)} {
		assert.NotEmpty(t, sandbox.EvictedWhy(v, nil), "%s kept across the regrowth", v)
	}
	sandbox.Close()
	assert.Equal(t, int64(0), b.Remembered(), "a closed store gives its places back")
}

// Ensure each evicted token is remembered by the bound that evicted it when the bound
// changes between evictions, and that the tokens one bound evicts share one reason
// string (formatted once, not a copy per remembered token).
func TestEvictedReasonFollowsTheBound(t *testing.T) {
	s := newTestStore(func() int64 { return 0 })
	s.Configure(DefaultKeepDead, 3)
	tok := func(c string) string { return strings.Repeat(c, OpaqueLen) }
	for _, v := range []string{"A", "B", "C", "D", "E"} {
		s.AddOpaque(testOwner{"u"}, 0, tok(v))
	}
	a, b := s.EvictedWhy(tok("A"), nil), s.EvictedWhy(tok("B"), nil)
	assert.Equal(t, "evicted: token store full (--max-tokens 3)", a)
	assert.Equal(t, a, b)
	assert.Same(t, unsafe.StringData(a), unsafe.StringData(b), "one string for the tokens one bound evicted")
	s.SetScenarioMax(2)
	s.AddOpaque(testOwner{"u"}, 0, tok("F"))
	assert.Equal(t, "evicted: token store full (scenario limits.max_tokens 2)", s.EvictedWhy(tok("C"), nil))
	assert.Equal(t, "evicted: token store full (scenario limits.max_tokens 2)", s.EvictedWhy(tok("D"), nil))
	s.SetScenarioMax(0)
	s.Configure(DefaultKeepDead, 1)
	s.AddOpaque(testOwner{"u"}, 0, tok("G"))
	s.AddOpaque(testOwner{"u"}, 0, tok("H"))
	assert.Equal(t, "evicted: token store full (--max-tokens 1)", s.EvictedWhy(tok("G"), nil))
}
