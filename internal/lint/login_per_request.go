package lint

import (
	"fmt"
	"time"
)

// LoginRun is how many tokens in a row make login-per-request.
const LoginRun = 10

// LoginPerRequest: one user or key keeps logging in while its last token still lives.
var LoginPerRequest = &Rule{
	ID:       "login-per-request",
	Severity: Warning,
	Doc: `Reuse the token: the client logs in for (almost) every request.
Fires when one user or key got 10 or more tokens in a row, each used at most once and
each issued while the previous one was still live (not expired, not released). Each
login costs a round trip and a session on CRM.COM; keep the token and log in again only
on TOKEN_EXPIRED. Nine such logins, tokens used twice or more, or logins after the
previous token died are not this, nor is a client that keeps a pool of tokens and goes
back to older ones after logging in newer ones (pooled-tokens-idle judges pools).`,
	Check: checkLoginPerRequest,
}

func checkLoginPerRequest(in *Input) []Finding {
	byPrincipal := map[string][]*Token{}
	var principals []string
	for i := range in.Tokens { // Tokens are in issue order
		t := &in.Tokens[i]
		if _, ok := byPrincipal[t.Principal]; !ok {
			principals = append(principals, t.Principal)
		}
		byPrincipal[t.Principal] = append(byPrincipal[t.Principal], t)
	}
	pools := in.pools()
	var out []Finding
	for _, p := range principals {
		if pools[p] != nil { // a pool logs in ahead: never login-per-request
			continue
		}
		ts := byPrincipal[p]
		var run []*Token
		flush := func() {
			if len(run) >= LoginRun {
				out = append(out, loginRunFinding(p, run))
			}
			run = run[:0]
		}
		for _, t := range ts {
			if t.Uses > 1 {
				flush()
				continue
			}
			if len(run) > 0 && !liveAt(run[len(run)-1], t) {
				flush()
			}
			run = append(run, t)
		}
		flush()
	}
	return out
}

// liveAt reports whether prev was still live when next was issued.
func liveAt(prev, next *Token) bool {
	if prev.ReleaseRequest != 0 && next.IssueRequest != 0 {
		if prev.ReleaseRequest < next.IssueRequest {
			return false
		}
	} else if !prev.ReleasedAt.IsZero() && !prev.ReleasedAt.After(next.IssuedAt) {
		return false
	}
	from := prev.IssuedAt
	if prev.Idle { // the idle hour runs from the last use (a use after next's issue proves it lived then)
		from = prev.LastUsed
	}
	return next.IssuedAt.Before(from.Add(prev.Life))
}

func loginRunFinding(p string, run []*Token) Finding {
	var g group
	unused := 0
	for _, t := range run {
		g.add(t.IssueRequest, t.IssuedAt)
		if t.Uses == 0 {
			unused++
		}
	}
	span := "without the mock clock moving"
	if d := run[len(run)-1].IssuedAt.Sub(run[0].IssuedAt); d > 0 {
		span = "within " + d.Round(time.Second).String() + " of mock time"
	}
	return g.finding(fmt.Sprintf(
		"%s logged in %d times in a row %s, using each token at most once%s, each while the previous token was still live (it lasts %s). "+
			"Keep the token and reuse it; log in again only when answered TOKEN_EXPIRED.",
		who(p), len(run), span, neverUsed(unused, len(run)), lifeText(run[0])))
}

func neverUsed(n, of int) string {
	switch n {
	case 0:
		return ""
	case of:
		return " (none of them at all)"
	}
	return fmt.Sprintf(" (%d not at all)", n)
}

// lifeText says how a token lives, citing the release rule.
func lifeText(t *Token) string {
	if t.Idle {
		return fmt.Sprintf("until %s idle, F6", hours(t.Life))
	}
	fact, _, _ := absoluteFact(t)
	return fmt.Sprintf("%s from issue, %s", hours(t.Life), fact)
}
