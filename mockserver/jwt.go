package mockserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// R12+ tokens (F9, F10): HS256, claims usr, org, oun, exp, iat, jti. iat/exp are JSON
// strings of Unix seconds by default, as in every published token.

var jtiPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9A-F]{32}$`) })

// jwtHeader is the header of every R12 token, byte for byte as published (F10):
// {"typ":"JWT","alg":"HS256"}, base64url-encoded.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`))

// claimNames are the claims of a token, in the order a real staging token carries them
// (F21): the order the mock writes them in unless a scenario's jwt.claims_order says
// otherwise.
var (
	claimNames         = []string{"usr", "org", "oun", "exp", "iat", "jti"}
	defaultClaimsOrder = claimNames
)

// jwtShape is how a world's JWTs look: claim order, date type, lifetime. Shared by
// every token the world issued (a record points at it).
type jwtShape struct {
	header  string // base64url of the header JSON
	order   []string
	numeric bool          // iat/exp as JSON numbers (jwt: {numeric_dates: true}), else strings (F10)
	life    time.Duration // 0: the release's rule
}

var defaultJWTShape = &jwtShape{header: jwtHeader, order: defaultClaimsOrder}

// compileJWT checks a scenario's jwt key.
func compileJWT(s JWTSpec) (*jwtShape, error) {
	sh := &jwtShape{header: jwtHeader, order: defaultClaimsOrder, numeric: s.NumericDates, life: time.Duration(s.Lifetime)}
	if s.Header != "" {
		var h map[string]any
		if err := json.Unmarshal([]byte(s.Header), &h); err != nil || h["alg"] != "HS256" {
			return nil, fmt.Errorf("header %q: want a JSON object with \"alg\":\"HS256\" (the mock signs HS256), e.g. {\"alg\":\"HS256\",\"typ\":\"JWT\"}", s.Header)
		}
		sh.header = base64.RawURLEncoding.EncodeToString([]byte(s.Header))
	}
	if sh.life < 0 || (sh.life > 0 && sh.life < time.Second) || sh.life%time.Second != 0 {
		return nil, fmt.Errorf("lifetime %s: want whole seconds, at least 1s", sh.life)
	}
	if s.ClaimsOrder != nil {
		seen := map[string]bool{}
		for _, c := range s.ClaimsOrder {
			if !slices.Contains(claimNames, c) || seen[c] {
				return nil, fmt.Errorf("claims_order %v: want each of %v once", s.ClaimsOrder, claimNames)
			}
			seen[c] = true
		}
		if len(seen) != len(claimNames) {
			return nil, fmt.Errorf("claims_order %v: want each of %v once", s.ClaimsOrder, claimNames)
		}
		sh.order = s.ClaimsOrder
	}
	return sh, nil
}

// mintJWT signs an R12 token with golang-jwt's HS256. The same arguments give the same
// token (the store rebuilds JWTs from them instead of keeping the string).
func mintJWT(secret []byte, u *user, x *unit, iat int64, life int64, jti [16]byte, shape *jwtShape, app *appLogin) (string, error) {
	if shape == nil {
		shape = defaultJWTShape
	}
	var p bytes.Buffer
	p.WriteByte('{')
	for i, c := range shape.order {
		if i > 0 {
			p.WriteByte(',')
		}
		writeJSONString(&p, c)
		p.WriteByte(':')
		switch c {
		case "usr":
			writeJSONString(&p, u.username)
		case "org":
			writeJSONString(&p, u.org.name)
		case "oun":
			writeJSONString(&p, x.oun)
		case "jti":
			writeJSONString(&p, upperHex(jti))
		case "exp", "iat":
			v := iat
			if c == "exp" {
				v += life
			}
			if shape.numeric {
				p.WriteString(strconv.FormatInt(v, 10))
			} else {
				writeJSONString(&p, strconv.FormatInt(v, 10))
			}
		}
	}
	if app != nil && app.at != nil { // F16: consumer tokens add cii and acr (or ari) after the others
		for _, c := range [...][2]string{{"cii", app.at.contact}, {app.arClaim, app.at.receivable}} {
			p.WriteByte(',')
			writeJSONString(&p, c[0])
			p.WriteByte(':')
			writeJSONString(&p, c[1])
		}
	}
	p.WriteByte('}')
	payload := p.Bytes()
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(shape.header)+2+enc.EncodedLen(len(payload))+enc.EncodedLen(sha256.Size))
	buf = append(buf, shape.header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig, err := jwt.SigningMethodHS256.Sign(string(buf), secret)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

var errAlg = errors.New("token: the JWT algorithm is not HS256")

var jwtParser = jwt.NewParser(
	jwt.WithoutClaimsValidation(), // exp/iat are strings (F10): checked below and by the store
	jwt.WithJSONNumber(),
)

// checkJWT verifies a JWT's algorithm, signature and claim shapes. Expiry and release
// are the store's to judge, on the mock's clock.
func checkJWT(secret []byte, token string) error {
	claims := jwt.MapClaims{}
	_, err := jwtParser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodHS256 { // refuses alg none, HS512, RS256 …
			return nil, errAlg
		}
		return secret, nil
	})
	switch {
	case errors.Is(err, errAlg):
		return errAlg
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return errors.New("token: the JWT signature does not verify")
	case err != nil:
		return fmt.Errorf("token: not a valid JWT (%v)", err)
	}
	for _, c := range []string{"usr", "org", "oun"} {
		if s, ok := claims[c].(string); !ok || s == "" {
			return fmt.Errorf("token: JWT claim %q is missing or not a string", c)
		}
	}
	if s, _ := claims["jti"].(string); !jtiPattern().MatchString(s) {
		return errors.New(`token: JWT claim "jti" is not 32 uppercase hex`)
	}
	iat, err1 := unixClaim(claims["iat"])
	exp, err2 := unixClaim(claims["exp"])
	if err1 != nil || err2 != nil {
		return errors.New(`token: JWT claims "iat" and "exp" must be Unix seconds`)
	}
	if exp-iat != 7200 {
		return fmt.Errorf(`token: JWT "exp" - "iat" is %d, not 7200`, exp-iat)
	}
	return nil
}

func unixClaim(v any) (int64, error) {
	switch x := v.(type) {
	case string:
		return strconv.ParseInt(x, 10, 64)
	case interface{ Int64() (int64, error) }: // json.Number
		return x.Int64()
	}
	return 0, errors.New("not a number")
}
