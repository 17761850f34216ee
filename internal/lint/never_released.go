package lint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/crmmock/crmmock/internal/wire"
)

// NeverReleased: on R10/R11, tokens still live and never released.
var NeverReleased = &Rule{
	ID:       "never-released",
	Severity: Info,
	Doc: `Release tokens when done on R10/R11: some are still live and were never released.
Fires once, with the count, when tokens issued on R10 or R11 are still live and were
never released: from R10.0.0 (F8) authentication/token/release ends a session, so a
client that does not call it leaves sessions open until their idle hour or 2 h runs
out. From R12 release is deprecated and not asked for.`,
	Check: checkNeverReleased,
}

func checkNeverReleased(in *Input) []Finding {
	var g group
	per := map[string]int{}
	for i := range in.Tokens {
		t := &in.Tokens[i]
		if t.Profile != wire.ProfileR10 || t.State != wire.StateLive || !t.ReleasedAt.IsZero() || t.ReleaseRequest != 0 {
			continue
		}
		if g.count == 0 {
			g.token = t.Value
		}
		per[who(t.Principal)]++
		g.add(t.IssueRequest, t.IssuedAt)
	}
	if g.count == 0 {
		return nil
	}
	var whose []string
	for p, n := range per {
		whose = append(whose, fmt.Sprintf("%s: %d", p, n))
	}
	slices.Sort(whose)
	if g.count > 1 {
		g.token = "" // the finding is about several tokens
	}
	return []Finding{g.finding(fmt.Sprintf(
		"%s issued on R10/R11 %s still live and never released (%s). "+
			"From R10.0.0 (F8) authentication/token/release ends a session; call it when the client is done instead of leaving sessions open until they expire.",
		plural(g.count, "token"), isAre(g.count), strings.Join(whose, ", ")))}
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
