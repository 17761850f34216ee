package lint

import (
	"fmt"
	"sort"
	"strings"

	"github.com/crmmock/crmmock/internal/journal"
	"github.com/crmmock/crmmock/internal/wire"
)

// MinTruncated is the shortest presented token truncated-token considers: shorter
// strings prove nothing about a column's width.
const MinTruncated = 16

// journalCut is where the mock's journal cuts a presented token.
const journalCut = journal.TokenLimit

// TruncatedToken: a presented token is a proper prefix of a token the mock issued.
var TruncatedToken = &Rule{
	ID:       "truncated-token",
	Severity: Error,
	Doc: `Store and send tokens whole: the client presented the first characters of a token the mock issued.
Fires when a token presented to a method (≥ 16 characters) is a proper prefix of an
issued token: typically a database column or a fixed buffer sized for the 32
characters of pre-R12 tokens, while from R12 (F9) tokens are JWTs of a few hundred
characters. A string that is no prefix of any issued token is not this bug.`,
	Check: checkTruncatedToken,
}

func checkTruncatedToken(in *Input) []Finding {
	var prefixOf func(string) (string, bool) // an index over in.Tokens, built at the first candidate
	var gs groups
	for i := range in.Entries {
		e := &in.Entries[i]
		n := len(e.Token)
		// A truncated token is never accepted; a token at the journal's cut may be cut by it.
		if n < MinTruncated || n >= journalCut || e.Judged() != wire.CodeInvalidToken {
			continue
		}
		if prefixOf == nil {
			prefixOf = PrefixIndex(in.Tokens)
		}
		issued, ok := prefixOf(e.Token)
		if !ok || len(issued) <= n {
			continue
		}
		g, fresh := gs.get(fmt.Sprintf("%d/%d", n, len(issued)))
		if fresh {
			g.token, g.sample = issued, e
		}
		g.add(e.ID, e.Time)
	}
	out := make([]Finding, 0, len(gs.order))
	for _, g := range gs.order {
		n, full := len(g.sample.Token), len(g.token)
		why := fmt.Sprintf("Before R12 tokens are 32 uppercase hex characters (F6); keep all %d.", full)
		if full > 32 {
			why = fmt.Sprintf("From R12 (F9) tokens are JWTs, here %d characters, not the 32 of earlier releases (F6); keep the whole token (e.g. a TEXT column, not CHAR(%d)).", full, n)
		}
		out = append(out, g.finding(fmt.Sprintf(
			"The client presented the first %d characters of a %d-character token the mock issued (%s, answered %s): it stores or sends tokens cut short. %s",
			n, full, times(g.count), g.sample.Code, why)))
	}
	return out
}

// PrefixIndex finds, among tokens, one that presented is a prefix of (a sorted index:
// a binary search per call).
func PrefixIndex(tokens []Token) func(string) (string, bool) {
	values := make([]string, len(tokens))
	for i := range tokens {
		values[i] = tokens[i].Value
	}
	sort.Strings(values)
	return func(p string) (string, bool) {
		i := sort.SearchStrings(values, p) // the first value ≥ p: a value p prefixes sorts there
		if i < len(values) && strings.HasPrefix(values[i], p) {
			return values[i], true
		}
		return "", false
	}
}
