package lint

import (
	"fmt"

	"github.com/crmmock/crmmock/internal/wire"
)

// ExpiredTokenReused: a token presented again after the client was told TOKEN_EXPIRED.
var ExpiredTokenReused = &Rule{
	ID:       "expired-token-reused",
	Severity: Error,
	Doc: `Log in again on TOKEN_EXPIRED: the client presented a token it had already been told was expired.
Fires for each token presented again (to any method, release included) after an answer
TOKEN_EXPIRED for it: a retry loop that resends the dead token instead of getting a new
one. An expired token never comes back to life on CRM.COM, so every retry fails.`,
	Check: checkExpiredTokenReused,
}

func checkExpiredTokenReused(in *Input) []Finding {
	told := map[string]*Entry{} // token → the first TOKEN_EXPIRED answer for it
	var gs groups
	for i := range in.Entries {
		e := &in.Entries[i]
		if e.Token == "" {
			continue
		}
		if first, ok := told[e.Token]; ok {
			g, fresh := gs.get(e.Token)
			if fresh {
				g.token, g.sample = e.Token, first
			}
			g.add(e.ID, e.Time)
			continue
		}
		if e.Judged() == wire.CodeTokenExpired {
			told[e.Token] = e
		}
	}
	out := make([]Finding, 0, len(gs.order))
	for _, g := range gs.order {
		t := in.token(g.token)
		owner := ""
		if t != nil {
			owner = " of " + who(t.Principal)
		}
		out = append(out, g.finding(fmt.Sprintf(
			"Token %s%s was answered TOKEN_EXPIRED at %s (request %d), yet the client presented it %s more. "+
				"CRM.COM never revives an expired token: on TOKEN_EXPIRED log in again and retry with the new token.",
			short(g.token), owner, stamp(g.sample.Time), g.sample.ID, times(g.count))))
	}
	return out
}
