package tokens

import (
	"strconv"
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
