package tokens

import (
	"strconv"
	"strings"
	"testing"
	"time"

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
