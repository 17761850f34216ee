package lint

import (
	"time"

	"github.com/crmmock/crmmock/internal/wire"
)

// activeWindow is how recent a use makes a token "in active use" when it is rejected.
const activeWindow = time.Hour

// activeExpiry is a token under an absolute rule answered TOKEN_EXPIRED while in active
// use (its last accepted use within the hour before): what idle-rule-assumed and
// active-token-expired judge. An answer an injected fault gave is not the rule's.
type activeExpiry struct {
	token     *Token
	rejected  *Entry // the first TOKEN_EXPIRED answer for it
	recovered bool   // its principal got a new token after that answer
}

// activeExpiries finds them once per Input, in the order of the rejections.
func (in *Input) activeExpiries() []activeExpiry {
	if in.expiriesDone {
		return in.expiries
	}
	in.expiriesDone = true
	latest := map[string]*Token{} // principal → its latest token, by issue request
	for i := range in.Tokens {
		t := &in.Tokens[i]
		if l, ok := latest[t.Principal]; !ok || issuedAfter(t, l.IssueRequest, l.IssuedAt) {
			latest[t.Principal] = t
		}
	}
	seen := map[string]bool{}
	for i := range in.Entries {
		e := &in.Entries[i]
		if e.Token == "" || e.Judged() != wire.CodeTokenExpired || e.Fault != "" || seen[e.Token] {
			continue
		}
		seen[e.Token] = true
		t := in.token(e.Token)
		if t == nil || t.Idle || t.Uses == 0 || t.LastUsed.After(e.Time) || e.Time.Sub(t.LastUsed) >= activeWindow {
			continue
		}
		l := latest[t.Principal]
		in.expiries = append(in.expiries, activeExpiry{token: t, rejected: e, recovered: l != nil && issuedAfter(l, e.ID, e.Time)})
	}
	return in.expiries
}

// issuedAfter reports whether t was issued after the request id (or, when ids are
// unknown, after the time at): ids order requests that share a fake-clock instant.
func issuedAfter(t *Token, id uint64, at time.Time) bool {
	if t.IssueRequest != 0 && id != 0 {
		return t.IssueRequest > id
	}
	return t.IssuedAt.After(at)
}
