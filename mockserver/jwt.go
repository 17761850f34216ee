package mockserver

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/golang-jwt/jwt/v5"
)

// R12+ tokens (F9, F10): HS256, claims usr, org, oun, exp, iat, jti. iat/exp are JSON
// strings of Unix seconds by default, as in every published token.

var jtiPattern = regexp.MustCompile(`^[0-9A-F]{32}$`)

// jwtHeader is the header of every R12 token, byte for byte as published (F10):
// {"typ":"JWT","alg":"HS256"}, base64url-encoded.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`))

// The claims in the order a real staging token carries them (F21): usr, org, oun, exp,
// iat, jti (encoding/json writes struct fields in declaration order), with iat/exp as
// strings (F10) or as numbers (jwt: {numeric_dates: true}).
type jwtClaims struct {
	Usr string `json:"usr"`
	Org string `json:"org"`
	Oun string `json:"oun"`
	Exp string `json:"exp"`
	Iat string `json:"iat"`
	Jti string `json:"jti"`
}

type jwtClaimsNumeric struct {
	Usr string `json:"usr"`
	Org string `json:"org"`
	Oun string `json:"oun"`
	Exp int64  `json:"exp"`
	Iat int64  `json:"iat"`
	Jti string `json:"jti"`
}

// mintJWT signs an R12 token with golang-jwt's HS256. The same arguments give the same
// token (the store rebuilds JWTs from them instead of keeping the string).
func mintJWT(secret []byte, u *user, x *unit, iat int64, life int64, jti [16]byte, numericDates bool) (string, error) {
	var payload []byte
	var err error
	if numericDates {
		payload, err = json.Marshal(jwtClaimsNumeric{Exp: iat + life, Iat: iat, Jti: upperHex(jti), Oun: x.oun, Org: u.org.name, Usr: u.username})
	} else {
		payload, err = json.Marshal(jwtClaims{Exp: strconv.FormatInt(iat+life, 10), Iat: strconv.FormatInt(iat, 10),
			Jti: upperHex(jti), Oun: x.oun, Org: u.org.name, Usr: u.username})
	}
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(jwtHeader)+2+enc.EncodedLen(len(payload))+enc.EncodedLen(sha256.Size))
	buf = append(buf, jwtHeader...)
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
	if s, _ := claims["jti"].(string); !jtiPattern.MatchString(s) {
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
