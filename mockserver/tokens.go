package mockserver

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// Kind tells which method issued a token.
type Kind string

const (
	KindUser Kind = "user"        // authentication/token
	KindKey  Kind = "web_api_key" // authentication/web_api_key/token
)

// State of a token at a moment of the mock's clock.
type State string

const (
	StateLive     State = "live"
	StateExpired  State = "expired"
	StateReleased State = "released"
)

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

// record is a token in the store. Times are Unix nanoseconds of the mock's clock: a
// record is kept small because suites issue many (see BenchmarkMemoryPerToken).
type record struct {
	value    string
	kind     Kind
	version  string
	rule     ExpiryRule
	user     *user
	unit     *unit
	issued   int64
	lastUsed int64
	released bool
}

func (r *record) expiresAt() int64 {
	if r.rule.Idle {
		return r.lastUsed + int64(r.rule.After)
	}
	return r.issued + int64(r.rule.After)
}

func (r *record) state(now int64) State {
	switch {
	case r.released:
		return StateReleased
	case now >= r.expiresAt(): // live while now < limit (INTERFACE §2)
		return StateExpired
	}
	return StateLive
}

func (r *record) public(now int64) Token {
	return Token{
		Token: r.value, Kind: r.kind, Version: r.version,
		User: r.user.username, Organisation: r.user.org.name, Unit: r.unit.id,
		IssuedAt: nanoTime(r.issued), LastUsedAt: nanoTime(r.lastUsed), ExpiresAt: nanoTime(r.expiresAt()),
		State: r.state(now), Rule: r.rule.String(),
	}
}

func nanoTime(n int64) time.Time { return time.Unix(0, n).UTC() }

// store holds every token issued since the last reset. Expiry is computed from the
// clock when a token is read, so moving the clock costs nothing however many tokens live.
//
// The clock is read under the store's lock: every judgement and listing happens at
// the clock's value at that moment, so, as the clock only moves forward, an observer
// never sees a token go back (expired → live by a late use, expired → released by a
// late release) because a request read the clock before another moved it.
type store struct {
	mu      sync.Mutex
	now     func() int64 // the mock's clock, Unix nanoseconds
	byValue map[string]*record
	order   []*record
}

func newStore(now func() int64) *store { return &store{now: now, byValue: map[string]*record{}} }

func (s *store) add(r *record) {
	s.mu.Lock()
	s.byValue[r.value] = r
	s.order = append(s.order, r)
	s.mu.Unlock()
}

// has tells whether value is a token the mock issued (in any state).
func (s *store) has(value string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byValue[value]
	return ok
}

// use checks a token now and, when live, records the use (restarting an idle
// rule's hour when touch is set). It returns the record or the error to answer.
func (s *store) use(value string, touch bool) (*record, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, ok := s.byValue[value]
	if !ok {
		return nil, errorf(CodeInvalidToken, "token: no such token was issued")
	}
	switch r.state(now) {
	case StateReleased:
		return nil, errorf(CodeTokenReleased, "token: released")
	case StateExpired:
		return nil, errorf(CodeTokenExpired, "token: expired at %s (%s)", nanoTime(r.expiresAt()).Format(time.RFC3339Nano), r.rule)
	}
	if touch && now > r.lastUsed {
		r.lastUsed = now
	}
	return r, nil
}

// release makes a live token unusable.
func (s *store) release(value string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, ok := s.byValue[value]
	if !ok {
		return errorf(CodeInvalidToken, "token: no such token was issued")
	}
	switch r.state(now) {
	case StateReleased:
		return errorf(CodeTokenReleased, "token: already released")
	case StateExpired:
		return errorf(CodeTokenExpired, "token: expired at %s (%s)", nanoTime(r.expiresAt()).Format(time.RFC3339Nano), r.rule)
	}
	r.released = true
	return nil
}

func (s *store) list() []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]Token, len(s.order))
	for i, r := range s.order {
		out[i] = r.public(now)
	}
	return out
}

func (s *store) get(value string) (Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, ok := s.byValue[value]
	if !ok {
		return Token{}, false
	}
	return r.public(now), true
}

func (s *store) reset() {
	s.mu.Lock()
	s.byValue = map[string]*record{}
	s.order = nil
	s.mu.Unlock()
}

// randomHex is 32 uppercase hex characters from crypto/rand: opaque tokens (F6) and jti (F10).
func randomHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
