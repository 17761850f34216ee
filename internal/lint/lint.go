// Package lint judges a client's token handling from what a mock saw: its request
// journal and its token store. Each rule is one value (Rule: id, severity, doc, one
// function over the Input); Run applies a set of them and returns a Report. Adding a
// rule is adding a value to Rules; Run never changes.
//
// The input is plain data (the mock builds it), so the rules know nothing of HTTP or
// of the mock's types, and every rule is tested beside its file with a client that
// fires it and a near miss that must not.
package lint

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmmock/crmmock/internal/wire"
)

// Severity of a rule and of its findings.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Severities lists the severities, worst first.
var Severities = []Severity{Error, Warning, Info}

func (s Severity) rank() int {
	switch s {
	case Error:
		return 3
	case Warning:
		return 2
	case Info:
		return 1
	}
	return 0
}

// AtLeast reports whether s is as bad as t or worse.
func (s Severity) AtLeast(t Severity) bool { return s.rank() >= t.rank() && s.rank() > 0 }

// ParseSeverity reads error, warning or info.
func ParseSeverity(s string) (Severity, error) {
	for _, v := range Severities {
		if strings.EqualFold(s, string(v)) {
			return v, nil
		}
	}
	return "", fmt.Errorf("unknown severity %q (want error, warning or info)", s)
}

// Entry is one journaled Web API request.
type Entry struct {
	ID        uint64
	Time      time.Time // the mock's clock
	Method    string
	Path      string
	Operation string // authentication/token, …/release, <resource>[/<sub>…]/<action>; empty when unrouted
	Status    int
	// Code is status.code as answered (a scenario may have replaced it);
	// CatalogueCode is the mock's own code for the same answer, which the rules judge
	// on (empty: Code is the catalogue code).
	Code, CatalogueCode string
	Message             string // status.message as answered (empty on OK)
	Description         string
	Release, Profile    string // the release emulated at that time and its profile (pre-R10, R10, R12)
	Token               string // presented, verbatim (the mock cuts it at 512 characters)
	Issued              string // the token this request issued
	Principal           string // on a login: "user <name>@<org>" or "key …<last 4>"
	Misplaced           string // where an issued token came when the contract's place had none
	Fault               string // the fault that answered
	Violations          []string
	// Lenient: what the request was accepted for only by leniency (F20), each "kind" or
	// "kind: detail" (LenientMediaTypeCase, LenientNullField, LenientBasicNoColon).
	Lenient []string
}

// Judged is the catalogue code of the answer: what the rules judge on.
func (e *Entry) Judged() string {
	if e.CatalogueCode != "" {
		return e.CatalogueCode
	}
	return e.Code
}

// Token is one issued token as the store knows it at Input.Now.
type Token struct {
	Value     string
	Kind      string // wire.KindUser, KindKey, wire.KindConsumer or wire.KindDevice
	Principal string // as Entry.Principal
	Profile   string // the profile of the release that issued it (its rule stays that one)
	Idle      bool   // the idle rule (live while now < last use + Life); else absolute (issue + Life)
	Life      time.Duration
	IssuedAt  time.Time
	ExpiresAt time.Time
	State     string // wire.StateLive, wire.StateExpired or wire.StateReleased
	// IssueRequest is the journal id of the login that issued it (0: unknown).
	IssueRequest uint64
	// Uses counts accepted presentations to other Web API methods; LastUsed is the
	// latest (IssuedAt when never used).
	Uses     int
	LastUsed time.Time
	// ReleasedAt and ReleaseRequest say when it was released (zero: never).
	ReleasedAt     time.Time
	ReleaseRequest uint64
}

// Input is what the rules judge: the journal (oldest first), the tokens (issue order),
// the mock's clock and release.
type Input struct {
	Entries []Entry
	Tokens  []Token
	Now     time.Time
	Release string
	Profile string

	byValue      map[string]*Token
	expiries     []activeExpiry
	expiriesDone bool
	poolMap      map[string]*pool
	poolsDone    bool
}

// token finds an issued token by value.
func (in *Input) token(v string) *Token {
	if in.byValue == nil {
		in.byValue = make(map[string]*Token, len(in.Tokens))
		for i := range in.Tokens {
			in.byValue[in.Tokens[i].Value] = &in.Tokens[i]
		}
	}
	return in.byValue[v]
}

// Finding is one thing a rule found, pointing at the journal entries behind it.
type Finding struct {
	Rule     string    `json:"rule"`
	Severity string    `json:"severity"` // error, warning, info
	Message  string    `json:"message"`
	Count    int       `json:"count"`
	First    time.Time `json:"first"` // mock time of the first request (or token) involved
	Last     time.Time `json:"last"`
	// Requests are journal ids: all of them up to MaxRequests, else the first and the
	// last MaxRequests/2.
	Requests []uint64 `json:"requests"`
	Token    string   `json:"token,omitempty"`
}

// MaxRequests caps Finding.Requests (Count keeps the full number).
const MaxRequests = 20

// Report is the findings, worst first, and how many there are of each severity.
type Report struct {
	Findings []Finding      `json:"findings"`
	Summary  map[string]int `json:"summary"` // error, warning, info: how many findings of each

}

// Worst is the highest severity found ("" with no findings).
func (r Report) Worst() Severity {
	var w Severity
	for _, f := range r.Findings {
		if s := Severity(f.Severity); s.rank() > w.rank() {
			w = s
		}
	}
	return w
}

// Fails reports whether a finding at or above s exists (crmmock lint --fail-on).
func (r Report) Fails(s Severity) bool {
	w := r.Worst()
	return w != "" && w.AtLeast(s)
}

// Rule is one check: its id, the severity of its findings, the text a user reads
// (the first line says what to do) and the function that finds.
type Rule struct {
	ID       string
	Severity Severity
	Doc      string
	Check    func(*Input) []Finding
}

// Rules are every rule, in the order of the rule table in docs/lint.md.
var Rules = []*Rule{
	TruncatedToken,
	ExpiredTokenReused,
	IdleRuleAssumed,
	ReleasedTokenUsed,
	TokenMisplaced,
	ContractViolation,
	LoginPerRequest,
	MethodNotInRelease,
	NeverReleased,
	DeprecatedReleaseUsed,
	ActiveTokenExpired,
	MessageAsToken,
	PooledTokensIdle,
	TokenEvicted,
	LenientRequest,
}

// Run applies rules (all of Rules when none are given) to in. Findings come worst
// first, then in rule order, then by their first request.
func Run(in *Input, rules ...*Rule) Report {
	if len(rules) == 0 {
		rules = Rules
	}
	rep := Report{Findings: []Finding{}, Summary: map[string]int{string(Error): 0, string(Warning): 0, string(Info): 0}}
	order := make(map[string]int, len(rules))
	for i, r := range rules {
		order[r.ID] = i
		for _, f := range r.Check(in) {
			f.Rule, f.Severity = r.ID, string(r.Severity)
			if f.Requests == nil {
				f.Requests = []uint64{}
			}
			rep.Findings = append(rep.Findings, f)
			rep.Summary[string(r.Severity)]++
		}
	}
	slices.SortStableFunc(rep.Findings, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(Severity(b.Severity).rank(), Severity(a.Severity).rank()),
			cmp.Compare(order[a.Rule], order[b.Rule]),
			a.First.Compare(b.First),
			cmp.Compare(firstID(a), firstID(b)),
		)
	})
	return rep
}

func firstID(f Finding) uint64 {
	if len(f.Requests) == 0 {
		return 0
	}
	return f.Requests[0]
}

// group gathers the entries behind one finding: count, first/last time, ids (capped).
type group struct {
	count       int
	first, last time.Time
	head        []uint64                // the first MaxRequests ids
	ring        [MaxRequests / 2]uint64 // the last MaxRequests/2 ids
	ids         int                     // ids seen
	token       string
	sample      *Entry // the first entry, for the message
}

func (g *group) add(id uint64, t time.Time) {
	if g.count == 0 || t.Before(g.first) {
		g.first = t
	}
	if g.count == 0 || t.After(g.last) {
		g.last = t
	}
	g.count++
	if id == 0 { // a token whose login is not known: counted, pointing nowhere
		return
	}
	if len(g.head) < MaxRequests {
		g.head = append(g.head, id)
	}
	g.ring[g.ids%len(g.ring)] = id
	g.ids++
}

// requests is every id up to MaxRequests, else the first and the last MaxRequests/2.
func (g *group) requests() []uint64 {
	if g.ids <= MaxRequests {
		return g.head
	}
	out := append([]uint64{}, g.head[:MaxRequests/2]...)
	for i := range len(g.ring) {
		out = append(out, g.ring[(g.ids+i)%len(g.ring)])
	}
	return out
}

func (g *group) finding(msg string) Finding {
	return Finding{Message: msg, Count: g.count, First: g.first, Last: g.last, Requests: g.requests(), Token: g.token}
}

// groups keeps groups in the order their keys first appeared.
type groups struct {
	byKey map[string]*group
	order []*group
}

func (gs *groups) get(key string) (*group, bool) {
	if g, ok := gs.byKey[key]; ok {
		return g, false
	}
	if gs.byKey == nil {
		gs.byKey = map[string]*group{}
	}
	g := &group{}
	gs.byKey[key] = g
	gs.order = append(gs.order, g)
	return g, true
}

// note counts e in its key's group, e being the sample of a new group; fresh reports a
// new group (for the caller to name its token).
func (gs *groups) note(key string, e *Entry) (g *group, fresh bool) {
	g, fresh = gs.get(key)
	if fresh {
		g.sample = e
	}
	g.add(e.ID, e.Time)
	return g, fresh
}

// short is a token as messages show it: its last 8 characters, as the mock's log
// lines show it (a JWT's first characters are the same for every token).
func short(v string) string {
	if len(v) <= 12 {
		return v
	}
	return "…" + v[len(v)-8:]
}

// times says "once", "twice", "n times".
func times(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}

// plural says "1 token" / "n tokens".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// stamp is a mock time in messages.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// hours is a token life in messages: "2 h", "1 h", "90 min".
func hours(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d h", d/time.Hour)
	}
	return fmt.Sprintf("%d min", d/time.Minute)
}

// who names a principal in messages.
func who(p string) string {
	if p == "" {
		return "the client"
	}
	return p
}

// absoluteRule cites the release rule an absolute-rule token lives by.
func absoluteRule(t *Token) string {
	fact, since, whose := absoluteFact(t)
	return fmt.Sprintf("from %s (%s) %s dies %s after issue, used or not", since, fact, whose, hours(t.Life))
}

// absoluteFact is the fact an absolute-rule token lives by, the release it holds from
// and the tokens it is about.
func absoluteFact(t *Token) (fact, since, whose string) {
	switch {
	case t.Kind == wire.KindConsumer:
		return "F15", "R15", "a consumer application key token"
	case t.Kind == wire.KindDevice:
		return "F18", "R15", "a device application key token"
	case t.Kind == wire.KindKey && t.Profile != wire.ProfileR12:
		return "F7", "R10", "a Web API key token"
	}
	return "F9", "R12", "every token"
}
