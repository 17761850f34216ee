package lint

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/crmmock/crmmock/internal/ops"
	"github.com/crmmock/crmmock/internal/wire"
)

// PoolIdle is how many dead pool tokens make pooled-tokens-idle.
const PoolIdle = 10

// poolDepth is how far back a use must reach for its user or key to count as keeping a
// pool: a token used after this many later tokens of the same user or key were issued
// (a client holding three or more tokens at once). A client that logs in anew before
// every call, even from two threads, or refreshes ahead and lets one call in flight
// finish on the old token, reaches back one token at most.
const poolDepth = 2

// pool is a user or key whose client keeps several tokens at once and goes back to
// older ones (round-robin): what pooled-tokens-idle judges and login-per-request leaves
// alone. Reaching back is not enough: a client logging in before every call from three
// threads reaches back too, each thread's call coming after the others' logins. A pool
// also reuses a token it reached back to, or logged LoginRun or more tokens in a row
// with no call between (ahead of need), or let PoolIdle or more expire never used: a
// client logging in per request does none of these.
type pool struct {
	principal string
	tokens    []*Token        // issue order
	uses      []poolUse       // accepted uses of any of its tokens, in time order
	comeBack  map[*Token]bool // tokens presented again after they died (TOKEN_EXPIRED)
	bursts    []burst         // logins with no use of its tokens between, in order
}

// poolUse is an accepted use of one of a pool's tokens.
type poolUse struct {
	at  time.Time
	tok *Token
}

// burst is logins in a row.
type burst struct {
	at time.Time
	n  int
}

// pools finds them once per Input: a first pass over the journal finds the users and
// keys that reach back (no allocation per entry), a second one, only when there are
// any, gathers their uses, logins and tokens presented after death.
func (in *Input) pools() map[string]*pool {
	if in.poolsDone {
		return in.poolMap
	}
	in.poolsDone = true
	at, count := in.places()
	deep, anyDeep := in.reachBack(at, count)
	in.poolMap = map[string]*pool{}
	if !anyDeep {
		return in.poolMap
	}
	in.gatherPools(at, deep)
	return in.poolMap
}

// tokenPlace is a token's principal (by number) and its place among that principal's tokens.
type tokenPlace struct{ principal, idx int }

// places numbers the principals in issue order and places each token among its
// principal's; count is the tokens per principal number.
func (in *Input) places() (at map[*Token]tokenPlace, count []int) {
	at = make(map[*Token]tokenPlace, len(in.Tokens)) // a token's principal and place among its tokens
	num := map[string]int{}                          // principal → its number
	for i := range in.Tokens {                       // Tokens are in issue order
		t := &in.Tokens[i]
		n, ok := num[t.Principal]
		if !ok {
			n = len(count)
			num[t.Principal] = n
			count = append(count, 0)
		}
		at[t] = tokenPlace{n, count[n]}
		count[n]++
	}
	return at, count
}

// reachBack is the first pass: which principals reach back to older tokens and reuse
// them, log in LoginRun times ahead, or leave PoolIdle or more expired unused.
func (in *Input) reachBack(at map[*Token]tokenPlace, count []int) (deep []bool, anyDeep bool) {
	latest := make([]int, len(count)) // principal number → the place of its latest login seen
	for i := range latest {
		latest[i] = -1
	}
	deep = make([]bool, len(count))     // reaches back, and reuses a token it reached back to
	reached := make([]bool, len(count)) // reaches back
	ahead := make([]bool, len(count))   // logged LoginRun tokens in a row with no use between
	run := make([]int, len(count))      // logins since its last use
	for i := range in.Entries {
		e := &in.Entries[i]
		switch {
		case e.Issued != "":
			if t := in.token(e.Issued); t != nil {
				pl := at[t]
				latest[pl.principal] = pl.idx
				if run[pl.principal]++; run[pl.principal] >= LoginRun {
					ahead[pl.principal] = true
				}
			}
		case e.Token != "" && e.Judged() == wire.CodeOK && e.Operation != ops.Release && e.Fault == "":
			if t := in.token(e.Token); t != nil {
				pl := at[t]
				run[pl.principal] = 0
				if l := latest[pl.principal]; l >= 0 && l-pl.idx >= poolDepth && !deep[pl.principal] {
					reached[pl.principal] = true
					if t.Uses >= 2 {
						deep[pl.principal], anyDeep = true, true
					}
				}
			}
		}
	}
	for n := range reached {
		if reached[n] && ahead[n] && !deep[n] {
			deep[n], anyDeep = true, true
		}
	}
	var unused []int // reaching back without reuse: a pool still, when PoolIdle or more expired never used
	for i := range in.Tokens {
		t := &in.Tokens[i]
		if n := at[t].principal; reached[n] && !deep[n] && t.Uses == 0 && t.State == wire.StateExpired {
			if unused == nil {
				unused = make([]int, len(count))
			}
			if unused[n]++; unused[n] >= PoolIdle {
				deep[n], anyDeep = true, true
			}
		}
	}
	return deep, anyDeep
}

// gatherPools is the second pass, over the principals that pool: their tokens, uses,
// bursts of logins and tokens presented after death.
func (in *Input) gatherPools(at map[*Token]tokenPlace, deep []bool) {
	for i := range in.Tokens {
		t := &in.Tokens[i]
		if !deep[at[t].principal] {
			continue
		}
		p := in.poolMap[t.Principal]
		if p == nil {
			p = &pool{principal: t.Principal, comeBack: map[*Token]bool{}}
			in.poolMap[t.Principal] = p
		}
		p.tokens = append(p.tokens, t)
	}
	inBurst := map[*pool]bool{} // the pool's last event was a login
	for i := range in.Entries {
		e := &in.Entries[i]
		v := e.Token
		if e.Issued != "" {
			v = e.Issued
		}
		if v == "" {
			continue
		}
		t := in.token(v)
		if t == nil || !deep[at[t].principal] {
			continue
		}
		p := in.poolMap[t.Principal]
		switch {
		case e.Issued != "":
			if n := len(p.bursts); inBurst[p] && n > 0 {
				p.bursts[n-1].n++
			} else {
				p.bursts = append(p.bursts, burst{at: e.Time, n: 1})
			}
			inBurst[p] = true
		case e.Judged() == wire.CodeTokenExpired && e.Fault == "":
			p.comeBack[t] = true
		case e.Judged() == wire.CodeOK && e.Operation != ops.Release && e.Fault == "":
			p.uses = append(p.uses, poolUse{e.Time, t})
			inBurst[p] = false
		}
	}
	for _, p := range in.poolMap {
		slices.SortStableFunc(p.uses, func(a, b poolUse) int { return a.at.Compare(b.at) }) // a clock set back makes the journal's times unordered
	}
}

// usedBetween reports whether the pool's client used any token after from and before to.
func (p *pool) usedBetween(from, to time.Time, inclusive bool) bool {
	i := p.firstUse(from, inclusive)
	return i < len(p.uses) && p.uses[i].at.Before(to)
}

// firstUse is the index of the first use at or after (inclusive) or after from.
func (p *pool) firstUse(from time.Time, inclusive bool) int {
	return sort.Search(len(p.uses), func(i int) bool {
		if inclusive {
			return !p.uses[i].at.Before(from)
		}
		return p.uses[i].at.After(from)
	})
}

// rotatedPast reports whether, while t lay idle (after its last use and before it
// expired), the client used more than poolDepth of its other tokens: it kept a pool
// larger than its traffic. A client of two or three worker threads, each keeping one
// token, whose idle worker's token died while the others kept using theirs, had no
// pool to size: each worker had its token and no call to make.
func (p *pool) rotatedPast(t *Token) bool {
	var others [poolDepth + 1]*Token
	n := 0
	from := p.firstUse(t.LastUsed, false)
	for i := from; i < len(p.uses) && i-from < rotationSample && p.uses[i].at.Before(t.ExpiresAt); i++ {
		u := p.uses[i].tok
		if u == t || slices.Contains(others[:n], u) {
			continue
		}
		others[n] = u
		n++
		if n == len(others) {
			return true
		}
	}
	return false
}

// rotationSample is how many uses of a token's idle time rotatedPast reads at most (a
// flood at one moment of a frozen clock must not make the lint quadratic).
const rotationSample = 4096

// size is the most tokens the client logged in at once; refresh is the median time
// between such logins of two or more tokens (0: fewer than two seen).
func (p *pool) size() int {
	n := 0
	for _, b := range p.bursts {
		n = max(n, b.n)
	}
	return n
}

func (p *pool) refresh() time.Duration {
	var starts []time.Time
	for _, b := range p.bursts {
		if b.n >= 2 {
			starts = append(starts, b.at)
		}
	}
	if len(starts) < 2 {
		return 0
	}
	gaps := make([]time.Duration, 0, len(starts)-1)
	for i := 1; i < len(starts); i++ {
		gaps = append(gaps, starts[i].Sub(starts[i-1]))
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2]
}

// PooledTokensIdle: a client keeps a pool of tokens, and pool tokens die unused or idle.
var PooledTokensIdle = &Rule{
	ID:       "pooled-tokens-idle",
	Severity: Warning,
	Doc: `Size the token pool to the traffic: tokens the client logged in ahead died unused or idle while it used others.
Fires when a user or key whose client keeps a pool (it goes back to older tokens after
logging in newer ones, and reuses one or logged 10 or more in a row ahead of need, as
CRM.COM's own Java sample does with 64 tokens re-logged every 7 000 s, F20) has 10 or
more tokens that expired never used, or died idle while the client kept using three or
more of its other tokens and then came back to them (TOKEN_EXPIRED): a token
the pool's refresh replaced and never presented again is not counted. Before R12 a user token dies after an hour without
use (F6), so a pool token the client does not use within the hour dies before the
pool's refresh; from R12 (F9) every token dies 2 h after issue, used or not, and a token
logged in ahead and never used was a login for nothing. The message names the pool's
refresh period as observed and the rule. A pool is never login-per-request; a client
using one token at a time is never a pool, nor are two or three worker threads each
keeping one token.`,
	Check: checkPooledTokensIdle,
}

func checkPooledTokensIdle(in *Input) []Finding {
	pools := in.pools()
	var out []Finding
	for _, p := range sortedPools(pools) {
		var g group
		unused, idle := 0, 0
		var rule *Token // the first dead token: the rule the message cites
		for _, t := range p.tokens {
			if t.State != wire.StateExpired || !t.ReleasedAt.IsZero() || t.ReleaseRequest != 0 {
				continue
			}
			switch {
			case t.Uses == 0 && p.usedBetween(t.IssuedAt, t.ExpiresAt, true):
				unused++
			case t.Uses > 0 && t.Idle && p.comeBack[t] && p.rotatedPast(t):
				idle++
			default:
				continue
			}
			if rule == nil {
				rule = t
			}
			g.add(t.IssueRequest, t.IssuedAt)
		}
		if g.count < PoolIdle {
			continue
		}
		out = append(out, g.finding(poolMessage(p, rule, unused, idle)))
	}
	return out
}

func sortedPools(pools map[string]*pool) []*pool {
	out := make([]*pool, 0, len(pools))
	for _, p := range pools {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *pool) int { // by the first token's login
		return a.tokens[0].IssuedAt.Compare(b.tokens[0].IssuedAt)
	})
	return out
}

func poolMessage(p *pool, t *Token, unused, idle int) string {
	refresh := "refreshed: not seen (the pool was logged in once)"
	if d := p.refresh(); d > 0 {
		refresh = fmt.Sprintf("refreshed every %s (%d s, as observed)", d, d/time.Second)
	}
	var died string
	switch {
	case idle == 0:
		died = fmt.Sprintf("%d of its tokens expired never used while the client used others", unused)
	case unused == 0:
		died = fmt.Sprintf("%d of its tokens died idle (%s without use) while the client used others", idle, hours(t.Life))
	default:
		died = fmt.Sprintf("%d of its tokens expired never used and %d died idle (%s without use) while the client used others", unused, idle, hours(t.Life))
	}
	var why string
	if t.Idle {
		why = fmt.Sprintf("Before R12 (F6) a user token dies after %s without use: a pool token the client does not use within %s dies before the refresh, "+
			"and the next call with it is answered TOKEN_EXPIRED. Keep no more tokens than the client uses within %s, or refresh each token within %s of its last use.",
			hours(t.Life), hours(t.Life), hours(t.Life), hours(t.Life))
	} else {
		why = fmt.Sprintf("Here %s: a token logged in ahead and never used was a login for nothing. "+
			"Keep no more tokens than the client uses before they expire, or log a pool token in when it is first needed.", absoluteRule(t))
	}
	return fmt.Sprintf("%s keeps a pool of tokens (up to %d logged in at once, %s); %s. %s",
		who(p.principal), p.size(), refresh, died, why)
}
