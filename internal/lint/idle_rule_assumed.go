package lint

import "fmt"

// IdleRuleAssumed: a token under the absolute rule died in active use and the client
// never logged in again.
var IdleRuleAssumed = &Rule{
	ID:       "idle-rule-assumed",
	Severity: Warning,
	Doc: `Log in again on TOKEN_EXPIRED even while the token is in use: the client stopped after an absolute-rule token died.
Fires when a token under the absolute 2 h rule (every R12+ token, F9; Web API key tokens
from R10, F7) was answered TOKEN_EXPIRED while in active use (accepted within the hour
before) and its user or key got no new token afterwards: the client assumes the pre-R12
sliding hour (F6), where a token in use never expires, and does not recover. When the
client does log in again, active-token-expired (info) reports it instead.`,
	Check: checkIdleRuleAssumed,
}

func checkIdleRuleAssumed(in *Input) []Finding {
	var out []Finding
	for _, x := range in.activeExpiries() {
		if x.recovered {
			continue
		}
		t, e := x.token, x.rejected
		g := group{token: t.Value}
		g.add(e.ID, e.Time)
		out = append(out, g.finding(fmt.Sprintf(
			"Token %s of %s was last used at %s and answered TOKEN_EXPIRED at %s (request %d), and %s got no new token afterwards. "+
				"The client refreshes only after an idle hour (the pre-R12 rule, F6), but %s: log in again on TOKEN_EXPIRED, or before expires_at.",
			short(t.Value), who(t.Principal), stamp(t.LastUsed), stamp(e.Time), e.ID, who(t.Principal), absoluteRule(t))))
	}
	return out
}
