package probe

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/crmmock/crmmock/testdata/standin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure what a probe learns of the stand-in is its quirks: real-style codes (F21), HTTP
// 401s, claim order usr, org, oun, iat, exp, jti with an oun of 32 hex (F21), a 1 h
// lifetime, and each line tagged.
func TestProbeLearnsStandinQuirks(t *testing.T) {
	si := httptest.NewServer(standin.New(nil))
	defer si.Close()
	cfg := Config{Target: si.URL + standin.BasePath, Creds: standinCreds, Method: "contact_information/show", Rate: -1}
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	s := string(Learn(res, cfg).Scenario)
	for _, want := range []string{
		`wrong_password: {code: "` + standin.CodeLogin + `", message: "Invalid login", description: "Username or password is incorrect", http_status: 401}   # observed`,
		`released_token: {code: "` + standin.CodeReleased + `"`,
		"claims_order: [usr, org, oun, iat, exp, jti]   # observed",
		`header: '{"alg":"HS256","typ":"JWT"}'   # observed`,
		"lifetime: 3600   # observed",
		`oun: "` + standin.OUN + `"`,
		"expired_token: {code: TOKEN_EXPIRED}   # assumed: not observable",
		"version: R13   # inferred: tokens are JWTs (from R12)",
		`password: "${CRM_PASSWORD}"`,
		`key: "${CRM_WEB_API_KEY}"`,
	} {
		assert.Contains(t, s, want)
	}
}

// Ensure refused credentials are reported as such, and the steps that need a token are
// skipped rather than sent (no second wrong password: the refused login was one).
func TestProbeReportsRefusedCredentials(t *testing.T) {
	si := standin.New(nil)
	ts := httptest.NewServer(si)
	defer ts.Close()
	c := standinCreds
	c.Password = "not-the-password"
	cfg := Config{Target: ts.URL + standin.BasePath, Creds: c, Method: "contact_information/show", Rate: -1}
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	l := Learn(res, cfg)
	assert.Contains(t, l.Facts, `login: the given credentials were refused (HTTP 401 `+standin.CodeLogin+` "Invalid login"): check them; the steps that need a token were skipped`)
	assert.Equal(t, 1, si.WrongPasswords(standin.User), "the refused login is the run's one wrong password")
	assert.Contains(t, string(l.Scenario), "wrong_password: {code: INVALID_CREDENTIALS}   # assumed: not observable (no successful login")
}
