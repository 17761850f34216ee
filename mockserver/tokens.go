package mockserver

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmmock/crmmock/internal/lint"
)

// Kind tells which method issued a token.
type Kind string

const (
	KindUser     Kind = "user"                     // authentication/token
	KindKey      Kind = "web_api_key"              // authentication/web_api_key/token
	KindConsumer Kind = "consumer_application_key" // authentication/consumer_application_key/token (F15)
	KindDevice   Kind = "device_application_key"   // authentication/device_application_key/token (F18)
)

// State of a token at a moment of the mock's clock.
type State string

const (
	StateLive     State = "live"
	StateExpired  State = "expired"
	StateReleased State = "released"
)

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

// evictedMemory is how many evicted tokens a store remembers, to answer their
// presentation with the reason (older ones answer as never issued).
const evictedMemory = 1 << 16

// ErrUnknownToken: the token was never issued, or it was revoked or dropped.
var ErrUnknownToken = errors.New("no such token: never issued, or revoked, or dropped")

// ErrTokenReleased: a released token cannot be expired.
var ErrTokenReleased = errors.New("the token was released")

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
	flagExpired                    // expired early (ExpireToken) at end
	flagRevoked                    // forgotten (RevokeToken) or evicted; out of the maps, in order until a sweep
	flagUsed                       // used since the eviction hand last passed (its second chance)
)

// record is a token in the store. Times are Unix nanoseconds of the mock's clock. A
// record is kept small because suites issue many (BenchmarkMemoryPerToken): a JWT is
// not kept as its string but as its SHA-256 (the lookup key) and what rebuilds it.
type record struct {
	value    string   // an opaque token; "" for a JWT (see jwt)
	jwt      *jwtPart // nil for an opaque token
	rel      *Release // the issuing release: version, profile, rule
	user     *user
	key      *apiKey   // the key of a web_api_key token; nil otherwise
	app      *appLogin // a consumer or device token's login; nil otherwise
	unit     *unit
	issued   int64
	lastUsed int64
	end      int64  // the moment of release or early expiry (flags say which)
	issueReq uint64 // the journal id of the issuing request
	ev       *tokenEvents
	flags    uint8 // changes under the store's lock
}

// jwtPart is what a JWT record keeps instead of the token: the rest is the record's
// user, unit, issue time and the mock's secret (HS256 signatures are deterministic).
type jwtPart struct {
	digest [32]byte // SHA-256 of the token: the key of store.jwts
	jti    [16]byte
	shape  *jwtShape // claim order, date type, lifetime: the issuing world's
}

// appLogin is what a key token was issued for: its kind, its key, and what its JWT
// claims (F16: cii and acr, from the access token) are rebuilt from. A Web API key's is
// built once, with the key (apiKey.login): a record holds one pointer whatever its kind.
type appLogin struct {
	kind    Kind
	key     *apiKey        // web_api_key tokens
	at      *accessToken   // consumer tokens
	ckey    *consumerKey   // the consumer application key sent, if any
	item    *installedItem // device tokens
	arClaim string         // "acr" or "ari" (scenario jwt.accounts_receivable_claim)
}

func (r *record) kind() Kind {
	if r.app != nil {
		return r.app.kind
	}
	return KindUser
}

// rule is the token's expiry rule: a user token's is the release's user rule; every
// key's (Web API, consumer and device application keys) the key rule (2 h absolute).
func (r *record) rule() ExpiryRule {
	if r.jwt != nil && r.jwt.shape != nil && r.jwt.shape.life > 0 { // a scenario's jwt.lifetime
		return ExpiryRule{After: r.jwt.shape.life}
	}
	if r.app != nil {
		return r.rel.Profile.KeyRule
	}
	return r.rel.Profile.UserRule
}

func (r *record) expiresAt() int64 {
	if r.flags&flagExpired != 0 {
		return r.end
	}
	rule := r.rule()
	if rule.Idle {
		return r.lastUsed + int64(rule.After)
	}
	return r.issued + int64(rule.After)
}

func (r *record) state(now int64) State {
	switch {
	case r.flags&flagReleased != 0:
		return StateReleased
	case now >= r.expiresAt(): // live while now < limit (INTERFACE §2)
		return StateExpired
	}
	return StateLive
}

func (r *record) principal() string {
	if r.app != nil {
		return r.app.principal()
	}
	return userPrincipal(r.user.username, r.user.org.name)
}

func (r *record) public(value string, now int64) Token {
	return Token{
		Token: value, Kind: r.kind(), Version: r.rel.Name,
		User: r.user.username, Organisation: r.user.org.name, Unit: r.unit.id,
		IssuedAt: nanoTime(r.issued), LastUsedAt: nanoTime(r.lastUsed), ExpiresAt: nanoTime(r.expiresAt()),
		State: r.state(now), Rule: r.rule().String(),
	}
}

func nanoTime(n int64) time.Time { return time.Unix(0, n).UTC() }

// store holds the live tokens issued since the last reset, and the newest keepDead
// dead ones. Expiry is computed from the clock when a token is read, so moving the
// clock costs nothing however many tokens live.
//
// The clock is read under the store's lock: every judgement and listing happens at
// the clock's value at that moment, so, as the clock only moves forward, an observer
// never sees a token go back (expired → live by a late use, expired → released by a
// late release) because a request read the clock before another moved it.
//
// Dead tokens are dropped by a sweep of the whole store that runs when the store has
// grown by a quarter of its size (at least sweepMin tokens) since the last one: O(1)
// amortised per issue, never a scan per request. Between sweeps at most that many
// more dead tokens are held.
//
// The store holds at most maxTokens tokens, and the process's mocks together at most
// their shared budget: past either, add evicts a token of this store chosen by a clock
// (second chance) sweep over the issue order: a dead token at once, a live one unless
// it was used since the hand last passed. Evicted tokens are remembered (the newest
// evictedMemory) so that presenting one answers why.
type store struct {
	mu        sync.Mutex
	now       func() int64 // the mock's clock, Unix nanoseconds
	secret    []byte       // rebuilds JWTs
	keepDead  int
	opaque    map[string]*record
	jwts      map[[32]byte]*record
	order     []*record // issue order
	nextSweep int       // sweep when len(order) reaches it
	dropped   uint64    // dead tokens dropped since the last reset

	maxTokens   int          // 0: no bound of its own (Options.MaxTokens)
	scenarioMax int          // the scenario's limits.max_tokens; 0: none
	budget      *tokenBudget // shared by a root and its sandboxes; nil: none
	hand        int          // the eviction clock's position in order
	evicted     evictedSet
}

// tokenBudget is the process-wide bound: how many tokens all stores sharing it hold.
type tokenBudget struct {
	limit int64
	held  atomic.Int64
}

// evictedSet remembers the newest evicted tokens by the first 16 bytes of their
// SHA-256, with the bound that evicted each.
type evictedSet struct {
	why   map[[16]byte]string
	ring  [][16]byte
	next  int
	count uint64 // tokens evicted since the last reset
}

func (e *evictedSet) add(k [16]byte, why string) {
	if e.why == nil {
		e.why = map[[16]byte]string{}
	}
	if len(e.ring) < evictedMemory {
		e.ring = append(e.ring, k)
	} else {
		delete(e.why, e.ring[e.next])
		e.ring[e.next] = k
		e.next = (e.next + 1) % evictedMemory
	}
	e.why[k] = why
	e.count++
}

func evictedKey(value string) [16]byte {
	d := sha256.Sum256([]byte(value))
	return [16]byte(d[:16])
}

const sweepMin = 1024

func newStore(now func() int64) *store {
	s := &store{now: now, keepDead: DefaultKeepDead}
	s.init()
	return s
}

func (s *store) init() {
	if s.budget != nil {
		s.budget.held.Add(-int64(len(s.opaque) + len(s.jwts)))
	}
	s.opaque, s.jwts, s.order, s.hand = map[string]*record{}, map[[32]byte]*record{}, nil, 0
	s.nextSweep = max(sweepMin, s.keepDead+s.keepDead/4)
}

// close gives the store's tokens back to the budget and leaves it (a sandbox dropped).
func (s *store) close() {
	s.mu.Lock()
	s.init()
	s.budget = nil
	s.mu.Unlock()
}

// add stores r as the token value.
func (s *store) add(r *record, value string) {
	var d [32]byte
	if r.jwt != nil {
		d = sha256.Sum256([]byte(value))
		r.jwt.digest = d
	} else {
		r.value = value
	}
	s.mu.Lock()
	if r.jwt != nil {
		s.jwts[d] = r
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
func (s *store) full() string {
	held := len(s.opaque) + len(s.jwts)
	switch {
	case s.scenarioMax > 0 && held > s.scenarioMax && (s.maxTokens <= 0 || s.scenarioMax < s.maxTokens):
		return fmt.Sprintf("%s (scenario limits.max_tokens %d)", lint.EvictedReason, s.scenarioMax)
	case s.maxTokens > 0 && held > s.maxTokens:
		return fmt.Sprintf("%s (--max-tokens %d)", lint.EvictedReason, s.maxTokens)
	case s.budget != nil && s.budget.limit > 0 && s.budget.held.Load() > s.budget.limit && held > 1:
		return fmt.Sprintf("%s (--token-budget %d)", lint.EvictedReason, s.budget.limit)
	}
	return ""
}

// setScenarioMax sets the scenario's own bound (limits.max_tokens); a store already past
// it evicts down to it at the next issue.
func (s *store) setScenarioMax(n int) {
	s.mu.Lock()
	s.scenarioMax = n
	s.mu.Unlock()
}

// evict forgets one token by the second-chance clock: the hand walks the issue order
// (never onto the newest token, just added), drops a dead token at once, spares a live
// one used since its last pass (clearing the mark) and evicts the first that was not.
func (s *store) evict(why string) bool {
	n := len(s.order) - 1 // the newest is the token being added
	for range 2*n + 1 {
		if s.hand >= n {
			s.hand = 0
		}
		r := s.order[s.hand]
		s.hand++
		switch {
		case r.flags&flagRevoked != 0:
			continue
		case r.flags&flagUsed != 0 && r.state(s.now()) == StateLive:
			r.flags &^= flagUsed
			continue
		}
		s.forget(r)
		r.flags |= flagRevoked
		if r.jwt != nil {
			s.evicted.add([16]byte(r.jwt.digest[:16]), why)
		} else {
			s.evicted.add(evictedKey(r.value), why)
		}
		return true
	}
	return false
}

// evictedWhy is the reason a token was evicted, or "" when it was not (or so long ago
// that the store no longer remembers it). d is the value's digest when it has a JWT's
// shape (keyOf); other values are looked for only when they have an opaque token's
// length, so a presented garbage token is never hashed (nor copied) here.
func (s *store) evictedWhy(value string, d *[32]byte) string {
	var k [16]byte
	switch {
	case d != nil:
		k = [16]byte(d[:16])
	case len(value) == opaqueLen:
		k = evictedKey(value)
	default:
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evicted.why[k]
}

// opaqueLen is the length of an opaque token (randomHex, F6).
const opaqueLen = 32

// sweep drops the oldest dead tokens beyond keepDead (and revoked ones from order).
func (s *store) sweep(now int64) {
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
	if cap(s.order) > 4*k+sweepMin { // give back a slice that once held many more
		s.order = slices.Clip(slices.Clone(s.order))
	}
	s.nextSweep = k + max(sweepMin, s.keepDead/4, k/4)
}

// forget takes r out of the lookup maps (and gives its place in the budget back).
func (s *store) forget(r *record) {
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
// its SHA-256 (digest, computed outside the lock by keyOf).
func (s *store) lookup(value string, d *[32]byte) *record {
	if d != nil {
		return s.jwts[*d]
	}
	return s.opaque[value]
}

// keyOf is the digest of a value that has a JWT's shape, else nil.
func keyOf(value string) *[32]byte {
	if strings.Count(value, ".") != 2 {
		return nil
	}
	d := sha256.Sum256([]byte(value))
	return &d
}

// presentation is what a token's presentation does when the token is live.
type presentation uint8

const (
	presentCheck   presentation = iota // nothing
	presentUse                         // a use: restarts an idle rule's hour
	presentRelease                     // a release
)

// present judges a presented token now and, when live, applies p. It returns the
// record (also when the token is expired or released, for its timeline), the moment
// of the judgement, and the error to answer. found is false when the store has no
// such token (the caller says why).
func (s *store) present(value string, d *[32]byte, p presentation) (r *record, at int64, aerr *apiError, found bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r = s.lookup(value, d)
	if r == nil {
		return nil, now, nil, false
	}
	switch r.state(now) {
	case StateReleased:
		if p == presentRelease {
			return r, now, errorf(CodeTokenReleased, "token: already released at %s", nanoTime(r.end).Format(time.RFC3339Nano)).classed(ClassReleasedToken), true
		}
		return r, now, errorf(CodeTokenReleased, "token: released at %s", nanoTime(r.end).Format(time.RFC3339Nano)).classed(ClassReleasedToken), true
	case StateExpired:
		return r, now, errorf(CodeTokenExpired, "token: expired at %s (%s)", nanoTime(r.expiresAt()).Format(time.RFC3339Nano), r.expiryReason()).classed(ClassExpiredToken), true
	}
	switch p {
	case presentUse:
		if now > r.lastUsed {
			r.lastUsed = now
		}
		r.flags |= flagUsed
	case presentRelease:
		r.flags |= flagReleased
		r.end = now
	}
	return r, now, nil, true
}

func (r *record) expiryReason() string {
	if r.flags&flagExpired != 0 {
		return "expired early by the control API"
	}
	return r.rule().String()
}

// value is a record's token: kept for an opaque token, rebuilt for a JWT.
func (s *store) value(r *record) string {
	if r.jwt == nil {
		return r.value
	}
	v, err := mintJWT(s.secret, r.user, r.unit, r.issued/int64(time.Second), int64(r.rule().After/time.Second), r.jwt.jti, r.jwt.shape, r.app)
	if err != nil {
		return ""
	}
	return v
}

// held is the records in issue order, without revoked ones. The fields that rebuild a
// JWT never change, so the caller may rebuild values outside the lock.
func (s *store) held() ([]*record, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*record, 0, len(s.order))
	for _, r := range s.order {
		if r.flags&flagRevoked == 0 {
			out = append(out, r)
		}
	}
	return out, s.now()
}

func (s *store) list() []Token { return s.listFiltered(TokenFilter{}).Tokens }

// TokenFilter selects tokens (Mock.TokensFiltered, GET /__admin/tokens). The zero
// value selects every held token.
type TokenFilter struct {
	State State // only the tokens in this state now; "": any
	Limit int   // only the newest Limit (by issue) of those; 0: all
}

// TokenCounts is how many held tokens are in each state.
type TokenCounts struct {
	Live     int `json:"live"`
	Expired  int `json:"expired"`
	Released int `json:"released"`
}

// TokenList is a token listing at one moment of the mock's clock.
type TokenList struct {
	Tokens  []Token     `json:"tokens"`  // the selected tokens, in issue order
	Counts  TokenCounts `json:"counts"`  // every held token by state, whatever the filter
	Dropped uint64      `json:"dropped"` // dead tokens dropped since the last reset
	// Evicted is how many tokens were evicted since the last reset because the store
	// was full (Options.MaxTokens, Options.TokenBudget); like dropped ones, they are no
	// longer held.
	Evicted uint64 `json:"evicted"`
}

// parseTokenFilter reads ?limit ?state (GET /__admin/tokens); the error names the
// parameter.
func parseTokenFilter(q map[string][]string) (TokenFilter, error) {
	var f TokenFilter
	if v, ok := q["limit"]; ok && len(v) > 0 {
		n, err := parseLimit(v[0])
		if err != nil {
			return f, err
		}
		f.Limit = n
	}
	if v, ok := q["state"]; ok && len(v) > 0 {
		switch st := State(v[0]); st {
		case StateLive, StateExpired, StateReleased:
			f.State = st
		default:
			return f, fmt.Errorf("state: %q is not live, expired or released", v[0])
		}
	}
	return f, nil
}

// listFiltered lists the tokens f selects and counts every held one, all at one
// moment. Counting reads states only; only the selected JWTs are rebuilt (a signature
// each), outside the lock (the fields that rebuild a JWT never change).
func (s *store) listFiltered(f TokenFilter) TokenList {
	var l TokenList
	var picked []*record // newest first
	s.mu.Lock()
	now := s.now()
	if f.State == "" {
		n := len(s.order)
		if f.Limit > 0 {
			n = min(n, f.Limit)
		}
		l.Tokens, picked = make([]Token, 0, n), make([]*record, 0, n)
	}
	for i := len(s.order) - 1; i >= 0; i-- {
		r := s.order[i]
		if r.flags&flagRevoked != 0 {
			continue
		}
		st := r.state(now)
		switch st {
		case StateLive:
			l.Counts.Live++
		case StateExpired:
			l.Counts.Expired++
		case StateReleased:
			l.Counts.Released++
		}
		if (f.State == "" || st == f.State) && (f.Limit <= 0 || len(picked) < f.Limit) {
			l.Tokens = append(l.Tokens, r.public("", now))
			picked = append(picked, r)
		}
	}
	l.Dropped = s.dropped
	l.Evicted = s.evicted.count
	s.mu.Unlock()
	if l.Tokens == nil {
		l.Tokens = []Token{}
	}
	slices.Reverse(l.Tokens)
	slices.Reverse(picked)
	for i, r := range picked {
		l.Tokens[i].Token = s.value(r)
	}
	return l
}

// stream writes the listing f selects as JSON (the TokenList shape, byte for byte as
// json.Marshal writes it) to w. It selects and counts under the lock at one moment,
// keeping a copy of each selected token's record (about 100 bytes), then
// builds and writes one token at a time: the memory a listing takes no longer grows
// with the size of each token's answer (GET /__admin/tokens of 100 000 JWTs). Each
// selected record is copied under the lock (its changing fields are then read from the
// copy, never from the record a request may be changing).
func (s *store) stream(f TokenFilter, w io.Writer) error {
	var counts TokenCounts
	var picked []record // copies, newest first
	s.mu.Lock()
	now := s.now()
	for i := len(s.order) - 1; i >= 0; i-- {
		r := s.order[i]
		if r.flags&flagRevoked != 0 {
			continue
		}
		st := r.state(now)
		switch st {
		case StateLive:
			counts.Live++
		case StateExpired:
			counts.Expired++
		case StateReleased:
			counts.Released++
		}
		if (f.State == "" || st == f.State) && (f.Limit <= 0 || len(picked) < f.Limit) {
			picked = append(picked, *r)
		}
	}
	dropped, evicted := s.dropped, s.evicted.count
	s.mu.Unlock()

	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString(`{"tokens":[`)
	for i := len(picked) - 1; i >= 0; i-- {
		r := &picked[i]
		b, err := json.Marshal(r.public(s.value(r), now))
		if err != nil {
			return err
		}
		if i != len(picked)-1 {
			bw.WriteByte(',')
		}
		if _, err := bw.Write(b); err != nil {
			return err // the client is gone: build no more tokens for nobody
		}
	}
	tail, err := json.Marshal(struct {
		Counts  TokenCounts `json:"counts"`
		Dropped uint64      `json:"dropped"`
		Evicted uint64      `json:"evicted"`
	}{counts, dropped, evicted})
	if err != nil {
		return err
	}
	bw.WriteString(`],`)
	bw.Write(tail[1:])
	bw.WriteByte('\n')
	return bw.Flush()
}

func (s *store) get(value string) (Token, bool) {
	d := keyOf(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookup(value, d)
	if r == nil {
		return Token{}, false
	}
	return r.public(value, s.now()), true
}

// heldCount is how many tokens the store holds (live or dead).
func (s *store) heldCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.opaque) + len(s.jwts)
}

// droppedCount is how many dead tokens were dropped since the last reset.
func (s *store) droppedCount() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// holding is the record of a token the store holds, or nil. Its user and key never
// change, so they may be read without the lock.
func (s *store) holding(value string) *record {
	d := keyOf(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookup(value, d)
}

func (s *store) reset() {
	s.mu.Lock()
	s.init()
	s.dropped = 0
	s.evicted = evictedSet{}
	s.mu.Unlock()
}

// expire makes a live token expire now.
func (s *store) expire(value string) error {
	d := keyOf(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookup(value, d)
	if r == nil {
		return ErrUnknownToken
	}
	now := s.now()
	switch r.state(now) {
	case StateReleased:
		return ErrTokenReleased
	case StateExpired:
		return nil // already: its moment stays
	}
	r.flags |= flagExpired
	r.end = now
	return nil
}

// revoke forgets a token: INVALID_TOKEN from now on, as after a server restart.
func (s *store) revoke(value string) error {
	d := keyOf(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookup(value, d)
	if r == nil {
		return ErrUnknownToken
	}
	s.forget(r)
	r.flags |= flagRevoked
	return nil
}

// revokeAll forgets every token (the dropped count stays).
func (s *store) revokeAll() {
	s.mu.Lock()
	s.init()
	s.mu.Unlock()
}

// opaqueShape is a world's opaque tokens: length and alphabet (zero: 32 uppercase hex, F6).
type opaqueShape struct {
	length   int
	alphabet string
}

// compileOpaque checks a scenario's token key; the alphabet is ranges and characters.
func compileOpaque(s TokenSpec) (opaqueShape, error) {
	if s.OpaqueLength == 0 && s.Alphabet == "" {
		return opaqueShape{}, nil
	}
	sh := opaqueShape{length: s.OpaqueLength}
	if sh.length == 0 {
		sh.length = 32
	}
	if sh.length < 8 || sh.length > 512 {
		return sh, fmt.Errorf("opaque_length %d: want 8 to 512", s.OpaqueLength)
	}
	spec := s.Alphabet
	if spec == "" {
		spec = "0-9A-F"
	}
	seen := map[byte]bool{}
	for i := 0; i < len(spec); i++ {
		lo, hi := spec[i], spec[i]
		if i+2 < len(spec) && spec[i+1] == '-' {
			hi = spec[i+2]
			i += 2
		}
		if lo <= ' ' || hi >= 0x7f || lo > hi || strings.ContainsRune(".\"", rune(lo)) {
			return sh, fmt.Errorf("alphabet %q: want printable ASCII ranges and characters other than . and \", e.g. 0-9A-F", s.Alphabet)
		}
		for c := lo; ; c++ {
			if !seen[c] {
				seen[c] = true
				sh.alphabet += string(c)
			}
			if c == hi {
				break
			}
		}
	}
	if len(sh.alphabet) < 2 {
		return sh, fmt.Errorf("alphabet %q: want at least 2 characters", s.Alphabet)
	}
	return sh, nil
}

// random is an opaque token of the shape, from crypto/rand.
func (sh opaqueShape) random() string {
	if sh.length == 0 {
		return randomHex()
	}
	out := make([]byte, sh.length)
	limit := 256 - 256%len(sh.alphabet) // rejection sampling: no bias
	var b [64]byte
	for i := 0; i < len(out); {
		_, _ = rand.Read(b[:])
		for _, c := range b {
			if int(c) < limit && i < len(out) {
				out[i] = sh.alphabet[int(c)%len(sh.alphabet)]
				i++
			}
		}
	}
	return string(out)
}

// truncated tells whether an unknown token looks like the start of one this shape
// issues: all its characters in the alphabet, at least 16 and fewer than the length.
func (sh opaqueShape) truncated(v string) bool {
	n, alpha := sh.length, sh.alphabet
	if n == 0 {
		n, alpha = 32, "0123456789ABCDEF"
	}
	if len(v) < 16 || len(v) >= n {
		return false
	}
	for i := 0; i < len(v); i++ {
		if strings.IndexByte(alpha, v[i]) < 0 {
			return false
		}
	}
	return true
}

// randomHex is 32 uppercase hex characters from crypto/rand: opaque tokens (F6).
func randomHex() string {
	b := randomID()
	return upperHex(b)
}

// randomID is 16 bytes from crypto/rand (opaque tokens, jti).
func randomID() [16]byte {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

func upperHex(b [16]byte) string {
	var out [32]byte
	hex.Encode(out[:], b[:])
	for i, c := range out {
		if c >= 'a' {
			out[i] = c - 'a' + 'A'
		}
	}
	return string(out[:])
}
