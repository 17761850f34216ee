package mockserver

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/golang-jwt/jwt/v5"
)

// R12+ tokens (F9, F10): HS256, claims usr, org, oun, iat, exp, jti. iat/exp are JSON
// strings of Unix seconds by default, as in every published token.

var jtiPattern = regexp.MustCompile(`^[0-9A-F]{32}$`)

func mintJWT(secret []byte, u *user, x *unit, iat int64, life int64, numericDates bool) (string, error) {
	var iatV, expV any = strconv.FormatInt(iat, 10), strconv.FormatInt(iat+life, 10)
	if numericDates {
		iatV, expV = iat, iat+life
	}
	claims := jwt.MapClaims{
		"usr": u.username,
		"org": u.org.name,
		"oun": x.oun,
		"iat": iatV,
		"exp": expV,
		"jti": randomHex(),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
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
