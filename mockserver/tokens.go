package mockserver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/crmmock/crmmock/internal/tokens"
)

// The token store (records, lookup, judgement, bounds and eviction, listings and
// timelines) lives in internal/tokens; these are its public types.

// Kind tells which method issued a token.
type Kind = tokens.Kind

const (
	KindUser     = tokens.KindUser     // authentication/token
	KindKey      = tokens.KindKey      // authentication/web_api_key/token
	KindConsumer = tokens.KindConsumer // authentication/consumer_application_key/token (F15)
	KindDevice   = tokens.KindDevice   // authentication/device_application_key/token (F18)
)

// State of a token at a moment of the mock's clock.
type State = tokens.State

const (
	StateLive     = tokens.StateLive
	StateExpired  = tokens.StateExpired
	StateReleased = tokens.StateReleased
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

// Rule is the token's expiry rule: a user token's is the release's user rule; every
// key's (Web API, consumer and device application keys) the key rule (2 h absolute).
func (o owner) Rule() tokens.Rule {
	if o.app != nil {
		return tokens.Rule(o.rel.Profile.KeyRule)
	}
	return tokens.Rule(o.rel.Profile.UserRule)
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
	return tokens.New(now, func(o owner, iat, life int64, jti [16]byte, numeric bool) (string, error) {
		return mintJWT(secret, o.user, o.unit, iat, life, jti, numeric, o.app)
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
		return &apiError{Code: CodeTokenReleased, Description: j.Text}
	case tokens.Expired:
		return &apiError{Code: CodeTokenExpired, Description: j.Text}
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

func nanoTime(n int64) time.Time { return time.Unix(0, n).UTC() }

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
