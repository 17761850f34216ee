package lint

import (
	"fmt"

	"github.com/crmmock/crmmock/internal/wire"
)

// ReleasedTokenUsed: a token presented after it was released.
var ReleasedTokenUsed = &Rule{
	ID:       "released-token-used",
	Severity: Error,
	Doc: `Forget a token once released: the client presented a token after releasing it.
Fires for each token answered TOKEN_RELEASED: it was presented (to a method or to
release again) after authentication/token/release ended it (F8). A released token stays
dead; log in for a new one.`,
	Check: checkReleasedTokenUsed,
}

func checkReleasedTokenUsed(in *Input) []Finding {
	var gs groups
	for i := range in.Entries {
		e := &in.Entries[i]
		if e.Token == "" || e.Judged() != wire.CodeTokenReleased || e.Fault != "" { // a fault's answer is no release
			continue
		}
		if g, fresh := gs.note(e.Token, e); fresh {
			g.token = e.Token
		}
	}
	out := make([]Finding, 0, len(gs.order))
	for _, g := range gs.order {
		when := ""
		if t := in.token(g.token); t != nil && t.ReleaseRequest != 0 {
			when = fmt.Sprintf(" at %s (request %d)", stamp(t.ReleasedAt), t.ReleaseRequest)
		}
		out = append(out, g.finding(fmt.Sprintf(
			"Token %s was released%s, then presented %s more (answered %s). "+
				"From R10 (F8) authentication/token/release ends a token for good: drop it from the client's cache when releasing and log in again for further calls.",
			short(g.token), when, times(g.count), g.sample.Code)))
	}
	return out
}
