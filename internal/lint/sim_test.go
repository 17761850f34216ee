// The package's one set of test helpers: sim, a client's session as the lint sees it.

package lint

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/ops"
	"github.com/crmmock/crmmock/internal/wire"
)

// sim is a client's session against a mock, as the lint sees it: each call journals
// an entry judged by the release rules (idle hour before R12 for user tokens, 2 h from
// issue otherwise), so a test reads as the client's behaviour.
type sim struct {
	t                *testing.T
	release, profile string
	now              time.Time
	entries          []Entry
	tokens           []*Token
	byValue          map[string]*Token
	override         map[string]string // catalogue code → code answered (a scenario's errors)
	n                int
}

var t0 = time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)

func newSim(t *testing.T, release string) *sim {
	s := &sim{t: t, now: t0, byValue: map[string]*Token{}}
	s.setRelease(release)
	return s
}

func (s *sim) setRelease(release string) {
	s.release = release
	switch release {
	case "pre-R10", "R9", "R6":
		s.profile = wire.ProfilePreR10
	case "R10", "R11":
		s.profile = wire.ProfileR10
	default:
		s.profile = wire.ProfileR12
	}
}

func (s *sim) advance(d time.Duration) { s.now = s.now.Add(d) }

// journal adds an entry answered with the catalogue code.
func (s *sim) journal(e Entry, code string) *Entry {
	e.ID = uint64(len(s.entries) + 1)
	e.Time, e.Release, e.Profile = s.now, s.release, s.profile
	e.Code, e.CatalogueCode = code, code
	if o, ok := s.override[code]; ok {
		e.Code = o
	}
	if e.Message == "" {
		e.Message = simMessages[code]
	}
	if e.Status == 0 {
		e.Status = 200
	}
	s.entries = append(s.entries, e)
	return &s.entries[len(s.entries)-1]
}

// simMessages are the status.message texts of the mock's catalogue the sim answers.
var simMessages = map[string]string{
	"INVALID_CREDENTIALS":  "Invalid username or password",
	wire.CodeInvalidToken:  "Invalid token",
	wire.CodeTokenExpired:  "The token has expired",
	wire.CodeTokenReleased: "The token has been released",
	wire.CodeNotAvailable:  "The method is not available in this release",
	"INVALID_REQUEST":      "The request is not valid",
}

// failedLogin is authentication/token with a wrong password.
func (s *sim) failedLogin(user string) *Entry {
	return s.journal(Entry{Method: "POST", Path: "/crmapi/rest/v2/" + ops.UserToken, Operation: ops.UserToken,
		Principal: "user " + user + "@CRMDEMO", Description: `password: wrong password for user "` + user + `"`}, "INVALID_CREDENTIALS")
}

// login is authentication/token for a user of CRMDEMO; it returns the token.
func (s *sim) login(user string) string {
	return s.issue(wire.KindUser, "user "+user+"@CRMDEMO", ops.UserToken)
}

// keyLogin is authentication/web_api_key/token; "" when the release lacks it.
func (s *sim) keyLogin(key string) string {
	if s.profile == wire.ProfilePreR10 {
		s.journal(Entry{Method: "POST", Path: "/crmapi/rest/v2/" + ops.KeyToken, Operation: ops.KeyToken, Status: 404,
			Description: "authentication/web_api_key/token is not available in " + s.release + " (from R10)"}, wire.CodeNotAvailable)
		return ""
	}
	return s.issue(wire.KindKey, "key …"+key[len(key)-4:], ops.KeyToken)
}

func (s *sim) issue(kind, principal, op string) string {
	s.n++
	v := fmt.Sprintf("%032X", 0xC0FFEE000+s.n)
	if s.profile == wire.ProfileR12 { // a JWT-sized token
		v = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJ1c3IiOiJ" + strings.Repeat("x", 150) + v + ".sig" + v
	}
	idle := kind == wire.KindUser && s.profile != wire.ProfileR12
	life := 2 * time.Hour
	if idle {
		life = time.Hour
	}
	e := s.journal(Entry{Method: "POST", Path: "/crmapi/rest/v2/" + op, Operation: op, Issued: v, Principal: principal}, wire.CodeOK)
	tok := &Token{Value: v, Kind: kind, Principal: principal, Profile: s.profile, Idle: idle, Life: life,
		IssuedAt: s.now, LastUsed: s.now, IssueRequest: e.ID}
	s.tokens = append(s.tokens, tok)
	s.byValue[v] = tok
	return v
}

func (s *sim) expiresAt(t *Token) time.Time {
	if t.Idle {
		return t.LastUsed.Add(t.Life)
	}
	return t.IssuedAt.Add(t.Life)
}

// judge is the store's answer to a presented token.
func (s *sim) judge(v string) (*Token, string) {
	t, ok := s.byValue[v]
	switch {
	case !ok:
		return nil, wire.CodeInvalidToken
	case !t.ReleasedAt.IsZero():
		return t, wire.CodeTokenReleased
	case !s.now.Before(s.expiresAt(t)):
		return t, wire.CodeTokenExpired
	}
	return t, wire.CodeOK
}

// use is GET contact_information/show?token=v; it returns the catalogue code.
func (s *sim) use(v string) string {
	t, code := s.judge(v)
	if code == wire.CodeOK {
		t.Uses++
		t.LastUsed = s.now
	}
	s.journal(Entry{Method: "GET", Path: "/crmapi/rest/v2/contact_information/show", Operation: "contact_information/show", Token: v}, code)
	return code
}

// faulted is a use answered by an injected fault with code, whatever the token's state.
func (s *sim) faulted(v, code string) {
	s.journal(Entry{Method: "GET", Path: "/crmapi/rest/v2/contact_information/show", Operation: "contact_information/show", Token: v, Fault: "f1"}, code)
}

// release is authentication/token/release.
func (s *sim) releaseToken(v string) string {
	e := Entry{Method: "POST", Path: "/crmapi/rest/v2/" + ops.Release, Operation: ops.Release, Token: v}
	if s.profile == wire.ProfilePreR10 {
		e.Status, e.Description = 404, "authentication/token/release is not available in "+s.release+" (from R10)"
		s.journal(e, wire.CodeNotAvailable)
		return wire.CodeNotAvailable
	}
	t, code := s.judge(v)
	je := s.journal(e, code)
	if code == wire.CodeOK {
		t.ReleasedAt, t.ReleaseRequest = s.now, je.ID
	}
	return code
}

// misplaced is a GET whose token came in another place: the contract rejects it for
// the missing query parameter.
func (s *sim) misplaced(where string) {
	reason := `parameter "token" in query has an error: value is required but missing`
	s.journal(Entry{Method: "GET", Path: "/crmapi/rest/v2/contact_information/show", Operation: "contact_information/show",
		Misplaced: where, Description: reason, Violations: []string{reason}}, "INVALID_REQUEST")
}

// violation is a request the contract rejected.
func (s *sim) violation(method, path, reason string) {
	s.journal(Entry{Method: method, Path: path, Operation: strings.TrimPrefix(path, "/crmapi/rest/v2/"), Violations: []string{reason}, Description: reason}, "INVALID_REQUEST")
}

// input is what the mock would hand the lint now.
func (s *sim) input() *Input {
	in := &Input{Entries: append([]Entry(nil), s.entries...), Now: s.now, Release: s.release, Profile: s.profile}
	for _, t := range s.tokens {
		c := *t
		c.ExpiresAt = s.expiresAt(t)
		switch {
		case !t.ReleasedAt.IsZero():
			c.State = wire.StateReleased
		case !s.now.Before(c.ExpiresAt):
			c.State = wire.StateExpired
		default:
			c.State = wire.StateLive
		}
		in.Tokens = append(in.Tokens, c)
	}
	return in
}

// run lints the session with one rule.
func (s *sim) run(r *Rule) []Finding {
	s.t.Helper()
	return Run(s.input(), r).Findings
}

// wellBehaved is the client every release must find clean of errors and warnings: it
// logs in once, uses its token every 10 minutes for 5 h with an idle pause of 61
// minutes, logs in once again on TOKEN_EXPIRED (even in active use) and retries, and
// releases its token at the end where release exists and is not deprecated.
func wellBehaved(s *sim, login func() string) {
	tok := login()
	call := func() {
		if s.use(tok) == wire.CodeTokenExpired {
			tok = login()
			if code := s.use(tok); code != wire.CodeOK {
				s.t.Fatalf("fresh token answered %s", code)
			}
		}
	}
	for i := 0; i < 30; i++ {
		if i > 0 {
			s.advance(10 * time.Minute)
		}
		if i == 12 {
			s.advance(61 * time.Minute)
		}
		call()
	}
	if s.profile == wire.ProfileR10 {
		if code := s.releaseToken(tok); code != wire.CodeOK {
			s.t.Fatalf("release answered %s", code)
		}
	}
}
