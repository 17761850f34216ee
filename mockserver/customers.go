package mockserver

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/crmmock/crmmock/internal/tokens"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Customer logins (F12, F15-F18): access tokens on authentication/token, one-time
// passwords (access_tokens/generate_otp), consumer and device application keys, and
// identity-provider JWTs. Their secrets (authentication codes, pass codes, OTPs,
// identity-provider JWTs) are never written into an answer's description, the journal
// or the log: descriptions name the field, never its value.

// atIdentifier is an access_token_identifier (F12, F15).
type atIdentifier struct {
	AuthenticationCode string  `json:"authentication_code"`
	Identifier         string  `json:"identifier"`
	PassCode           *string `json:"pass_code"`
	OneTimePassword    string  `json:"one_time_password"`
}

// loginCredentialsMissing answers, before the contract's check, a login body that has
// neither username and password nor access_token_identifier, as the contract answered
// it when both were required: INVALID_REQUEST naming the first missing field. A body
// that names both fields is not parsed.
func loginCredentialsMissing(body []byte) *apiError {
	if bytes.Contains(body, []byte(`"username"`)) && bytes.Contains(body, []byte(`"password"`)) {
		return nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return nil // the contract says what is wrong with it
	}
	if v, ok := fields["access_token_identifier"]; ok && string(v) != "null" {
		return nil
	}
	for _, name := range [...]string{"username", "password"} {
		if _, ok := fields[name]; !ok {
			return &apiError{Code: CodeInvalidRequest, Violation: true, Class: ClassMissingField,
				Description: fmt.Sprintf("request body: field %q: property %q is missing", name, name)}
		}
	}
	return nil
}

// findAccessToken finds an organisation's access token by authentication_code, or
// identifier and pass_code, or (otp set) a live one-time password, which it uses up.
func (m *Mock) findAccessToken(g *org, id *atIdentifier, otp bool, now time.Time) (*accessToken, *apiError) {
	switch {
	case id.AuthenticationCode != "":
		found := findSecret(g.byCode, id.AuthenticationCode)
		if found == nil {
			return nil, errorf(CodeInvalidCredentials, "access_token_identifier.authentication_code: no access token of organisation %q has it", g.name)
		}
		return found, nil
	case id.Identifier != "":
		if id.PassCode == nil {
			return nil, &apiError{Code: CodeInvalidRequest, Violation: true, Class: ClassMissingField,
				Description: "request body: field \"access_token_identifier.pass_code\": mandatory with identifier"}
		}
		t, ok := g.byIdentifier[id.Identifier]
		if !ok {
			_ = subtle.ConstantTimeCompare([]byte(*id.PassCode), []byte(*id.PassCode))
			return nil, errorf(CodeInvalidCredentials, "access_token_identifier.identifier: %q is not an access token of organisation %q", clip(id.Identifier), g.name)
		}
		if subtle.ConstantTimeCompare([]byte(*id.PassCode), []byte(t.passCode)) != 1 {
			return nil, errorf(CodeInvalidCredentials, "access_token_identifier.pass_code: wrong pass code for access token %q", clip(id.Identifier))
		}
		return t, nil
	case id.OneTimePassword != "" && otp:
		return m.otps.take(g, id.OneTimePassword, now)
	}
	want := "authentication_code, or identifier and pass_code"
	if otp {
		want += ", or one_time_password"
	}
	return nil, &apiError{Code: CodeInvalidRequest, Violation: true,
		Description: "request body: field \"access_token_identifier\": want " + want}
}

// accessTokenLogin is authentication/token with access_token_identifier (F12): it logs
// the access token's user in, as a user token.
func (m *Mock) accessTokenLogin(id *atIdentifier, withPassword bool, orgName string, unitName *string, rel *Release, wd *world, now time.Time) (answer, string) {
	if withPassword {
		return answer{err: &apiError{Code: CodeInvalidRequest, Violation: true,
			Description: "request body: send either username and password or access_token_identifier, not both"}}, ""
	}
	g, ok := wd.orgs[orgName]
	if !ok {
		return answer{err: errorf(CodeInvalidOrg, "organisation: %q is not a known organisation", orgName)}, ""
	}
	t, aerr := m.findAccessToken(g, id, true, now)
	if aerr != nil {
		return answer{err: aerr}, ""
	}
	principal := userPrincipal(t.user.username, g.name)
	x, aerr := userUnit(t.user, unitName)
	if aerr != nil {
		return answer{err: aerr}, principal
	}
	return m.issue(nil, t.user, x, rel, wd, now), principal
}

// otpStore holds a mock's live one-time passwords (F17), each bound to its access
// token, single-use, unique among the live ones; reset with the tokens.
type otpStore struct {
	mu   sync.Mutex
	live map[string]otpEntry // by value
}

type otpEntry struct {
	at      *accessToken
	expires time.Time
}

func (s *otpStore) reset() {
	s.mu.Lock()
	s.live = nil
	s.mu.Unlock()
}

// issue makes an OTP for t valid until now + wd's lifetime: wd's fixed value, else 6
// random digits no live OTP has.
func (s *otpStore) issue(t *accessToken, wd *world, now time.Time) (string, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live == nil {
		s.live = map[string]otpEntry{}
	}
	for v, e := range s.live { // forget the expired ones: uniqueness is among live OTPs
		if !now.Before(e.expires) {
			delete(s.live, v)
		}
	}
	v := wd.otpFixed
	for v == "" || (wd.otpFixed == "" && s.live[v].at != nil) {
		n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
		v = fmt.Sprintf("%06d", n.Int64())
	}
	exp := now.Add(wd.otpLife)
	s.live[v] = otpEntry{at: t, expires: exp}
	return v, exp
}

// take uses up a live OTP of an access token of g.
func (s *otpStore) take(g *org, v string, now time.Time) (*accessToken, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live[v]
	switch {
	case !ok || e.at.user.org != g:
		return nil, errorf(CodeInvalidCredentials, "access_token_identifier.one_time_password: not a live one-time password of organisation %q (each is usable once)", g.name)
	case !now.Before(e.expires):
		delete(s.live, v)
		return nil, errorf(CodeInvalidCredentials, "access_token_identifier.one_time_password: expired at %s", e.expires.UTC().Format(time.RFC3339))
	}
	delete(s.live, v)
	return e.at, nil
}

// otpData is generate_otp's answer (F17).
type otpData struct {
	ID              string `json:"id"`
	Number          string `json:"number"`
	OneTimePassword string `json:"one_time_password"`
	ExpirationDate  string `json:"expiration_date"`
}

// generateOTP is access_tokens/generate_otp (F17): a live token of the access token's
// organisation, then a one-time password for the access token.
func (m *Mock) generateOTP(body []byte, wd *world, now time.Time) answer {
	var req struct {
		Token      string       `json:"token"`
		Identifier atIdentifier `json:"access_token_identifier"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return answer{err: errorf(CodeInvalidRequest, "request body: %v", err)}
	}
	a := m.checkToken(req.Token, tokens.Use)
	if a.err != nil {
		return a
	}
	g := a.rec.Owner().user.org
	if wg, ok := wd.orgs[g.name]; ok {
		g = wg // the fixtures in force (the token may predate a scenario swap)
	}
	t, aerr := m.findAccessToken(g, &req.Identifier, false, now)
	if aerr != nil {
		a.err = aerr
		return a
	}
	v, exp := m.otps.issue(t, wd, now)
	a.data = otpData{ID: t.id, Number: t.number, OneTimePassword: v, ExpirationDate: exp.UTC().Format("2006-01-02T15:04:05")}
	return a
}

// principal names a consumer or device login in the journal and the lint, without a
// secret: a key by its last 4 characters, an access token by its number.
func (a *appLogin) principal() string {
	switch {
	case a.key != nil:
		return keyPrincipal(a.key.key)
	case a.kind == KindDevice:
		return "installed item " + a.item.identifier
	case a.ckey != nil:
		return "consumer " + keyPrincipal(a.ckey.key)
	}
	return "access token " + a.at.number
}

// consumerToken is authentication/consumer_application_key/token (F15, F16): the Basic
// consumer application key with an access_token_identifier, or (from R16.2.0, when the
// contract accepts the fields) an identity-provider jwt with organisation, where the
// key is needed only with identifier and pass_code.
func (m *Mock) consumerToken(header http.Header, body []byte, rel *Release, wd *world, now time.Time) answer {
	var req consumerRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return answer{err: errorf(CodeInvalidRequest, "request body: %v", err)}
	}
	var ck *consumerKey
	var lenient []string // F20: a Basic value without ':' eased the check
	principal := ""
	if h := header.Get("Authorization"); h != "" {
		var aerr *apiError
		if ck, principal, lenient, aerr = consumerKeyOf(h, wd); aerr != nil {
			return answer{err: aerr, principal: principal}
		}
	}
	fail := func(e *apiError) answer { return answer{err: e, principal: principal, lenient: lenient} }
	g, aerr := consumerOrg(&req, ck, wd)
	if aerr != nil {
		return fail(aerr)
	}
	t, aerr := m.consumerAccessToken(&req, ck, g, now)
	if aerr != nil {
		return fail(aerr)
	}
	x, aerr := userUnit(t.user, req.Unit)
	if aerr != nil {
		return fail(aerr)
	}
	app := &appLogin{kind: KindConsumer, at: t, ckey: ck, arClaim: wd.arClaim}
	a := m.issueRecord(owner{rel: rel, user: t.user, unit: x, app: app}, wd, now)
	a.principal, a.lenient = app.principal(), lenient
	return a
}

// consumerRequest is the body of authentication/consumer_application_key/token.
type consumerRequest struct {
	Identifier   *atIdentifier `json:"access_token_identifier"`
	Unit         *string       `json:"unit"`
	JWT          string        `json:"jwt"`
	Organisation string        `json:"organisation"`
}

// consumerKeyOf is the consumer application key a Basic Authorization value names, the
// principal to journal, and the leniency it needed (F20); an error when it is unknown.
func consumerKeyOf(h string, wd *world) (ck *consumerKey, principal string, lenient []string, aerr *apiError) {
	key, noColon, aerr := basicKey(h)
	if aerr != nil {
		return nil, "", nil, aerr
	}
	if noColon {
		lenient = []string{leniencyBasicNoColon}
	}
	ck = findSecret(wd.consumerKeys, key)
	principal = "consumer " + keyPrincipal(key)
	if ck == nil {
		return nil, principal, nil, errorf(CodeInvalidKey, "Authorization: the consumer application key is not known")
	}
	return ck, principal, lenient, nil
}

// consumerOrg is the organisation a consumer login is for: the body's organisation
// (which the key, if sent, must belong to), else the key's.
func consumerOrg(req *consumerRequest, ck *consumerKey, wd *world) (*org, *apiError) {
	switch {
	case req.Organisation != "":
		g, ok := wd.orgs[req.Organisation]
		if !ok {
			return nil, errorf(CodeInvalidOrg, "organisation: %q is not a known organisation", req.Organisation)
		}
		if ck != nil && ck.org != g {
			return nil, errorf(CodeInvalidKey, "Authorization: the consumer application key is not of organisation %q", g.name)
		}
		return g, nil
	case ck != nil:
		return ck.org, nil
	case req.JWT != "":
		return nil, &apiError{Code: CodeInvalidRequest, Violation: true,
			Description: "request body: field \"organisation\": mandatory with jwt"}
	default:
		return nil, errorf(CodeInvalidKey, "Authorization: missing; send the consumer application key as the HTTP Basic username")
	}
}

// consumerAccessToken is the access token a consumer login names in g: by the
// identity-provider jwt's sub, or by access_token_identifier (F15, F16).
func (m *Mock) consumerAccessToken(req *consumerRequest, ck *consumerKey, g *org, now time.Time) (*accessToken, *apiError) {
	switch {
	case req.JWT != "" && req.Identifier != nil:
		return nil, &apiError{Code: CodeInvalidRequest, Violation: true,
			Description: "request body: send either jwt or access_token_identifier, not both"}
	case req.JWT != "":
		sub, aerr := verifyIdentityJWT(g, req.JWT, "jwt", now)
		if aerr != nil {
			return nil, aerr
		}
		t, ok := g.byIdentifier[sub]
		if !ok {
			return nil, errorf(CodeInvalidToken, "jwt: its sub names no access token of organisation %q", g.name)
		}
		return t, nil
	case req.Identifier == nil:
		return nil, &apiError{Code: CodeInvalidRequest, Violation: true,
			Description: "request body: field \"access_token_identifier\": property \"access_token_identifier\" is missing (or, from R16.2, jwt)"}
	default:
		if ck == nil && req.Identifier.Identifier != "" { // F15: the key is needed with identifier + pass_code
			return nil, errorf(CodeInvalidKey, "Authorization: missing; identifier and pass_code need the consumer application key as the HTTP Basic username")
		}
		return m.findAccessToken(g, req.Identifier, true, now)
	}
}

// deviceToken is authentication/device_application_key/token (F18): an installed
// item and the middleware's JWT naming it.
func (m *Mock) deviceToken(body []byte, rel *Release, wd *world, now time.Time) answer {
	var req struct {
		Item string `json:"installed_item_identifier"`
		JWT  string `json:"jwt_token"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return answer{err: errorf(CodeInvalidRequest, "request body: %v", err)}
	}
	it, ok := wd.items[req.Item]
	if !ok {
		return answer{err: errorf(CodeInvalidCredentials, "installed_item_identifier: %q is not a known installed item", clip(req.Item))}
	}
	app := &appLogin{kind: KindDevice, item: it}
	sub, aerr := verifyIdentityJWT(it.user.org, req.JWT, "jwt_token", now)
	if aerr == nil && sub != it.identifier {
		aerr = errorf(CodeInvalidToken, "jwt_token: its sub does not name installed item %q", clip(it.identifier))
	}
	if aerr != nil {
		return answer{err: aerr, principal: app.principal()}
	}
	a := m.issueRecord(owner{rel: rel, user: it.user, unit: it.user.defaultUnit, app: app}, wd, now)
	a.principal = app.principal()
	return a
}

// verifyIdentityJWT checks a token of g's identity provider: HS256 with its secret,
// exp required and judged on the mock clock, iss equal to its issuer when one is set.
// It answers the sub claim. The description never holds the token.
func verifyIdentityJWT(g *org, token, field string, now time.Time) (string, *apiError) {
	p := g.idp
	if p == nil {
		return "", errorf(CodeInvalidToken, "%s: organisation %q has no identity provider (scenario identity_provider)", field, g.name)
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now })}
	if p.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(p.Issuer))
	}
	var claims jwt.RegisteredClaims
	_, err := jwt.NewParser(opts...).ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return []byte(p.Secret), nil })
	var why string
	switch {
	case err == nil && claims.Subject == "":
		why = "it has no sub"
	case err == nil:
		return claims.Subject, nil
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		why = "its signature does not verify with the identity provider's secret"
	case errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrSignatureInvalid):
		why = "it is not signed with HS256"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		why = "it has no exp"
	case errors.Is(err, jwt.ErrTokenExpired):
		why = "it expired at " + claims.ExpiresAt.UTC().Format(time.RFC3339) + " (mock clock " + now.UTC().Format(time.RFC3339) + ")"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		why = "it is not valid yet on the mock clock"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		why = "its iss is not the identity provider's issuer"
	default:
		why = "it is not a valid JWT"
	}
	return "", errorf(CodeInvalidToken, "%s: %s", field, strings.TrimSpace(why))
}
