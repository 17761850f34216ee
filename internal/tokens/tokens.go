// Package tokens is the mock's token store: records, lookup by value (a JWT by its
// SHA-256), presentation judgements, the per-store bound and the process-wide budget
// with second-chance eviction, the sweep of old dead tokens, listings and timelines.
// Its lock never leaves the package: callers use its methods, which copy what they
// return.
//
// The store does not know the mock's types: a record keeps an owner value O (the
// issuing release, user, unit and login, as the mock defines them) that answers the
// plain facts the store needs (Owner), and the mock gives the store the function that
// rebuilds a JWT from a record's owner and claims (Mint).
package tokens

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmmock/crmmock/internal/lint"
	"github.com/crmmock/crmmock/internal/wire"
)

// Kind tells which method issued a token.
type Kind string

const (
	KindUser     Kind = wire.KindUser     // "user": authentication/token
	KindKey      Kind = wire.KindKey      // "web_api_key": authentication/web_api_key/token
	KindConsumer Kind = wire.KindConsumer // "consumer_application_key": authentication/consumer_application_key/token (F15)
	KindDevice   Kind = wire.KindDevice   // "device_application_key": authentication/device_application_key/token (F18)
)

// State of a token at a moment of the mock's clock.
type State string

const (
	StateLive     State = wire.StateLive     // "live"
	StateExpired  State = wire.StateExpired  // "expired"
	StateReleased State = wire.StateReleased // "released"
)

// Rule is a token's expiry rule (a release's user or key rule, or a scenario's JWT
// lifetime).
type Rule struct {
	// Idle: the token is live while now < last use + After.
	// Otherwise (absolute): live while now < issue + After.
	Idle  bool
	After time.Duration
}

func (r Rule) String() string {
	if r.Idle {
		return fmt.Sprintf("%s idle", r.After)
	}
	return fmt.Sprintf("%s after issue", r.After)
}

// Owner is what a record's owner value answers: the plain facts of the login that
// issued the token. Its answers never change for a record.
type Owner interface {
	Kind() Kind
	Rule() Rule
	// Principal is the login's asker as the lint names it ("user <name>@<org>", …).
	Principal() string
	// Names are the issuing release's name and profile name, the user, the
	// organisation and the unit id.
	Names() (release, profile, user, organisation, unit string)
}

// Mint rebuilds a JWT the store issued: its owner (which knows the JWT's shape), its
// iat (Unix seconds), its life (seconds) and its jti. HS256 signatures are
// deterministic, so the token is the one issued.
type Mint[O Owner] func(o O, iat, life int64, jti [16]byte) (string, error)

// DefaultKeepDead is how many dead (expired or released) tokens the store keeps for
// the control API and the lint; older dead ones are dropped and counted.
const DefaultKeepDead = 100_000

// DefaultMaxTokens bounds the tokens one mock (the root or a sandbox) holds, and
// DefaultTokenBudget the tokens of all of a process's mocks together: at about 650 bytes
// of memory a held token, a million keeps a login flood under 1 GB. Past a bound the
// least recently used token of the issuing mock is evicted.
const (
	DefaultMaxTokens   = 1_000_000
	DefaultTokenBudget = 1_000_000
)

// OpaqueLen is the length of an opaque token (32 uppercase hex characters, F6).
const OpaqueLen = 32

// MaxOpaqueLen is the longest opaque token a scenario may shape (token.opaque_length):
// a presented value longer than it and not JWT-shaped was never an opaque token, so it
// is not hashed to look for it among evicted ones.
const MaxOpaqueLen = 512

// evictedMemory is how many evicted tokens a store remembers, to answer their
// presentation with the reason (older ones answer as never issued); stores sharing a
// budget remember that many together (see evictedSet.add).
const evictedMemory = 1 << 16

// ErrUnknown: the token was never issued, or it was revoked or dropped.
var ErrUnknown = errors.New("no such token: never issued, or revoked, or dropped")

// ErrReleased: a released token cannot be expired.
var ErrReleased = errors.New("the token was released")

// Token is one issued token as the control API and the Go API show it.
type Token struct {
	Token        string    `json:"token"`
	Kind         Kind      `json:"kind"`
	Version      string    `json:"version"`
	User         string    `json:"user"`
	Organisation string    `json:"organisation"`
	Unit         string    `json:"unit"`
	IssuedAt     time.Time `json:"issued_at"`
	LastUsedAt   time.Time `json:"last_used_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	State        State     `json:"state"`
	Rule         string    `json:"rule"`
}

const (
	flagReleased uint8 = 1 << iota // released at end
	flagExpired                    // expired early (Expire) at end
	flagRevoked                    // forgotten (Revoke) or evicted; out of the maps, in order until a sweep
	flagUsed                       // used since the eviction hand last passed (its second chance)
)

// Record is a token in the store. Times are Unix nanoseconds of the mock's clock. A
// record is kept small because suites issue many (BenchmarkMemoryPerToken): a JWT is
// not kept as its string but as its SHA-256 (the lookup key) and what rebuilds it.
// Its owner and opaque value never change, so they may be read without the lock.
type Record[O Owner] struct {
	value    string   // an opaque token; "" for a JWT (see jwt)
	jwt      *jwtPart // nil for an opaque token
	owner    O
	issued   int64
	lastUsed int64
	end      int64  // the moment of release or early expiry (flags say which)
	issueReq uint64 // the journal id of the issuing request
	ev       *events
	flags    uint8 // changes under the store's lock
}

// jwtPart is what a JWT record keeps instead of the token: the rest is the record's
// owner, issue time and the mock's secret.
type jwtPart struct {
	digest [32]byte // SHA-256 of the token: the key of Store.jwts
	jti    [16]byte
}

// Owner is the login that issued the token.
func (r *Record[O]) Owner() O { return r.owner }

// JWT reports whether the token is a JWT (kept as its digest and what rebuilds it).
func (r *Record[O]) JWT() bool { return r.jwt != nil }

// Opaque is an opaque token's value (the store's own copy); "" for a JWT.
func (r *Record[O]) Opaque() string { return r.value }

func (r *Record[O]) expiresAt() int64 {
	if r.flags&flagExpired != 0 {
		return r.end
	}
	rule := r.owner.Rule()
	if rule.Idle {
		return r.lastUsed + int64(rule.After)
	}
	return r.issued + int64(rule.After)
}

func (r *Record[O]) state(now int64) State {
	switch {
	case r.flags&flagReleased != 0:
		return StateReleased
	case now >= r.expiresAt(): // live while now < limit (docs/web-api.md)
		return StateExpired
	}
	return StateLive
}

func (r *Record[O]) public(value string, now int64) Token {
	rel, _, user, org, unit := r.owner.Names()
	return Token{
		Token: value, Kind: r.owner.Kind(), Version: rel,
		User: user, Organisation: org, Unit: unit,
		IssuedAt: nanoTime(r.issued), LastUsedAt: nanoTime(r.lastUsed), ExpiresAt: nanoTime(r.expiresAt()),
		State: r.state(now), Rule: r.owner.Rule().String(),
	}
}

func (r *Record[O]) expiryReason() string {
	if r.flags&flagExpired != 0 {
		return "expired early by the control API"
	}
	return r.owner.Rule().String()
}

func nanoTime(n int64) time.Time { return time.Unix(0, n).UTC() }

// Store holds the live tokens issued since the last reset, and the newest keepDead
// dead ones. Expiry is computed from the clock when a token is read, so moving the
// clock costs nothing however many tokens live.
//
// The clock is read under the store's lock: every judgement and listing happens at
// the clock's value at that moment, so, as the clock only moves forward, an observer
// never sees a token go back (expired → live by a late use, expired → released by a
// late release) because a request read the clock before another moved it.
//
// Dead tokens are dropped by a sweep of the whole store that runs when the store has
// grown by a quarter of its size (at least SweepMin tokens) since the last one: O(1)
// amortised per issue, never a scan per request. Between sweeps at most that many
// more dead tokens are held.
//
// The store holds at most maxTokens tokens, and the process's stores together at most
// their shared budget: past either, Add evicts a token of this store chosen by a clock
// (second chance) sweep over the issue order: a dead token at once, a live one unless
// it was used since the hand last passed. Evicted tokens are remembered (the newest
// evictedMemory) so that presenting one answers why.
type Store[O Owner] struct {
	mu        sync.Mutex
	now       func() int64 // the mock's clock, Unix nanoseconds
	mint      Mint[O]      // rebuilds JWTs
	keepDead  int
	opaque    map[string]*Record[O]
	jwts      map[[32]byte]*Record[O]
	order     []*Record[O] // issue order
	nextSweep int          // sweep when len(order) reaches it
	dropped   uint64       // dead tokens dropped since the last reset

	maxTokens   int     // 0: no bound of its own
	scenarioMax int     // the scenario's limits.max_tokens; 0: none
	budget      *Budget // shared by a root and its sandboxes; nil: none
	hand        int     // the eviction clock's position in order
	evicted     evictedSet
	why         evictReason // the reason full gave last (see reason)
}

// Budget is the process-wide bound: how many tokens all stores sharing it hold.
type Budget struct {
	limit      int64
	held       atomic.Int64
	remembered atomic.Int64 // evicted tokens the stores sharing the budget remember
}

// NewBudget is a budget of limit tokens; 0 or less: no limit.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Held is how many tokens the stores sharing b hold now.
func (b *Budget) Held() int64 { return b.held.Load() }

// Remembered is how many evicted tokens the stores sharing b remember now.
func (b *Budget) Remembered() int64 { return b.remembered.Load() }

// evictedSet remembers the newest evicted tokens by the first 16 bytes of their
// SHA-256, with the bound that evicted each.
type evictedSet struct {
	why   map[[16]byte]string
	ring  [][16]byte // oldest at next once the set replaces its own
	next  int
	count uint64 // tokens evicted since the last reset
}

// add remembers k. A set remembers at most evictedMemory tokens, and the sets sharing
// b (a root and its sandboxes) that many together, give or take one each: past either
// bound a set forgets its own oldest (a sandbox never makes another forget), and a set
// that remembers none still keeps its newest. So ~100 bytes a remembered token stay
// bounded process-wide, however many sandboxes evict.
func (e *evictedSet) add(k [16]byte, why string, b *Budget) {
	if e.why == nil {
		e.why = map[[16]byte]string{}
	}
	e.count++
	full := len(e.ring) >= evictedMemory || b != nil && len(e.ring) > 0 && b.remembered.Load() >= evictedMemory
	if full {
		delete(e.why, e.ring[e.next])
		e.ring[e.next] = k
		e.next = (e.next + 1) % len(e.ring)
		e.why[k] = why
		return
	}
	if e.next != 0 { // it replaced its own before: oldest first again, so the ring grows at its newest end
		e.ring = append(e.ring[e.next:], e.ring[:e.next]...)
		e.next = 0
	}
	e.ring = append(e.ring, k)
	e.why[k] = why
	if b != nil {
		b.remembered.Add(1)
	}
}

// clear forgets every remembered token and gives their places in b back.
func (e *evictedSet) clear(b *Budget) {
	if b != nil {
		b.remembered.Add(-int64(len(e.ring)))
	}
	*e = evictedSet{}
}

func evictedKey(value string) [16]byte {
	d := sha256.Sum256([]byte(value))
	return [16]byte(d[:16])
}

// SweepMin is the least growth of the store between two sweeps of its dead tokens.
const SweepMin = 1024

// New is an empty store on the clock now (Unix nanoseconds) that rebuilds JWTs with
// mint. It keeps DefaultKeepDead dead tokens and has no bound until Configure.
func New[O Owner](now func() int64, mint Mint[O]) *Store[O] {
	s := &Store[O]{now: now, mint: mint, keepDead: DefaultKeepDead}
	s.init()
	return s
}

// Configure sets how many dead tokens the store keeps and the bound of its own on the
// tokens it holds (0: none), and empties it. Call it before the store holds tokens.
func (s *Store[O]) Configure(keepDead, maxTokens int) {
	s.mu.Lock()
	s.keepDead, s.maxTokens = keepDead, maxTokens
	s.init()
	s.mu.Unlock()
}

// Limits are what Configure set.
func (s *Store[O]) Limits() (keepDead, maxTokens int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keepDead, s.maxTokens
}

// Join makes the store count its tokens in b (nil: none). Call it before the store
// holds tokens.
func (s *Store[O]) Join(b *Budget) {
	s.mu.Lock()
	s.budget = b
	s.mu.Unlock()
}

// Budget is the budget the store counts in (nil: none).
func (s *Store[O]) Budget() *Budget {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.budget
}

func (s *Store[O]) init() {
	if s.budget != nil {
		s.budget.held.Add(-int64(len(s.opaque) + len(s.jwts)))
	}
	s.opaque, s.jwts, s.order, s.hand = map[string]*Record[O]{}, map[[32]byte]*Record[O]{}, nil, 0
	s.nextSweep = max(SweepMin, s.keepDead+s.keepDead/4)
}

// Close gives the store's tokens (and the evicted ones it remembers) back to the budget
// and leaves it (a sandbox dropped).
func (s *Store[O]) Close() {
	s.mu.Lock()
	s.init()
	s.evicted.clear(s.budget)
	s.budget = nil
	s.mu.Unlock()
}

// AddOpaque stores the opaque token value of o, issued at issued (Unix nanoseconds).
func (s *Store[O]) AddOpaque(o O, issued int64, value string) *Record[O] {
	r := &Record[O]{value: value, owner: o, issued: issued, lastUsed: issued}
	s.add(r, value)
	return r
}

// AddJWT stores the JWT value of o, issued at issued (Unix nanoseconds, whole
// seconds), minted with jti: the store keeps its digest and rebuilds it with the
// store's Mint when it is listed.
func (s *Store[O]) AddJWT(o O, issued int64, jti [16]byte, value string) *Record[O] {
	r := &Record[O]{jwt: &jwtPart{digest: sha256.Sum256([]byte(value)), jti: jti}, owner: o, issued: issued, lastUsed: issued}
	s.add(r, value)
	return r
}

func (s *Store[O]) add(r *Record[O], value string) {
	s.mu.Lock()
	if r.jwt != nil {
		s.jwts[r.jwt.digest] = r
	} else {
		s.opaque[value] = r
	}
	s.order = append(s.order, r)
	if s.budget != nil {
		s.budget.held.Add(1)
	}
	if len(s.order) >= s.nextSweep {
		s.sweep(s.now())
	}
	for why := s.full(); why != "" && s.evict(why); why = s.full() {
	}
	s.mu.Unlock()
}

// full names the bound the store is past ("" when it is within both). The shared
// budget evicts only from a store that holds more than the token just added, so a
// store never evicts another's tokens and each holds at least one.
func (s *Store[O]) full() string {
	held := len(s.opaque) + len(s.jwts)
	switch {
	case s.scenarioMax > 0 && held > s.scenarioMax && (s.maxTokens <= 0 || s.scenarioMax < s.maxTokens):
		return s.reason("scenario limits.max_tokens", int64(s.scenarioMax))
	case s.maxTokens > 0 && held > s.maxTokens:
		return s.reason("--max-tokens", int64(s.maxTokens))
	case s.budget != nil && s.budget.limit > 0 && s.budget.held.Load() > s.budget.limit && held > 1:
		return s.reason("--token-budget", s.budget.limit)
	}
	return ""
}

// reason is the eviction reason of the bound named by what, at n. It is formatted once
// while the bound stays the same, so the tokens it evicts are remembered by one string
// (not a copy each: half of what a remembered token costs) and an eviction formats
// nothing.
func (s *Store[O]) reason(what string, n int64) string {
	if w := &s.why; w.text == "" || w.what != what || w.n != n {
		*w = evictReason{what, n, fmt.Sprintf("%s (%s %d)", lint.EvictedReason, what, n)}
	}
	return s.why.text
}

// evictReason is the last eviction reason a store formatted, and of which bound.
type evictReason struct {
	what string
	n    int64
	text string
}

// SetScenarioMax sets the scenario's own bound (limits.max_tokens); a store already
// past it evicts down to it at the next issue.
func (s *Store[O]) SetScenarioMax(n int) {
	s.mu.Lock()
	s.scenarioMax = n
	s.mu.Unlock()
}

// evict forgets one token by the second-chance clock: the hand walks the issue order
// (never onto the newest token, just added), drops a dead token at once, spares a live
// one used since its last pass (clearing the mark) and evicts the first that was not.
// It reads the clock once: its states are those of one moment.
func (s *Store[O]) evict(why string) bool {
	n := len(s.order) - 1 // the newest is the token being added
	now := s.now()
	for range 2*n + 1 {
		if s.hand >= n {
			s.hand = 0
		}
		r := s.order[s.hand]
		s.hand++
		switch {
		case r.flags&flagRevoked != 0:
			continue
		case r.flags&flagUsed != 0 && r.state(now) == StateLive:
			r.flags &^= flagUsed
			continue
		}
		s.forget(r)
		r.flags |= flagRevoked
		if r.jwt != nil {
			s.evicted.add([16]byte(r.jwt.digest[:16]), why, s.budget)
		} else {
			s.evicted.add(evictedKey(r.value), why, s.budget)
		}
		return true
	}
	return false
}

// EvictedWhy is the reason a token was evicted, or "" when it was not (or so long ago
// that the store no longer remembers it). d is the value's digest when it has a JWT's
// shape (KeyOf); other values are looked for only when they have an opaque token's
// length, so a presented garbage token is never hashed (nor copied) here.
func (s *Store[O]) EvictedWhy(value string, d *[32]byte) string {
	var k [16]byte
	switch {
	case d != nil:
		k = [16]byte(d[:16])
	case len(value) <= MaxOpaqueLen:
		k = evictedKey(value)
	default:
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evicted.why[k]
}

// sweep drops the oldest dead tokens beyond keepDead (and revoked ones from order).
func (s *Store[O]) sweep(now int64) {
	dead := 0
	for _, r := range s.order {
		if r.flags&flagRevoked == 0 && r.state(now) != StateLive {
			dead++
		}
	}
	drop := dead - s.keepDead
	k := 0
	for _, r := range s.order {
		if r.flags&flagRevoked != 0 {
			continue
		}
		if drop > 0 && r.state(now) != StateLive {
			s.forget(r)
			s.dropped++
			drop--
			continue
		}
		s.order[k] = r
		k++
	}
	clear(s.order[k:])
	s.order = s.order[:k]
	s.hand = 0
	if cap(s.order) > 4*k+SweepMin { // give back a slice that once held many more
		s.order = slices.Clip(slices.Clone(s.order))
	}
	s.nextSweep = k + max(SweepMin, s.keepDead/4, k/4)
}

// forget takes r out of the lookup maps (and gives its place in the budget back).
func (s *Store[O]) forget(r *Record[O]) {
	if r.jwt != nil {
		delete(s.jwts, r.jwt.digest)
	} else {
		delete(s.opaque, r.value)
	}
	if s.budget != nil {
		s.budget.held.Add(-1)
	}
}

// lookup finds a token by its exact value; the caller holds s.mu. A JWT is found by
// its SHA-256 (digest, computed outside the lock by KeyOf).
func (s *Store[O]) lookup(value string, d *[32]byte) *Record[O] {
	if d != nil {
		return s.jwts[*d]
	}
	return s.opaque[value]
}

// KeyOf is the digest of a value that has a JWT's shape, else nil.
func KeyOf(value string) *[32]byte {
	if strings.Count(value, ".") != 2 {
		return nil
	}
	d := sha256.Sum256([]byte(value))
	return &d
}

// Presentation is what a token's presentation does when the token is live.
type Presentation uint8

const (
	Check   Presentation = iota // nothing
	Use                         // a use: restarts an idle rule's hour
	Release                     // a release
)

// Verdict is a presented token's judgement.
type Verdict uint8

const (
	Accepted Verdict = iota // live: the presentation was applied
	Released                // released before (Judgement.Text says when)
	Expired                 // expired (Judgement.Text says when and by which rule)
)

// Judgement is a presented token's verdict and, when it is refused, the reason.
type Judgement struct {
	Verdict Verdict
	Text    string // "token: released at …", "token: expired at … (1h0m0s idle)"; "" when accepted
}

// Present judges a presented token now and, when live, applies p. It returns the
// record (also when the token is expired or released, for its timeline), the moment
// of the judgement and the judgement. found is false when the store has no such token
// (the caller says why). d is KeyOf(value).
func (s *Store[O]) Present(value string, d *[32]byte, p Presentation) (r *Record[O], at int64, j Judgement, found bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r = s.lookup(value, d)
	if r == nil {
		return nil, now, j, false
	}
	switch r.state(now) {
	case StateReleased:
		if p == Release {
			return r, now, Judgement{Released, "token: already released at " + nanoTime(r.end).Format(time.RFC3339Nano)}, true
		}
		return r, now, Judgement{Released, "token: released at " + nanoTime(r.end).Format(time.RFC3339Nano)}, true
	case StateExpired:
		return r, now, Judgement{Expired, "token: expired at " + nanoTime(r.expiresAt()).Format(time.RFC3339Nano) + " (" + r.expiryReason() + ")"}, true
	}
	switch p {
	case Use:
		if now > r.lastUsed {
			r.lastUsed = now
		}
		r.flags |= flagUsed
	case Release:
		r.flags |= flagReleased
		r.end = now
	}
	return r, now, j, true
}

// Value is a record's token: kept for an opaque token, rebuilt for a JWT ("" if it
// cannot be).
func (s *Store[O]) Value(r *Record[O]) string {
	if r.jwt == nil {
		return r.value
	}
	v, err := s.mint(r.owner, r.issued/int64(time.Second), int64(r.owner.Rule().After/time.Second), r.jwt.jti)
	if err != nil {
		return ""
	}
	return v
}

// Get is a held token's fields now.
func (s *Store[O]) Get(value string) (Token, bool) {
	d := KeyOf(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookup(value, d)
	if r == nil {
		return Token{}, false
	}
	return r.public(value, s.now()), true
}

// Held is how many tokens the store holds (live or dead).
func (s *Store[O]) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.opaque) + len(s.jwts)
}

// Dropped is how many dead tokens were dropped since the last reset.
func (s *Store[O]) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Holding is the record of a token the store holds, or nil. Its owner never changes,
// so it may be read without the lock.
func (s *Store[O]) Holding(value string) *Record[O] {
	d := KeyOf(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookup(value, d)
}

// Reset forgets every token and the dropped and evicted counts.
func (s *Store[O]) Reset() {
	s.mu.Lock()
	s.init()
	s.dropped = 0
	s.evicted.clear(s.budget)
	s.mu.Unlock()
}

// Expire makes a live token expire now (ErrUnknown, ErrReleased).
func (s *Store[O]) Expire(value string) error {
	d := KeyOf(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookup(value, d)
	if r == nil {
		return ErrUnknown
	}
	now := s.now()
	switch r.state(now) {
	case StateReleased:
		return ErrReleased
	case StateExpired:
		return nil // already: its moment stays
	}
	r.flags |= flagExpired
	r.end = now
	return nil
}

// Revoke forgets a token: INVALID_TOKEN from now on, as after a server restart.
func (s *Store[O]) Revoke(value string) error {
	d := KeyOf(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookup(value, d)
	if r == nil {
		return ErrUnknown
	}
	s.forget(r)
	r.flags |= flagRevoked
	return nil
}

// RevokeAll forgets every token (the dropped count stays).
func (s *Store[O]) RevokeAll() {
	s.mu.Lock()
	s.init()
	s.mu.Unlock()
}
