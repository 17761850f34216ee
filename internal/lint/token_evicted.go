package lint

import (
	"fmt"
	"strings"

	"github.com/crmmock/crmmock/internal/wire"
)

// EvictedReason opens the description of a presentation answered INVALID_TOKEN because
// the mock evicted the token when its token store was full; the bound and its flag
// follow in parentheses, e.g. "evicted: token store full (--max-tokens 1000000)".
const EvictedReason = "evicted: token store full"

// TokenEvicted: a presented token had been evicted because the mock's token bound was
// reached.
var TokenEvicted = &Rule{
	ID:       "token-evicted",
	Severity: Warning,
	Doc: `Log in less often, or raise the mock's token bound: a presented token had been evicted.
The client (or a load test) logged in so often that the mock's token store filled, and the
mock evicted its least recently used tokens. The real system has no such bound; raise it
(--max-tokens, --token-budget) or reuse one token per user until it expires.`,
	Check: checkTokenEvicted,
}

func checkTokenEvicted(in *Input) []Finding {
	var gs groups
	for i := range in.Entries {
		e := &in.Entries[i]
		if e.Token == "" || e.Judged() != wire.CodeInvalidToken || !strings.HasPrefix(e.Description, EvictedReason) {
			continue
		}
		if g, fresh := gs.note(e.Token, e); fresh {
			g.token = e.Token
		}
	}
	out := make([]Finding, 0, len(gs.order))
	for _, g := range gs.order {
		bound := strings.TrimSpace(strings.TrimPrefix(g.sample.Description, EvictedReason))
		out = append(out, g.finding(fmt.Sprintf(
			"Token %s was evicted because the mock's token store was full %s, then presented %s (answered %s). "+
				"The mock bounds the tokens it holds so a login flood cannot exhaust memory; a client that logs in for every request fills it. "+
				"Reuse one token until it expires, or raise the bound named above.",
			short(g.token), bound, times(g.count), g.sample.Code)))
	}
	return out
}
