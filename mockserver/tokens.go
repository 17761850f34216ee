package mockserver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/crmmock/crmmock/internal/journal"
	"github.com/crmmock/crmmock/internal/lint"
	"github.com/crmmock/crmmock/internal/tokens"
)

// The token store (records, lookup, judgement, bounds and eviction, listings and
// timelines) lives in internal/tokens; these are its public types.

// Kind tells which method issued a token.
type Kind = tokens.Kind

const (
	KindUser     = tokens.KindUser     // "user": authentication/token
	KindKey      = tokens.KindKey      // "web_api_key": authentication/web_api_key/token
	KindConsumer = tokens.KindConsumer // "consumer_application_key": authentication/consumer_application_key/token (F15)
	KindDevice   = tokens.KindDevice   // "device_application_key": authentication/device_application_key/token (F18)
)

// State of a token at a moment of the mock's clock.
type State = tokens.State

const (
	StateLive     = tokens.StateLive     // "live"
	StateExpired  = tokens.StateExpired  // "expired"
	StateReleased = tokens.StateReleased // "released"
)

// DefaultKeepDead is how many dead (expired or released) tokens the store keeps for
// the control API and the lint; older dead ones are dropped and counted.
const DefaultKeepDead = tokens.DefaultKeepDead

// DefaultMaxTokens bounds the tokens one mock (the root or a sandbox) holds, and
// DefaultTokenBudget the tokens of all of a process's mocks together: at about 650 bytes
// of memory a held token, a million keeps a login flood under 1 GB. Past a bound the
// least recently used token of the issuing mock is evicted.
const (
	DefaultMaxTokens   = tokens.DefaultMaxTokens
	DefaultTokenBudget = tokens.DefaultTokenBudget
)

// ErrUnknownToken: the token was never issued, or it was revoked or dropped.
var ErrUnknownToken = tokens.ErrUnknown

// ErrTokenReleased: a released token cannot be expired.
var ErrTokenReleased = tokens.ErrReleased

type (
	// Token is one issued token as the control API and the Go API show it.
	Token = tokens.Token
	// TokenFilter selects tokens (Mock.TokensFiltered, GET /__admin/tokens). The zero
	// value selects every held token.
	TokenFilter = tokens.Filter
	// TokenCounts is how many held tokens are in each state.
	TokenCounts = tokens.Counts
	// TokenList is a token listing at one moment of the mock's clock.
	TokenList = tokens.List
	// TokenEvent is one moment of a token's life.
	TokenEvent = tokens.Event
	// TokenTimeline is a token's fields (docs/control-api.md) and its events in time order.
	TokenTimeline = tokens.Timeline
)

// owner is what a token record keeps of its login: the issuing release, user, unit
// and, for a key token, the login (the store asks it through tokens.Owner).
type owner struct {
	rel  *Release
	user *user
	unit *unit
	app  *appLogin // a key, consumer or device token's login; nil for a user token
	// jwt is a JWT's shape (claim order, date type, lifetime): the issuing world's;
	// nil for an opaque token.
	jwt *jwtShape
}

type (
	record = tokens.Record[owner]
	store  = tokens.Store[owner]
)

func (o owner) Kind() Kind {
	if o.app != nil {
		return o.app.kind
	}
	return KindUser
}

// Rule is the token's expiry rule: a scenario's jwt.lifetime for a JWT when it sets
// one, else a user token's is the release's user rule; every key's (Web API, consumer
// and device application keys) the key rule (2 h absolute).
func (o owner) Rule() tokens.Rule {
	if o.jwt != nil && o.jwt.life > 0 { // a scenario's jwt.lifetime
		return tokens.Rule{After: o.jwt.life}
	}
	if o.app != nil {
		return o.rel.Profile.KeyRule
	}
	return o.rel.Profile.UserRule
}

func (o owner) Principal() string {
	if o.app != nil {
		return o.app.principal()
	}
	return userPrincipal(o.user.username, o.user.org.name)
}

func (o owner) Names() (release, profile, user, organisation, unit string) {
	return o.rel.Name, o.rel.Profile.Name, o.user.username, o.user.org.name, o.unit.id
}

// newStore is a token store on the clock now that rebuilds JWTs with secret.
func newStore(now func() int64, secret []byte) *store {
	return tokens.New(now, func(o owner, iat, life int64, jti [16]byte) (string, error) {
		return mintJWT(secret, o.user, o.unit, iat, life, jti, o.jwt, o.app)
	})
}

func init() { // the catalogue's codes always fit in a timeline event's byte
	cs := Codes()
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = string(c)
	}
	tokens.InternCodes(names...)
}

// judgementError is the answer to a presented token the store refused; nil when it
// accepted it.
func judgementError(j tokens.Judgement) *apiError {
	switch j.Verdict {
	case tokens.Released:
		return (&apiError{Code: CodeTokenReleased, Description: j.Text}).classed(ClassReleasedToken)
	case tokens.Expired:
		return (&apiError{Code: CodeTokenExpired, Description: j.Text}).classed(ClassExpiredToken)
	}
	return nil
}

// eventCode is the code a timeline event keeps: "" for OK.
func eventCode(c Code) string {
	if c == CodeOK {
		return ""
	}
	return string(c)
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

// parseTokenFilter reads ?limit ?state (GET /__admin/tokens); the error names the
// parameter.
func parseTokenFilter(q map[string][]string) (TokenFilter, error) {
	var f TokenFilter
	if err := journal.CheckParams(q, "GET /__admin/tokens", "limit", "state"); err != nil {
		return f, err
	}
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

// opaqueShape is a world's opaque tokens: length and alphabet (zero: tokens.OpaqueLen
// uppercase hex, F6).
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
		sh.length = tokens.OpaqueLen
	}
	if sh.length < 8 || sh.length > tokens.MaxOpaqueLen {
		return sh, fmt.Errorf("opaque_length %d: want 8 to %d", s.OpaqueLength, tokens.MaxOpaqueLen)
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
// issues: all its characters in the alphabet, at least lint.MinTruncated (the shortest
// the truncated-token rule considers) and fewer than the length.
func (sh opaqueShape) truncated(v string) bool {
	n, alpha := sh.length, sh.alphabet
	if n == 0 {
		n, alpha = tokens.OpaqueLen, "0123456789ABCDEF"
	}
	if len(v) < lint.MinTruncated || len(v) >= n {
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
