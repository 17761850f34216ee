package mockserver

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What each release must do, written out independently of the release table.
type releaseWant struct {
	version    string
	jwt        bool // F9: R12+ tokens are JWTs; before, 32 uppercase hex (F6)
	userIdle   bool // F6: pre-R12 user tokens die after one idle hour; F9: R12+ 2 h after issue
	keys       bool // F7: web_api_key/token from R10.0.0
	release    bool // F8: token/release from R10.0.0
	deprecated bool // F8: release deprecated from R12.0.0
}

var releaseWants = []releaseWant{
	{version: "R9", userIdle: true},
	{version: "pre-R10", userIdle: true},
	{version: "R6.0.0", userIdle: true},
	{version: "R10", userIdle: true, keys: true, release: true},
	{version: "R10.0.0", userIdle: true, keys: true, release: true},
	{version: "R11", userIdle: true, keys: true, release: true},
	{version: "R12", jwt: true, keys: true, release: true, deprecated: true},
	{version: "R12.0.0", jwt: true, keys: true, release: true, deprecated: true},
	{version: "R14.1.0", jwt: true, keys: true, release: true, deprecated: true},
	{version: "R18", jwt: true, keys: true, release: true, deprecated: true},
}

var (
	opaqueToken = regexp.MustCompile(`^[0-9A-F]{32}$`)
	jwtToken    = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)
)

// check is one moment on the fake clock, measured from issue: either a use of the token
// through another Web API method (which restarts an idle hour) or a look at its state in
// the token list (which does not).
type check struct {
	at   time.Duration
	use  bool
	want string // status.code for a use; state for a look
}

// Ensure every release applies its expiry rule to the exact second, for both token kinds.
func TestExpiryBoundaries(t *testing.T) {
	idleUsed := []check{ // F6: each use restarts the hour; live at 59m59s after the last use, dead at 1h
		{30 * time.Minute, true, "OK"},
		{30*time.Minute + 59*time.Minute + 59*time.Second, true, "OK"},
		{2*time.Hour + 29*time.Minute + 59*time.Second, false, "expired"},
		{2*time.Hour + 29*time.Minute + 59*time.Second, true, "TOKEN_EXPIRED"},
	}
	idleUnused := []check{
		{59*time.Minute + 59*time.Second, false, "live"},
		{time.Hour, false, "expired"},
		{time.Hour, true, "TOKEN_EXPIRED"},
	}
	absoluteUsed := []check{ // F7/F9: 2 h after issue even when used every 30 min
		{30 * time.Minute, true, "OK"},
		{time.Hour, true, "OK"},
		{90 * time.Minute, true, "OK"},
		{time.Hour + 59*time.Minute + 59*time.Second, true, "OK"},
		{2 * time.Hour, true, "TOKEN_EXPIRED"},
	}
	absoluteUnused := []check{ // F9: an R12 token is still live after 1h30m unused
		{90 * time.Minute, false, "live"},
		{time.Hour + 59*time.Minute + 59*time.Second, false, "live"},
		{2 * time.Hour, false, "expired"},
		{2 * time.Hour, true, "TOKEN_EXPIRED"},
	}
	for _, rw := range releaseWants {
		for _, kind := range []Kind{KindUser, KindKey} {
			if kind == KindKey && !rw.keys {
				continue
			}
			idle := kind == KindUser && rw.userIdle
			plans := map[string][]check{"used": absoluteUsed, "unused": absoluteUnused}
			if idle {
				plans = map[string][]check{"used": idleUsed, "unused": idleUnused}
			}
			for name, plan := range plans {
				t.Run(rw.version+"/"+string(kind)+"/"+name, func(t *testing.T) {
					t.Parallel()
					h := startVersion(t, rw.version)
					var tok string
					if kind == KindUser {
						tok = h.login()
					} else {
						tok = h.keyLogin()
					}
					if rw.jwt {
						assert.Regexp(t, jwtToken, tok)
						assert.Greater(t, len(tok), 32, "F9: R12 JWTs overflow a 32-character column")
					} else {
						assert.Regexp(t, opaqueToken, tok, "F6: 32 uppercase hex")
					}
					issued := h.Now()
					for _, c := range plan {
						require.NoError(t, h.SetNow(issued.Add(c.at)))
						if c.use {
							r := h.use(tok)
							require.Equal(t, c.want, h.code(r), "use at +%s: %s", c.at, r.Raw)
							if c.want == "OK" {
								assert.JSONEq(t, `{"id":"C1","number":"CI000111"}`, string(r.Data))
							} else {
								assert.Equal(t, "null", string(r.Data))
							}
						} else {
							info, ok := h.Token(tok)
							require.True(t, ok)
							require.Equal(t, c.want, string(info.State), "state at +%s", c.at)
						}
					}
				})
			}
		}
	}
}

// Ensure the methods a release lacks answer HTTP 404 METHOD_NOT_AVAILABLE (F7, F8), and
// release works, with Deprecation: true from R12 (F8).
func TestMethodAvailability(t *testing.T) {
	for _, rw := range releaseWants {
		t.Run(rw.version, func(t *testing.T) {
			t.Parallel()
			h := startVersion(t, rw.version)
			tok := h.login()

			k := h.post("authentication/web_api_key/token", nil, "Authorization", basic(docKey))
			if rw.keys {
				assert.Equal(t, 200, k.HTTP)
				assert.Equal(t, "OK", k.Status.Code, "%s", k.Raw)
			} else {
				assert.Equal(t, 404, k.HTTP, "F7: no key tokens before R10")
				assert.Equal(t, "METHOD_NOT_AVAILABLE", k.Status.Code)
				assert.Equal(t, "null", string(k.Data))
			}

			rel := h.post("authentication/token/release", map[string]string{"token": tok})
			switch {
			case !rw.release:
				assert.Equal(t, 404, rel.HTTP, "F8: no release before R10")
				assert.Equal(t, "METHOD_NOT_AVAILABLE", rel.Status.Code)
				assert.Equal(t, "OK", h.code(h.use(tok)), "the token is untouched")
			default:
				assert.Equal(t, 200, rel.HTTP)
				assert.Equal(t, "OK", rel.Status.Code, "%s", rel.Raw)
				assert.Equal(t, "{}", string(rel.Data), "F3: release answers data {}")
				if rw.deprecated {
					assert.Equal(t, "true", rel.Header.Get("Deprecation"), "F8: deprecated from R12")
				} else {
					assert.Empty(t, rel.Header.Get("Deprecation"))
				}
				assert.Equal(t, "TOKEN_RELEASED", h.code(h.use(tok)))
				again := h.post("authentication/token/release", map[string]string{"token": tok})
				assert.Equal(t, "TOKEN_RELEASED", again.Status.Code)
				info, _ := h.Token(tok)
				assert.Equal(t, StateReleased, info.State)
			}
		})
	}
}

// Ensure an R12 token has the published shape (F10).
func TestJWTShape(t *testing.T) {
	h := startVersion(t, "R12")
	tok := h.login()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	var header map[string]any
	decodeSegment(t, parts[0], &header)
	assert.Equal(t, map[string]any{"typ": "JWT", "alg": "HS256"}, header)

	var claims map[string]any
	decodeSegment(t, parts[1], &claims)
	assert.Equal(t, docUser, claims["usr"])
	assert.Equal(t, docOrg, claims["org"])
	assert.Equal(t, "1", claims["oun"], "F10: oun of the default unit")
	assert.Regexp(t, `^[0-9A-F]{32}$`, claims["jti"])
	iat, ok := claims["iat"].(string)
	require.True(t, ok, "F10: iat is a JSON string by default, got %T", claims["iat"])
	exp, ok := claims["exp"].(string)
	require.True(t, ok, "F10: exp is a JSON string by default, got %T", claims["exp"])
	assert.Equal(t, "1704099600", iat, "iat is the mock clock at issue")
	assert.Equal(t, "1704106800", exp, "F10: exp - iat = 7200")
	assert.Len(t, claims, 6)

	// the key token carries the key's user (F7) and the same shape
	kt := h.keyLogin()
	decodeSegment(t, strings.Split(kt, ".")[1], &claims)
	assert.Equal(t, docUser, claims["usr"])

	// two tokens issued in the same second differ (jti)
	assert.NotEqual(t, tok, h.login())
}

// Ensure jwt: {numeric_dates: true} makes iat/exp numbers.
func TestJWTNumericDates(t *testing.T) {
	sc := *DefaultScenario()
	sc.JWT.NumericDates = true
	h := start(t, Options{Version: "R12", Scenario: &sc})
	var claims map[string]any
	decodeSegment(t, strings.Split(h.login(), ".")[1], &claims)
	assert.Equal(t, float64(1704099600), claims["iat"])
	assert.Equal(t, float64(1704106800), claims["exp"])
}

func decodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, v))
}

// Ensure a token keeps the rule of the release that issued it across a run-time switch.
func TestReleaseSwitchKeepsRule(t *testing.T) {
	h := startVersion(t, "R10")
	opaque := h.login() // idle rule
	_, err := h.SetVersion("R12")
	require.NoError(t, err)
	jwtTok := h.login() // absolute rule
	assert.Regexp(t, jwtToken, jwtTok)
	assert.Regexp(t, opaqueToken, opaque)

	h.advance(59 * time.Minute)
	assert.Equal(t, "OK", h.code(h.use(opaque)), "still R10's idle hour")
	h.advance(59 * time.Minute) // 1h58m after issue: the R10 token was used at 59m
	assert.Equal(t, "OK", h.code(h.use(opaque)))
	assert.Equal(t, "OK", h.code(h.use(jwtTok)))
	h.advance(2 * time.Minute) // 2h after issue
	assert.Equal(t, "TOKEN_EXPIRED", h.code(h.use(jwtTok)), "R12: 2 h after issue")
	assert.Equal(t, "OK", h.code(h.use(opaque)), "R10 token: 2 min after its last use")

	_, err = h.SetVersion("R9")
	require.NoError(t, err)
	assert.Equal(t, "OK", h.code(h.use(opaque)))
	info, _ := h.Token(opaque)
	assert.Equal(t, "R10", info.Version)
	r := h.post("authentication/token/release", map[string]string{"token": opaque})
	assert.Equal(t, "METHOD_NOT_AVAILABLE", r.Status.Code, "the release's methods follow the switch")
}
