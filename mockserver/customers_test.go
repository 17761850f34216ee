package mockserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The default scenario's customer fixtures (scenarios/default.yaml).
const (
	docAuthCode   = "117"
	docIdentifier = "jane.doe@example.com"
	docPassCode   = "2468"
	docConsumer   = "4C1D0C2E3B8A4F5E9D6C7B8A9F0E1D2C"
	docItem       = "STB-000001"
	docIDPSecret  = "crmmock-identity-provider-secret"
	docIDPIssuer  = "https://idp.example.com"
)

// idpJWT signs an identity-provider token (HS256) for sub, valid until exp.
func idpJWT(t *testing.T, secret, iss, sub string, exp time.Time) string {
	t.Helper()
	claims := jwt.MapClaims{"sub": sub, "iss": iss}
	if !exp.IsZero() {
		claims["exp"] = exp.Unix()
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	require.NoError(t, err)
	return s
}

// claimsOf decodes a JWT's claims, keeping their order.
func claimsOf(t *testing.T, tok string) (map[string]any, []string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	dec := json.NewDecoder(bytes.NewReader(raw))
	var order []string
	_, _ = dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		order = append(order, k.(string))
		var skip any
		_ = dec.Decode(&skip)
	}
	return m, order
}

func codeLogin() map[string]any {
	return map[string]any{"organisation": docOrg, "access_token_identifier": map[string]any{"authentication_code": docAuthCode}}
}

// Ensure F12: from R6.0.0 authentication/token logs an access token's user in by
// authentication_code or identifier + pass_code (a user token, under the release's
// user rule); before R6 the field answers INVALID_REQUEST naming R6; a body with
// neither credentials is answered as before (a missing username).
func TestF12AccessTokenLogin(t *testing.T) {
	h := startVersion(t, "R6")
	r := h.post("authentication/token", codeLogin())
	require.Equal(t, "OK", h.code(r), "%s", r.Raw)
	tok := r.token(t)
	assert.Regexp(t, `^[0-9A-F]{32}$`, tok, "F6: an opaque token before R12")
	info, ok := h.Token(tok)
	require.True(t, ok)
	assert.Equal(t, KindUser, info.Kind)
	assert.Equal(t, docUser, info.User)
	assert.Equal(t, "1h0m0s idle", info.Rule)

	r = h.post("authentication/token", map[string]any{"organisation": docOrg,
		"access_token_identifier": map[string]any{"identifier": docIdentifier, "pass_code": docPassCode}})
	assert.Equal(t, "OK", h.code(r), "%s", r.Raw)
	r = h.post("authentication/token", map[string]any{"organisation": docOrg,
		"access_token_identifier": map[string]any{"identifier": docIdentifier, "pass_code": "9999"}})
	assert.Equal(t, "INVALID_CREDENTIALS", h.code(r))
	assert.NotContains(t, *r.Status.Description, "9999")
	r = h.post("authentication/token", map[string]any{"organisation": docOrg,
		"access_token_identifier": map[string]any{"authentication_code": "118"}})
	assert.Equal(t, "INVALID_CREDENTIALS", h.code(r))
	assert.NotContains(t, *r.Status.Description, "118")
	r = h.post("authentication/token", map[string]any{"organisation": docOrg,
		"access_token_identifier": map[string]any{"one_time_password": "123456"}})
	assert.Equal(t, `request body: field "access_token_identifier.one_time_password" is available from R13, not in R6`, *r.Status.Description)

	r = h.post("authentication/token", `{"organisation":"CRMDEMO","password":"x"}`)
	assert.Equal(t, `request body: field "username": property "username" is missing`, *r.Status.Description, "wire behaviour kept")
	r = h.post("authentication/token", `{}`)
	assert.Equal(t, `request body: field "username": property "username" is missing`, *r.Status.Description, "wire behaviour kept")

	_, err := h.SetVersion("R5")
	require.NoError(t, err)
	r = h.post("authentication/token", codeLogin())
	assert.Equal(t, "INVALID_REQUEST", h.code(r))
	assert.Equal(t, `request body: field "access_token_identifier" is available from R6, not in R5`, *r.Status.Description)
}

// Ensure F17: access_tokens/generate_otp (R13, deprecated R18) answers a 6-digit OTP
// valid 10 minutes on the mock clock; it logs the access token in once (F15:
// one_time_password from R13); before R13 it is HTTP 404 METHOD_NOT_AVAILABLE.
func TestF17GenerateOTP(t *testing.T) {
	h := startVersion(t, "R13")
	tok := h.login()
	gen := func() reply {
		return h.post("access_tokens/generate_otp", map[string]any{"token": tok,
			"access_token_identifier": map[string]any{"authentication_code": docAuthCode}})
	}
	r := gen()
	require.Equal(t, "OK", h.code(r), "%s", r.Raw)
	assert.Empty(t, r.Header.Get("Deprecation"))
	var d otpData
	require.NoError(t, json.Unmarshal(r.Data, &d))
	assert.Regexp(t, `^[0-9]{6}$`, d.OneTimePassword)
	assert.Equal(t, "AT0000000758", d.Number)
	assert.Equal(t, "5E94D0D8D3C84ED6A07A3F5E91CFC948", d.ID)
	assert.Equal(t, t0.Add(10*time.Minute).Format("2006-01-02T15:04:05"), d.ExpirationDate)

	otpLogin := func(otp string) reply {
		return h.post("authentication/token", map[string]any{"organisation": docOrg,
			"access_token_identifier": map[string]any{"one_time_password": otp}})
	}
	r = otpLogin(d.OneTimePassword)
	require.Equal(t, "OK", h.code(r), "%s", r.Raw)
	assert.Equal(t, "INVALID_CREDENTIALS", h.code(otpLogin(d.OneTimePassword)), "an OTP is usable once")

	require.NoError(t, json.Unmarshal(gen().Data, &d))
	h.advance(10*time.Minute - time.Second)
	require.NoError(t, json.Unmarshal(gen().Data, &d))
	assert.Equal(t, "OK", h.code(otpLogin(d.OneTimePassword)), "live at 9m59s")
	require.NoError(t, json.Unmarshal(gen().Data, &d))
	h.advance(10 * time.Minute)
	r = otpLogin(d.OneTimePassword)
	assert.Equal(t, "INVALID_CREDENTIALS", h.code(r), "expired at 10m")
	assert.Contains(t, *r.Status.Description, "expired at")

	_, err := h.SetVersion("R18")
	require.NoError(t, err)
	tok = h.login()
	assert.Equal(t, "true", gen().Header.Get("Deprecation"), "F17: deprecated from R18.0.0")

	_, err = h.SetVersion("R12")
	require.NoError(t, err)
	tok = h.login()
	r = gen()
	assert.Equal(t, "METHOD_NOT_AVAILABLE", h.code(r))
	assert.Equal(t, http.StatusNotFound, r.HTTP)
	assert.Contains(t, *r.Status.Description, "from R13")
}

// Ensure the otp switch pins the OTP and its lifetime (F17's lifetime is assumed).
func TestF17OTPSwitch(t *testing.T) {
	sc := DefaultScenario()
	cp := *sc
	cp.OTP = OTPSpec{Fixed: "073482", Lifetime: "1m"}
	h := start(t, Options{Version: "R16.2", Scenario: &cp})
	r := h.post("access_tokens/generate_otp", map[string]any{"token": h.login(),
		"access_token_identifier": map[string]any{"identifier": docIdentifier, "pass_code": docPassCode}})
	var d otpData
	require.NoError(t, json.Unmarshal(r.Data, &d))
	assert.Equal(t, "073482", d.OneTimePassword)
	assert.Equal(t, t0.Add(time.Minute).Format("2006-01-02T15:04:05"), d.ExpirationDate)
}

// Ensure F15, F16: consumer_application_key/token (R15) answers a JWT with cii and acr
// after usr, org, oun, exp, iat, jti, dying 2 h after issue (kind
// consumer_application_key); `jwt` arrives in R16.2, where a key is needed only with
// identifier + pass_code; before R15 the method is HTTP 404 METHOD_NOT_AVAILABLE.
func TestF15ConsumerApplicationKeyToken(t *testing.T) {
	key := []string{"Authorization", basic(docConsumer)}
	h := startVersion(t, "R15")
	r := h.post("authentication/consumer_application_key/token", map[string]any{
		"access_token_identifier": map[string]any{"authentication_code": docAuthCode}}, key...)
	require.Equal(t, "OK", h.code(r), "%s", r.Raw)
	tok := r.token(t)
	claims, order := claimsOf(t, tok)
	assert.Equal(t, []string{"cii", "acr"}, order[len(order)-2:], "F16: cii and acr after the others")
	assert.Equal(t, "CI000111", claims["cii"])
	assert.Equal(t, "AR000222", claims["acr"])
	assert.Equal(t, docUser, claims["usr"])
	info, ok := h.Token(tok)
	require.True(t, ok)
	assert.Equal(t, KindConsumer, info.Kind)
	assert.Equal(t, t0.Add(2*time.Hour), info.ExpiresAt)
	h.advance(2*time.Hour - time.Second)
	assert.Equal(t, "OK", h.code(h.use(tok)))
	h.advance(time.Second)
	assert.Equal(t, "TOKEN_EXPIRED", h.code(h.use(tok)), "F15: 2 h after issue, used or not")

	r = h.post("authentication/consumer_application_key/token", map[string]any{
		"access_token_identifier": map[string]any{"authentication_code": docAuthCode}})
	assert.Equal(t, "INVALID_WEB_API_KEY", h.code(r), "before R16.2 the key is needed")
	r = h.post("authentication/consumer_application_key/token", map[string]any{
		"access_token_identifier": map[string]any{"authentication_code": docAuthCode}}, "Authorization", basic("NOSUCHKEY000"))
	assert.Equal(t, "INVALID_WEB_API_KEY", h.code(r))
	jwtTok := idpJWT(t, docIDPSecret, docIDPIssuer, docIdentifier, h.Now().Add(time.Hour))
	r = h.post("authentication/consumer_application_key/token", map[string]any{"jwt": jwtTok, "organisation": docOrg})
	assert.Equal(t, "INVALID_REQUEST", h.code(r))
	assert.Contains(t, *r.Status.Description, "is available from R16.2, not in R15")

	_, err := h.SetVersion("R16.2.0")
	require.NoError(t, err)
	r = h.post("authentication/consumer_application_key/token", map[string]any{"jwt": jwtTok, "organisation": docOrg})
	require.Equal(t, "OK", h.code(r), "%s", r.Raw)
	claims, _ = claimsOf(t, r.token(t))
	assert.Equal(t, "CI000111", claims["cii"])
	r = h.post("authentication/consumer_application_key/token", map[string]any{"organisation": docOrg,
		"access_token_identifier": map[string]any{"authentication_code": docAuthCode}})
	assert.Equal(t, "OK", h.code(r), "from R16.2 the key is needed only with identifier + pass_code")
	r = h.post("authentication/consumer_application_key/token", map[string]any{"organisation": docOrg,
		"access_token_identifier": map[string]any{"identifier": docIdentifier, "pass_code": docPassCode}})
	assert.Equal(t, "INVALID_WEB_API_KEY", h.code(r))
	r = h.post("authentication/consumer_application_key/token", map[string]any{"jwt": jwtTok})
	assert.Equal(t, "INVALID_REQUEST", h.code(r), "organisation is mandatory with jwt")

	for name, bad := range map[string]string{
		"expired":      idpJWT(t, docIDPSecret, docIDPIssuer, docIdentifier, h.Now()),
		"wrong secret": idpJWT(t, "another-secret", docIDPIssuer, docIdentifier, h.Now().Add(time.Hour)),
		"wrong issuer": idpJWT(t, docIDPSecret, "https://evil.example", docIdentifier, h.Now().Add(time.Hour)),
		"no exp":       idpJWT(t, docIDPSecret, docIDPIssuer, docIdentifier, time.Time{}),
		"unknown sub":  idpJWT(t, docIDPSecret, docIDPIssuer, "nobody@example.com", h.Now().Add(time.Hour)),
		"garbage":      "not.a.jwt",
	} {
		r = h.post("authentication/consumer_application_key/token", map[string]any{"jwt": bad, "organisation": docOrg})
		assert.Equal(t, "INVALID_TOKEN", h.code(r), name)
		assert.NotContains(t, *r.Status.Description, bad, "%s: the JWT is a secret", name)
	}

	_, err = h.SetVersion("R14.1.0")
	require.NoError(t, err)
	r = h.post("authentication/consumer_application_key/token", map[string]any{
		"access_token_identifier": map[string]any{"authentication_code": docAuthCode}}, key...)
	assert.Equal(t, "METHOD_NOT_AVAILABLE", h.code(r))
	assert.Equal(t, http.StatusNotFound, r.HTTP)
}

// Ensure F16's example spelling: jwt.accounts_receivable_claim: ari names the claim ari.
func TestF16AccountsReceivableClaimSwitch(t *testing.T) {
	cp := *DefaultScenario()
	cp.JWT.AccountsReceivableClaim = "ari"
	h := start(t, Options{Version: "R15", Scenario: &cp})
	r := h.post("authentication/consumer_application_key/token", map[string]any{
		"access_token_identifier": map[string]any{"authentication_code": docAuthCode}}, "Authorization", basic(docConsumer))
	claims, order := claimsOf(t, r.token(t))
	assert.Equal(t, "AR000222", claims["ari"])
	assert.NotContains(t, claims, "acr")
	assert.Equal(t, "ari", order[len(order)-1])
}

// Ensure F18: device_application_key/token (R15) logs an installed item in with the
// identity provider's JWT naming it (kind device_application_key, 2 h after issue).
func TestF18DeviceApplicationKeyToken(t *testing.T) {
	h := startVersion(t, "R15")
	body := func(sub string) map[string]any {
		return map[string]any{"installed_item_identifier": docItem,
			"jwt_token": idpJWT(t, docIDPSecret, docIDPIssuer, sub, h.Now().Add(time.Hour))}
	}
	r := h.post("authentication/device_application_key/token", body(docItem))
	require.Equal(t, "OK", h.code(r), "%s", r.Raw)
	info, ok := h.Token(r.token(t))
	require.True(t, ok)
	assert.Equal(t, KindDevice, info.Kind)
	assert.Equal(t, t0.Add(2*time.Hour), info.ExpiresAt)
	assert.Equal(t, "INVALID_TOKEN", h.code(h.post("authentication/device_application_key/token", body("STB-999"))))
	r = h.post("authentication/device_application_key/token", map[string]any{"installed_item_identifier": "STB-999", "jwt_token": "x"})
	assert.Equal(t, "INVALID_CREDENTIALS", h.code(r))

	_, err := h.SetVersion("R14")
	require.NoError(t, err)
	r = h.post("authentication/device_application_key/token", body(docItem))
	assert.Equal(t, "METHOD_NOT_AVAILABLE", h.code(r))
	assert.Equal(t, http.StatusNotFound, r.HTTP)
}

// Ensure the secrets of customer logins (authentication codes, pass codes, OTPs,
// identity-provider JWTs) appear in no journal entry, log line or lint finding, while
// each login is journaled and its token's kind listed.
func TestCustomerSecretsNeverJournaled(t *testing.T) {
	var logs bytes.Buffer
	cp := *DefaultScenario()
	cp.OTP.Fixed = "073482"
	h := start(t, Options{Version: "R16.2", Scenario: &cp,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	idp := idpJWT(t, docIDPSecret, docIDPIssuer, docIdentifier, h.Now().Add(time.Hour))
	dev := idpJWT(t, docIDPSecret, docIDPIssuer, docItem, h.Now().Add(time.Hour))
	tok := h.login()
	h.post("access_tokens/generate_otp", map[string]any{"token": tok, "access_token_identifier": map[string]any{"authentication_code": docAuthCode}})
	h.post("authentication/token", map[string]any{"organisation": docOrg, "access_token_identifier": map[string]any{"one_time_password": "073482"}})
	h.post("authentication/token", map[string]any{"organisation": docOrg, "access_token_identifier": map[string]any{"one_time_password": "073482"}})
	h.post("authentication/token", map[string]any{"organisation": docOrg, "access_token_identifier": map[string]any{"identifier": docIdentifier, "pass_code": docPassCode}})
	h.post("authentication/token", map[string]any{"organisation": docOrg, "access_token_identifier": map[string]any{"identifier": docIdentifier, "pass_code": "PASS-WRONG-1"}})
	h.post("authentication/consumer_application_key/token", map[string]any{"jwt": idp, "organisation": docOrg})
	h.post("authentication/consumer_application_key/token", map[string]any{"jwt": idp + "x", "organisation": docOrg})
	h.post("authentication/device_application_key/token", map[string]any{"installed_item_identifier": docItem, "jwt_token": dev})

	journal, err := json.Marshal(h.Journal())
	require.NoError(t, err)
	lint, err := json.Marshal(h.Lint())
	require.NoError(t, err)
	for _, where := range []struct{ name, text string }{{"journal", string(journal)}, {"log", logs.String()}, {"lint", string(lint)}} {
		for _, secret := range []string{`"117"`, "=117", docPassCode, "PASS-WRONG-1", "073482", idp, dev, docIDPSecret} {
			assert.NotContains(t, where.text, secret, "%s holds a secret", where.name)
		}
	}
	kinds := map[Kind]int{}
	for _, tk := range h.Tokens() {
		kinds[tk.Kind]++
	}
	assert.Equal(t, map[Kind]int{KindUser: 3, KindConsumer: 1, KindDevice: 1}, kinds)
	ops := map[string]bool{}
	for _, e := range h.Journal() {
		ops[e.Operation] = true
	}
	for _, op := range []string{"access_tokens/generate_otp", "authentication/consumer_application_key/token", "authentication/device_application_key/token"} {
		assert.True(t, ops[op], "journaled as %s", op)
	}
}

// Ensure a client of each new kind that logs in once, uses its token and logs in again
// on TOKEN_EXPIRED gets no lint error or warning on every release that has its method
// (F15, F18: absolute 2 h); faults name the new operations.
func TestCustomerKindsWellBehavedLintClean(t *testing.T) {
	for _, version := range []string{"R15", "R16.2", "R18"} {
		t.Run(version, func(t *testing.T) {
			h := startVersion(t, version)
			logins := map[string]func() reply{
				"consumer": func() reply {
					return h.post("authentication/consumer_application_key/token", map[string]any{
						"access_token_identifier": map[string]any{"authentication_code": docAuthCode}}, "Authorization", basic(docConsumer))
				},
				"device": func() reply {
					return h.post("authentication/device_application_key/token", map[string]any{"installed_item_identifier": docItem,
						"jwt_token": idpJWT(t, docIDPSecret, docIDPIssuer, docItem, h.Now().Add(time.Hour))})
				},
			}
			for name, login := range logins {
				r := login()
				require.Equal(t, "OK", h.code(r), "%s: %s", name, r.Raw)
				tok := r.token(t)
				for range 3 {
					h.advance(50 * time.Minute)
					if c := h.code(h.use(tok)); c == "TOKEN_EXPIRED" {
						tok = login().token(t)
						require.Equal(t, "OK", h.code(h.use(tok)))
					}
				}
			}
			rep := h.lintReport()
			assert.Zero(t, rep.Summary["error"], "%+v", rep.Findings)
			assert.Zero(t, rep.Summary["warning"], "%+v", rep.Findings)

			id := h.addFault(`{"operation":"authentication/consumer_application_key/token","answer":{"code":"INTERNAL_ERROR"}}`)
			r := logins["consumer"]()
			assert.Equal(t, "INTERNAL_ERROR", h.code(r))
			j := h.Journal()
			assert.Equal(t, id, j[len(j)-1].Fault)
			h.addFault(`{"operation":"authentication/device_application_key/token","answer":{"code":"INTERNAL_ERROR"}}`)
			assert.Equal(t, "INTERNAL_ERROR", h.code(logins["device"]()))
		})
	}
}

// Ensure customer fixtures with dangling references or duplicates are load errors
// naming the line.
func TestCustomerFixtureErrors(t *testing.T) {
	base := "organisations:\n  - name: O\n    units: [{id: U}]\n    users: [{username: u, password: p}]\n"
	for _, tc := range []struct{ yaml, want string }{
		{base + "    access_tokens:\n      - {authentication_code: A, user: nobody}\n", `line 6: access token names user "nobody", who is not a user of organisation "O"`},
		{base + "    access_tokens:\n      - {identifier: I, user: u}\n", `line 6: access token "I" has an identifier but no pass_code`},
		{base + "    access_tokens:\n      - {authentication_code: A, user: u}\n      - {authentication_code: A, user: u}\n", `line 7: duplicate access token authentication_code`},
		{base + "    installed_items:\n      - {identifier: D, user: ghost}\n", `line 6: installed item "D" names user "ghost"`},
		{base + "    consumer_application_keys:\n      - {key: K}\n      - {key: K}\n", `line 7: duplicate consumer application key`},
		{base + "    identity_provider: {issuer: x}\n", `line 5: identity_provider of organisation "O" has no secret`},
		{"otp: {fixed: \"12\"}\n" + base, `line 1: otp.fixed: want 6 digits`},
		{"jwt: {accounts_receivable_claim: arx}\n" + base, `line 1: jwt.accounts_receivable_claim: "arx"`},
	} {
		_, err := ParseScenario([]byte(tc.yaml))
		require.Error(t, err, tc.yaml)
		assert.Contains(t, err.Error(), tc.want)
	}
}

// Ensure the lint cites the rule of each new kind: a consumer token that dies in active
// use at 2 h, followed by a new login, is active-token-expired citing F15 (not F9).
func TestF15LintCitesConsumerRule(t *testing.T) {
	h := startVersion(t, "R15")
	login := func() string {
		return h.post("authentication/consumer_application_key/token", map[string]any{
			"access_token_identifier": map[string]any{"authentication_code": docAuthCode}}, "Authorization", basic(docConsumer)).token(t)
	}
	tok := login()
	h.advance(2*time.Hour - time.Minute)
	require.Equal(t, "OK", h.code(h.use(tok)))
	h.advance(time.Minute)
	require.Equal(t, "TOKEN_EXPIRED", h.code(h.use(tok)))
	require.Equal(t, "OK", h.code(h.use(login())))
	f := findings(h.lintReport(), "active-token-expired")
	require.Len(t, f, 1)
	assert.Contains(t, f[0].Message, "from R15 (F15) a consumer application key token dies 2 h after issue")
}

// Ensure method-not-in-release names the new methods' releases: generate_otp on R12
// cites R13.0.0 (F17), the consumer login on R14 R15.0.0 (F15).
func TestCustomerMethodsNotInRelease(t *testing.T) {
	h := startVersion(t, "R12")
	h.post("access_tokens/generate_otp", map[string]any{"token": h.login(), "access_token_identifier": map[string]any{"authentication_code": docAuthCode}})
	_, err := h.SetVersion("R14")
	require.NoError(t, err)
	h.post("authentication/consumer_application_key/token", map[string]any{"access_token_identifier": map[string]any{"authentication_code": docAuthCode}}, "Authorization", basic(docConsumer))
	f := findings(h.lintReport(), "method-not-in-release")
	require.Len(t, f, 2)
	msgs := f[0].Message + "\n" + f[1].Message
	assert.Contains(t, msgs, "access_tokens/generate_otp was called once on R12")
	assert.Contains(t, msgs, "from R13.0.0 (F17)")
	assert.Contains(t, msgs, "authentication/consumer_application_key/token was called once on R14")
	assert.Contains(t, msgs, "from R15.0.0 (F15)")
}

// Ensure a sandbox serves the customer logins of its own release and fixtures: an R15
// sandbox of an R12 root issues a device token (F18) that the root does not know, and
// the root answers the method METHOD_NOT_AVAILABLE.
func TestCustomerLoginsInSandbox(t *testing.T) {
	h := startVersion(t, "R12")
	sb, err := h.NewSandbox(SandboxOptions{Version: "R15"})
	require.NoError(t, err)
	body := `{"installed_item_identifier":"` + docItem + `","jwt_token":"` + idpJWT(t, docIDPSecret, docIDPIssuer, docItem, t0.Add(time.Hour)) + `"}`
	post := func(base string) (int, map[string]any) {
		resp, err := http.Post(base+"/authentication/device_application_key/token", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		var env map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&env))
		return resp.StatusCode, env
	}
	st, env := post(sb.BaseURL(h.URL))
	require.Equal(t, http.StatusOK, st, "%v", env)
	tok := env["data"].(map[string]any)["token"].(string)
	tokens := sb.Tokens()
	require.Len(t, tokens, 1)
	assert.Equal(t, KindDevice, tokens[0].Kind)
	assert.Equal(t, "INVALID_TOKEN", h.code(h.use(tok)), "a sandbox's token is unknown at the root")
	st, env = post(h.URL + h.BasePath())
	assert.Equal(t, http.StatusNotFound, st)
	assert.Equal(t, "METHOD_NOT_AVAILABLE", env["status"].(map[string]any)["code"])
}
