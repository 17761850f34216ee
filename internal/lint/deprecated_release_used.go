package lint

import (
	"fmt"

	"github.com/crmmock/crmmock/internal/ops"
	"github.com/crmmock/crmmock/internal/wire"
)

// DeprecatedReleaseUsed: token/release called on R12 or later.
var DeprecatedReleaseUsed = &Rule{
	ID:       "deprecated-release-used",
	Severity: Info,
	Doc: `Stop releasing tokens on R12+: authentication/token/release is deprecated there.
Fires once, with the count, when authentication/token/release was called while an R12
or later release was emulated. It still works (answered with Deprecation: true), but is
deprecated from R12.0.0 (F8), where every token dies 2 h after issue anyway (F9).`,
	Check: checkDeprecatedReleaseUsed,
}

func checkDeprecatedReleaseUsed(in *Input) []Finding {
	var g group
	for i := range in.Entries {
		e := &in.Entries[i]
		if e.Operation != ops.Release || e.Profile != wire.ProfileR12 {
			continue
		}
		if g.count == 0 {
			g.sample = e
		}
		g.add(e.ID, e.Time)
	}
	if g.count == 0 {
		return nil
	}
	return []Finding{g.finding(fmt.Sprintf(
		"authentication/token/release was called %s on %s: it is deprecated from R12.0.0 (F8), answered with Deprecation: true, and R12 tokens die 2 h after issue anyway (F9). "+
			"Keep the call for R10/R11 installations only.",
		times(g.count), g.sample.Release))}
}
