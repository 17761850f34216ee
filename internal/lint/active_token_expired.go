package lint

import "fmt"

// ActiveTokenExpired: a token died in active use and the client recovered by logging in.
var ActiveTokenExpired = &Rule{
	ID:       "active-token-expired",
	Severity: Info,
	Doc: `Refresh before exp to spare one failed request: a token in active use hit its absolute limit, and the client recovered.
Fires when a token under the absolute 2 h rule (R12+, F9; Web API key tokens from R10,
F7) was answered TOKEN_EXPIRED while in active use and its user or key then logged in
again. That is correct handling; logging in shortly before the token's exp (or
expires_at) avoids the one failed request. One finding per user or key.`,
	Check: checkActiveTokenExpired,
}

func checkActiveTokenExpired(in *Input) []Finding {
	var gs groups
	for _, x := range in.activeExpiries() {
		if !x.recovered {
			continue
		}
		g, fresh := gs.get(x.token.Principal)
		if fresh {
			g.token, g.sample = x.token.Value, x.rejected
		}
		g.add(x.rejected.ID, x.rejected.Time)
	}
	out := make([]Finding, 0, len(gs.order))
	for _, g := range gs.order {
		t, e := in.token(g.token), g.sample
		what := fmt.Sprintf("Token %s of %s was in use until %s and answered TOKEN_EXPIRED at %s (request %d)",
			short(t.Value), who(t.Principal), stamp(t.LastUsed), stamp(e.Time), e.ID)
		if g.count > 1 {
			what = fmt.Sprintf("%s of %s died in use (the first at %s, request %d)", plural(g.count, "token"), who(t.Principal), stamp(e.Time), e.ID)
		}
		out = append(out, g.finding(fmt.Sprintf(
			"%s; the client then logged in again, which is right: %s. Logging in shortly before the token's exp avoids the failed request.",
			what, absoluteRule(t))))
	}
	return out
}
