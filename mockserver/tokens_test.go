package mockserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/lint"
	"github.com/crmmock/crmmock/internal/tokens"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure live tokens are always kept, dead ones (released or expired) only up to
// KeepDead (the oldest go first, counted in "dropped"), and a dropped token is
// INVALID_TOKEN.
func TestStoreKeepsLiveDropsOldDead(t *testing.T) {
	h := start(t, Options{Version: "R10", KeepDead: 10})
	first := h.login()
	h.post("authentication/token/release", map[string]string{"token": first})
	var live []string
	wd, rel := h.snap.Load().world, &h.snap.Load().rel
	u := wd.orgs[docOrg].users[docUser]
	const n = 3 * tokens.SweepMin
	var lastDead string
	for i := range n {
		a := h.issue(nil, u, u.defaultUnit, rel, wd, h.Now())
		require.Nil(t, a.err)
		if i%3 == 0 {
			live = append(live, a.issued)
			continue
		}
		require.Nil(t, storeRelease(h.tokens, a.issued))
		lastDead = a.issued
	}
	toks := h.Tokens()
	dead := 0
	held := map[string]State{}
	for _, tk := range toks {
		held[tk.Token] = tk.State
		if tk.State != StateLive {
			dead++
		}
	}
	for _, v := range live {
		require.Equal(t, StateLive, held[v], "a live token is never dropped")
	}
	assert.LessOrEqual(t, dead, 10+tokens.SweepMin, "dead tokens beyond the bound are dropped at the amortised sweep")
	assert.Equal(t, StateReleased, held[lastDead], "the newest dead are kept")
	dropped := h.DroppedTokens()
	assert.Equal(t, uint64(n+1-len(live)-dead), dropped)
	assert.Greater(t, dropped, uint64(n/2))
	assert.Equal(t, "INVALID_TOKEN", h.code(h.use(first)), "the oldest dead token was dropped")

	st, v := h.admin("GET", "/__admin/tokens", "")
	require.Equal(t, 200, st)
	assert.Equal(t, float64(dropped), v["dropped"])
	assert.Len(t, v["tokens"], len(toks))

	// Expired tokens are dead too; live ones survive any number of sweeps.
	h.advance(2 * time.Hour)
	for range 2 * tokens.SweepMin {
		require.Nil(t, h.issue(nil, u, u.defaultUnit, rel, wd, h.Now()).err)
	}
	assert.Greater(t, h.DroppedTokens(), dropped+uint64(len(live))-1)
	h.Reset()
	assert.Zero(t, h.DroppedTokens())
}

// Ensure ExpireToken expires a live token at that moment (TOKEN_EXPIRED, the timeline
// and expires_at say when), RevokeToken forgets one (INVALID_TOKEN, as after a
// restart) and RevokeAllTokens forgets all.
func TestExpireAndRevoke(t *testing.T) {
	for _, version := range []string{"R10", "R12"} {
		h := startVersion(t, version)
		a, b, c := h.login(), h.login(), h.login()
		h.advance(5 * time.Minute)
		require.NoError(t, h.ExpireToken(a))
		assert.Equal(t, "TOKEN_EXPIRED", h.code(h.use(a)), version)
		tk, _ := h.Token(a)
		assert.Equal(t, t0.Add(5*time.Minute), tk.ExpiresAt.UTC())
		tl, _ := h.TokenTimeline(a)
		assert.Equal(t, []ev{{0, "issued", ""}, {5 * time.Minute, "expired", ""}, {5 * time.Minute, "rejected", "TOKEN_EXPIRED"}}, eventsOf(tl))
		h.advance(time.Minute)
		require.NoError(t, h.ExpireToken(a), "already expired: unchanged")
		tk, _ = h.Token(a)
		assert.Equal(t, t0.Add(5*time.Minute), tk.ExpiresAt.UTC())

		require.NoError(t, h.RevokeToken(b))
		r := h.use(b)
		assert.Equal(t, "INVALID_TOKEN", h.code(r), version)
		_, held := h.Token(b)
		assert.False(t, held)
		for _, tk := range h.Tokens() {
			assert.NotEqual(t, b, tk.Token)
		}
		assert.ErrorIs(t, h.RevokeToken(b), ErrUnknownToken)
		assert.ErrorIs(t, h.ExpireToken("nope"), ErrUnknownToken)

		if version == "R10" {
			h.post("authentication/token/release", map[string]string{"token": c})
			assert.ErrorIs(t, h.ExpireToken(c), ErrTokenReleased)
		}
		d := h.login()
		h.RevokeAllTokens()
		assert.Equal(t, "INVALID_TOKEN", h.code(h.use(d)))
		assert.Empty(t, h.Tokens())
	}
}

// Ensure a JWT is stored without its string (digest and jti), rebuilt byte for byte
// when listed, for string and numeric dates.
func TestJWTStoredCompactly(t *testing.T) {
	for _, numeric := range []bool{false, true} {
		sc := *DefaultScenario()
		sc.JWT.NumericDates = numeric
		h := start(t, Options{Version: "R12", Scenario: &sc})
		tok := h.login()
		r, _, _, found := h.tokens.Present(tok, tokens.KeyOf(tok), tokens.Check)
		require.True(t, found)
		assert.Empty(t, r.Opaque())
		require.True(t, r.JWT())
		assert.Equal(t, tok, h.tokens.Value(r))
		assert.Equal(t, tok, h.Tokens()[0].Token)
		st, v := h.admin("GET", "/__admin/tokens", "")
		require.Equal(t, 200, st)
		assert.Equal(t, tok, v["tokens"].([]any)[0].(map[string]any)["token"])
	}
}

// Ensure a use of a token the mock issued is judged by exact match, without verifying
// its signature again (with the signing secret changed behind the store, the token
// still works while a forged one with a valid shape is still refused).
func TestUseDoesNotReverifyIssuedJWT(t *testing.T) {
	h := startVersion(t, "R12")
	tok := h.login()
	saved := h.secret
	h.secret = []byte("another secret: checkJWT would refuse every issued token")
	defer func() { h.secret = saved }()
	assert.Equal(t, "OK", h.code(h.use(tok)))
	other := tok[:len(tok)-2] + "AA"
	if other == tok {
		other = tok[:len(tok)-2] + "BB"
	}
	assert.Equal(t, "INVALID_TOKEN", h.code(h.use(other)))
}

// Ensure the JWT header is {"typ":"JWT","alg":"HS256"} byte for byte (F10).
func TestJWTHeaderBytes(t *testing.T) {
	h := startVersion(t, "R12")
	tok := h.login()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	require.NoError(t, err)
	assert.Equal(t, `{"typ":"JWT","alg":"HS256"}`, string(raw))
}

// Ensure on the real clock a JWT's iat is the token's issued_at to the second and its
// exp is expires_at exactly (F10: exp - iat = 7200).
func TestJWTDatesMatchStoreOnRealClock(t *testing.T) {
	h := start(t, Options{Version: "R12", RealClock: true})
	for range 3 {
		tok := h.login()
		raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
		require.NoError(t, err)
		var c struct{ Iat, Exp string }
		require.NoError(t, json.Unmarshal(raw, &c))
		iat, _ := strconv.ParseInt(c.Iat, 10, 64)
		exp, _ := strconv.ParseInt(c.Exp, 10, 64)
		tk, ok := h.Token(tok)
		require.True(t, ok)
		assert.Equal(t, time.Unix(iat, 0).UTC(), tk.IssuedAt.UTC())
		assert.Equal(t, time.Unix(exp, 0).UTC(), tk.ExpiresAt.UTC())
		time.Sleep(3 * time.Millisecond) // land on another fraction of a second
	}
}

// Ensure the lint's prefix lookup (truncated-token) finds the issued token a presented
// string is a proper prefix of (16 characters or more), for both formats, and nothing
// for near misses.
func TestPrefixOf(t *testing.T) {
	for _, version := range []string{"R10", "R12"} {
		h := startVersion(t, version)
		tok := h.login()
		h.login()
		// prefixOf presents p and answers the token the lint says it was cut from.
		prefixOf := func(p string) (string, bool) {
			h.ClearJournal()
			h.use(p)
			fs := findings(h.Lint(), "truncated-token")
			if len(fs) == 0 {
				return "", false
			}
			return fs[0].Token, true
		}
		got, ok := prefixOf(tok[:16])
		assert.True(t, ok, version)
		assert.True(t, strings.HasPrefix(got, tok[:16]))
		got, ok = prefixOf(tok[:len(tok)-1])
		assert.True(t, ok)
		assert.Equal(t, tok, got)
		_, ok = prefixOf(tok)
		assert.False(t, ok, "the whole token is no proper prefix")
		_, ok = prefixOf(tok[:15])
		assert.False(t, ok, "under 16 characters")
		_, ok = prefixOf(strings.Repeat("Z", 31))
		assert.False(t, ok, "31 characters that prefix nothing")
		h.login() // the index follows new tokens
		last := h.Tokens()[2].Token
		got, ok = prefixOf(last[:len(last)-3])
		assert.True(t, ok)
		assert.Equal(t, last, got)
	}
}

// Ensure the lint's token listing carries principal, kind, rule, profile, times,
// state, uses and the issuing request.
func TestTokenSnapshots(t *testing.T) {
	h := startVersion(t, "R10")
	tok := h.login()
	h.keyLogin()
	h.use(tok)
	h.use(tok)
	snaps := h.tokens.LintTokens(nil)
	require.Len(t, snaps, 2)
	j := h.Journal()
	u, k := snaps[0], snaps[1]
	assert.Equal(t, lint.Token{Value: tok, Kind: "user", Principal: "user " + docUser + "@" + docOrg, Profile: "R10", Idle: true,
		Life: time.Hour, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour), LastUsed: t0, State: "live", IssueRequest: j[0].ID, Uses: 2}, u)
	assert.Equal(t, "web_api_key", k.Kind)
	assert.Equal(t, "key …2192", k.Principal)
	assert.False(t, k.Idle)
	assert.Equal(t, 2*time.Hour, k.Life)
	assert.Equal(t, j[1].ID, k.IssueRequest)
	assert.NotContains(t, k.Principal, docKey)
}

// The store's judgement without the Web API around it (the benchmarks' baseline, the
// fuzz and store tests): present, with INVALID_TOKEN for a token it does not hold.

// use checks a token now and, when live, records the use (restarting an idle rule's
// hour when touch is set). It answers INVALID_TOKEN for a token it does not hold.
func storeUse(s *store, value string, touch bool) (*record, *apiError) {
	p := tokens.Check
	if touch {
		p = tokens.Use
	}
	r, _, j, found := s.Present(value, tokens.KeyOf(value), p)
	if !found {
		return nil, errorf(CodeInvalidToken, "token: no such token was issued")
	}
	return r, judgementError(j)
}

// storeRelease makes a live token unusable.
func storeRelease(s *store, value string) *apiError {
	_, _, j, found := s.Present(value, tokens.KeyOf(value), tokens.Release)
	if !found {
		return errorf(CodeInvalidToken, "token: no such token was issued")
	}
	return judgementError(j)
}

// timelineOf reads GET /__admin/tokens/{token}.
func (h *harness) timelineOf(tok string) (int, TokenTimeline, string) {
	h.t.Helper()
	resp, err := h.Client().Get(h.URL + "/__admin/tokens/" + url.PathEscape(tok))
	require.NoError(h.t, err)
	defer resp.Body.Close()
	var raw bytes.Buffer
	_, _ = raw.ReadFrom(resp.Body)
	var tl TokenTimeline
	var e struct {
		Error string `json:"error"`
	}
	require.NoError(h.t, json.Unmarshal(raw.Bytes(), &tl), "%s", raw.Bytes())
	_ = json.Unmarshal(raw.Bytes(), &e)
	return resp.StatusCode, tl, e.Error
}

type ev struct {
	at    time.Duration // after t0
	event string
	code  string
}

func eventsOf(tl TokenTimeline) []ev {
	out := make([]ev, len(tl.Events))
	for i, e := range tl.Events {
		out[i] = ev{e.Time.Sub(t0), e.Event, e.Code}
	}
	return out
}

// Ensure an idle-rule token's timeline shows issue, uses, the expiry at the exact
// moment of the mock clock (last use + 1 h), then the rejection; each event points at
// its journal entry (F6).
func TestTokenTimelineIdle(t *testing.T) {
	h := startVersion(t, "R10")
	tok := h.login()
	h.advance(10 * time.Minute)
	require.Equal(t, "OK", h.code(h.use(tok)))
	h.advance(10 * time.Minute)
	require.Equal(t, "OK", h.code(h.use(tok)))

	h.advance(time.Hour - time.Nanosecond) // the last nanosecond of life
	tl, ok := h.TokenTimeline(tok)
	require.True(t, ok)
	assert.Equal(t, StateLive, tl.State)
	assert.NotContains(t, eventsOf(tl), ev{80 * time.Minute, "expired", ""})

	h.advance(time.Nanosecond)
	tl, _ = h.TokenTimeline(tok)
	assert.Equal(t, StateExpired, tl.State)
	h.advance(10 * time.Minute)
	require.Equal(t, "TOKEN_EXPIRED", h.code(h.use(tok)))

	st, tl, _ := h.timelineOf(tok)
	require.Equal(t, 200, st)
	assert.Equal(t, []ev{{0, "issued", ""}, {10 * time.Minute, "used", ""}, {20 * time.Minute, "used", ""},
		{80 * time.Minute, "expired", ""}, {90 * time.Minute, "rejected", "TOKEN_EXPIRED"}}, eventsOf(tl))
	assert.Equal(t, 2, tl.Uses)
	assert.Equal(t, 1, tl.Rejections)
	assert.Equal(t, tok, tl.Token.Token)
	assert.Equal(t, t0.Add(80*time.Minute), tl.ExpiresAt.UTC())

	j := h.Journal()
	require.Len(t, j, 4)
	for i, e := range []int{0, 1, 2, 4} { // the expired event is no request
		assert.Equal(t, j[i].ID, tl.Events[e].Request, "event %d → journal entry %d", e, i)
	}
	assert.Zero(t, tl.Events[3].Request)
}

// Ensure an R12 token expires 2 h after issue however it is used, and the timeline
// says so at that exact moment (F9).
func TestTokenTimelineAbsolute(t *testing.T) {
	h := startVersion(t, "R12")
	tok := h.login()
	h.advance(119 * time.Minute)
	require.Equal(t, "OK", h.code(h.use(tok)))
	h.advance(time.Minute)
	require.Equal(t, "TOKEN_EXPIRED", h.code(h.use(tok)), "2 h after issue, used a minute ago")
	tl, ok := h.TokenTimeline(tok)
	require.True(t, ok)
	assert.Equal(t, []ev{{0, "issued", ""}, {119 * time.Minute, "used", ""}, {2 * time.Hour, "expired", ""},
		{2 * time.Hour, "rejected", "TOKEN_EXPIRED"}}, eventsOf(tl))
}

// Ensure a release and what follows it are on the timeline, and a released token never
// shows an expiry (F8).
func TestTokenTimelineReleased(t *testing.T) {
	h := startVersion(t, "R10")
	tok := h.login()
	h.advance(time.Minute)
	require.Equal(t, "OK", h.code(h.post("authentication/token/release", map[string]string{"token": tok})))
	h.advance(time.Minute)
	require.Equal(t, "TOKEN_RELEASED", h.code(h.use(tok)))
	require.Equal(t, "TOKEN_RELEASED", h.code(h.post("authentication/token/release", map[string]string{"token": tok})))
	h.advance(3 * time.Hour)
	tl, _ := h.TokenTimeline(tok)
	assert.Equal(t, StateReleased, tl.State)
	assert.Equal(t, []ev{{0, "issued", ""}, {time.Minute, "released", ""}, {2 * time.Minute, "rejected", "TOKEN_RELEASED"},
		{2 * time.Minute, "rejected", "TOKEN_RELEASED"}}, eventsOf(tl))
	assert.Equal(t, 0, tl.Uses)
	assert.Equal(t, 2, tl.Rejections)
}

// Ensure a token presented many times keeps the first 16 and the last 16 events and
// counts the rest; a token never presented keeps no event list at all.
func TestTokenTimelineBounded(t *testing.T) {
	h := startVersion(t, "R10")
	idle := h.login()
	tok := h.login()
	for i := 1; i <= 100; i++ {
		h.advance(time.Second)
		require.Equal(t, "OK", h.code(h.use(tok)))
	}
	tl, _ := h.TokenTimeline(tok)
	assert.Equal(t, 100, tl.Uses)
	assert.Equal(t, 68, tl.Omitted)
	require.Len(t, tl.Events, 1+16+16)
	assert.Equal(t, t0.Add(16*time.Second), tl.Events[16].Time.UTC(), "the 16th use is the last of the first 16")
	assert.Equal(t, t0.Add(85*time.Second), tl.Events[17].Time.UTC(), "the ring holds the 85th to the 100th")
	assert.Equal(t, t0.Add(100*time.Second), tl.Events[32].Time.UTC())

	r, _, _, _ := h.tokens.Present(idle, tokens.KeyOf(idle), tokens.Check)
	_, _, _, listed := h.tokens.EventsKept(r)
	assert.False(t, listed, "never presented: no event list")
	tl, _ = h.TokenTimeline(idle)
	assert.Equal(t, []ev{{0, "issued", ""}}, eventsOf(tl))
}

// Ensure GET /__admin/tokens/{token} is a 404 JSON error for a token never issued,
// and carries the fields of docs/lint.md ("Token timelines"), uses and events otherwise.
func TestTokenTimelineHTTP(t *testing.T) {
	h := startVersion(t, "R12")
	st, _, msg := h.timelineOf("4AD9C84FA60F9FE407140E20F707726A")
	assert.Equal(t, http.StatusNotFound, st)
	assert.Contains(t, msg, "never issued")
	tok := h.login()
	resp, err := h.Client().Get(h.URL + "/__admin/tokens/" + tok)
	require.NoError(t, err)
	defer resp.Body.Close()
	var v map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	for _, k := range []string{"token", "kind", "version", "user", "organisation", "unit", "issued_at", "last_used_at", "expires_at", "state", "uses", "rejections", "events"} {
		assert.Contains(t, v, k)
	}
	assert.Equal(t, tok, v["token"])
	_, ok := h.TokenTimeline("nope")
	assert.False(t, ok)
}

// tokensAnswer is GET /__admin/tokens as a client decodes it.
type tokensAnswer struct {
	Tokens  []Token        `json:"tokens"`
	Counts  map[string]int `json:"counts"`
	Dropped *uint64        `json:"dropped"`
	Error   string         `json:"error"`
}

// tokensOf reads GET /__admin/tokens with a raw query, checked against admin-openapi.yaml.
func (h *harness) tokensOf(query string) (int, tokensAnswer) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.URL+"/__admin/tokens"+query, nil)
	require.NoError(h.t, err)
	resp, err := h.Client().Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	checkAdminAnswer(h.t, req, resp.StatusCode, resp.Header, raw)
	var v tokensAnswer
	require.NoError(h.t, json.Unmarshal(raw, &v), "%s", raw)
	return resp.StatusCode, v
}

func tokenValues(ts []Token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Token
	}
	return out
}

// Ensure GET /__admin/tokens selects by ?limit (the newest N, in issue order) and
// ?state, always counts every held token by state, and rebuilds the listed R12 JWTs
// exactly as issued; a bad value is a 400 naming the parameter.
func TestTokenListFilters(t *testing.T) {
	h := startVersion(t, "R12")
	a := h.login() // 09:00, expires 11:00 (F9: 2 h after issue)
	h.advance(10 * time.Minute)
	b := h.login() // released at 09:15
	h.advance(5 * time.Minute)
	require.Equal(t, "OK", h.code(h.post("authentication/token/release", map[string]string{"token": b})))
	h.advance(5 * time.Minute)
	c := h.login() // expired early at 09:25
	h.advance(5 * time.Minute)
	require.NoError(t, h.ExpireToken(c))
	h.advance(5 * time.Minute)
	d := h.login() // 09:30, live until 11:30
	gone := h.login()
	require.NoError(t, h.RevokeToken(gone), "a revoked token is neither listed nor counted")
	e := h.login()
	h.advance(95 * time.Minute) // 11:05: a expired, d and e live

	want := map[string]int{"live": 2, "expired": 2, "released": 1}
	st, all := h.tokensOf("")
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, []string{a, b, c, d, e}, tokenValues(all.Tokens), "every held token, in issue order")
	assert.Equal(t, want, all.Counts)
	require.NotNil(t, all.Dropped)
	assert.Zero(t, *all.Dropped)
	states := make([]State, len(all.Tokens))
	for i, tk := range all.Tokens {
		states[i] = tk.State
	}
	assert.Equal(t, []State{StateExpired, StateReleased, StateExpired, StateLive, StateLive}, states)

	for q, toks := range map[string][]string{
		"?limit=2":                {d, e},
		"?limit=5":                {a, b, c, d, e},
		"?limit=100":              {a, b, c, d, e},
		"?state=live":             {d, e},
		"?state=expired":          {a, c},
		"?state=released":         {b},
		"?state=expired&limit=1":  {c},
		"?limit=1&state=released": {b},
	} {
		st, got := h.tokensOf(q)
		require.Equal(t, http.StatusOK, st, q)
		assert.Equal(t, toks, tokenValues(got.Tokens), "%s: the JWTs as issued, oldest first", q)
		assert.Equal(t, want, got.Counts, "%s: counts are every held token's, whatever the filter", q)
		for _, tk := range got.Tokens {
			assert.Equal(t, all.Tokens[indexOf(all.Tokens, tk.Token)], tk, q)
		}
	}
	// None in a state: an empty list, not null.
	h.advance(time.Hour)
	st, got := h.tokensOf("?state=live")
	require.Equal(t, http.StatusOK, st)
	assert.NotNil(t, got.Tokens)
	assert.Empty(t, got.Tokens)
	assert.Equal(t, map[string]int{"live": 0, "expired": 4, "released": 1}, got.Counts)

	for q, param := range map[string]string{"?limit=0": "limit", "?limit=x": "limit", "?limit=-3": "limit",
		"?limit=": "limit", "?limit=1.5": "limit", "?state=dead": "state", "?state=": "state", "?state=LIVE": "state",
		"?state=live&limit=0": "limit"} {
		st, v := h.tokensOf(q)
		assert.Equal(t, http.StatusBadRequest, st, q)
		assert.True(t, strings.HasPrefix(v.Error, param+":"), "%s: %q", q, v.Error)
	}
}

func indexOf(ts []Token, v string) int {
	for i, t := range ts {
		if t.Token == v {
			return i
		}
	}
	return -1
}

// Ensure the Go API lists what the control API answers, and Tokens stays every token.
func TestTokensFilteredGo(t *testing.T) {
	h := startVersion(t, "R10")
	first := h.login()
	h.advance(61 * time.Minute) // F6: idle hour passed
	second, third := h.login(), h.keyLogin()

	l := h.TokensFiltered(TokenFilter{State: StateLive, Limit: 1})
	assert.Equal(t, []string{third}, tokenValues(l.Tokens))
	assert.Equal(t, TokenCounts{Live: 2, Expired: 1}, l.Counts)
	_, got := h.tokensOf("?state=live&limit=1")
	assert.Equal(t, l.Tokens, got.Tokens)

	full := h.TokensFiltered(TokenFilter{})
	assert.Equal(t, []string{first, second, third}, tokenValues(full.Tokens))
	assert.Equal(t, full.Tokens, h.Tokens())
}

// Ensure listing the newest 100 of many held JWTs rebuilds only those: its allocations
// do not grow with the tokens held (the full listing signs every JWT again).
func TestTokenListLimitCostsNoFullRebuild(t *testing.T) {
	const held = 5000
	small, big := newTestMock(t, "R12"), newTestMock(t, "R12")
	issueN(t, small, 100)
	issueN(t, big, held)
	list := func(m *Mock, query string) func() {
		return func() {
			rec := httptest.NewRecorder()
			m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/__admin/tokens"+query, nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	}
	of100 := testing.AllocsPerRun(5, list(small, "?limit=100"))
	ofBig := testing.AllocsPerRun(5, list(big, "?limit=100"))
	all := testing.AllocsPerRun(2, list(big, ""))
	t.Logf("allocations: newest 100 of 100 held %.0f, newest 100 of %d held %.0f, all %d %.0f", of100, held, ofBig, held, all)
	assert.Less(t, ofBig, 1.2*of100+50, "listing 100 of %d costs about what listing 100 of 100 does", held)
	assert.Greater(t, all, 10*ofBig, "the full listing rebuilds every JWT")
}

// BenchmarkTokenList: GET /__admin/tokens with 100 000 R12 JWTs held (the keep-dead
// bound), the whole listing against the newest 100 and the newest 1 000 (the dashboard's
// poll) and the counts of one state.
func BenchmarkTokenList(b *testing.B) {
	m := newTestMock(b, "R12")
	issueN(b, m, 100_000)
	for _, q := range []string{"", "?limit=1000", "?limit=100", "?state=released"} {
		b.Run("query="+q, func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for range b.N {
				rec := httptest.NewRecorder()
				m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/__admin/tokens"+q, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "B/answer")
		})
	}
}

// Ensure the streamed listing (GET /__admin/tokens) is byte for byte what encoding the
// Go API's TokenList gives, for every filter, on both token formats.
func TestTokenListStreamMatchesTokensFiltered(t *testing.T) {
	for _, version := range []string{"R10", "R12"} {
		m := newTestMock(t, version)
		issueN(t, m, 300)
		toks := m.Tokens()
		require.NoError(t, m.ExpireToken(toks[3].Token))
		_, err := m.Advance(30 * time.Minute)
		require.NoError(t, err)
		for _, f := range []TokenFilter{{}, {Limit: 7}, {State: StateExpired}, {State: StateLive, Limit: 250}, {State: StateReleased}} {
			var got bytes.Buffer
			require.NoError(t, m.tokens.Stream(f, &got))
			want, err := json.Marshal(m.TokensFiltered(f))
			require.NoError(t, err)
			require.Equal(t, string(want)+"\n", got.String(), "%s %+v", version, f)
		}
	}
}

// BenchmarkTokenListPeakHeap is the full listing of 100 000 R12 tokens written to a
// client that discards it, the way the control API wrote it before (the TokenList built
// and marshalled whole) and streamed: peak-heap-MB is the most live heap seen while it
// ran, above the store's own.
func BenchmarkTokenListPeakHeap(b *testing.B) {
	m := newTestMock(b, "R12")
	issueN(b, m, 100_000)
	for _, way := range []string{"marshal", "stream"} {
		b.Run(way, func(b *testing.B) {
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			var peak atomic.Uint64
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { // sample the live heap while the listings run
				defer close(done)
				var ms runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
					runtime.ReadMemStats(&ms)
					if ms.HeapAlloc > peak.Load() {
						peak.Store(ms.HeapAlloc)
					}
				}
			}()
			for range b.N {
				if way == "marshal" {
					body, err := json.Marshal(m.TokensFiltered(TokenFilter{}))
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Discard.Write(body)
				} else if err := m.tokens.Stream(TokenFilter{}, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			close(stop)
			<-done
			b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapAlloc))/(1<<20), "peak-heap-MB")
		})
	}
}

// Ensure a full token store evicts the least recently used token of its mock (a
// token used since the eviction hand passed keeps its place), that presenting the
// evicted token answers INVALID_TOKEN naming the bound, that /__admin/tokens counts
// it, and that the lint names it (token-evicted).
func TestMaxTokensEvictsLeastRecentlyUsed(t *testing.T) {
	for _, version := range []string{"R10", "R12"} {
		t.Run(version, func(t *testing.T) {
			h := start(t, Options{Version: version, MaxTokens: 3})
			t1, t2, t3 := h.login(), h.login(), h.login()
			require.Equal(t, "OK", h.code(h.use(t1)))
			require.Equal(t, "OK", h.code(h.use(t3)))
			t4 := h.login() // the fourth: t2, never used, is evicted

			r := h.use(t2)
			require.Equal(t, "INVALID_TOKEN", h.code(r))
			require.Equal(t, "evicted: token store full (--max-tokens 3)", *r.Status.Description)
			for _, tok := range []string{t1, t3, t4} {
				require.Equal(t, "OK", h.code(h.use(tok)))
			}
			l := h.TokensFiltered(TokenFilter{})
			require.Len(t, l.Tokens, 3)
			require.Equal(t, uint64(1), l.Evicted)

			rep := h.Lint()
			var ids []string
			for _, f := range rep.Findings {
				ids = append(ids, f.Rule)
				if f.Rule == "token-evicted" {
					require.Equal(t, t2, f.Token)
					require.Contains(t, f.Message, "--max-tokens 3")
				}
			}
			require.Contains(t, ids, "token-evicted")

			h.Reset()
			require.Equal(t, uint64(0), h.TokensFiltered(TokenFilter{}).Evicted)
		})
	}
}

// Ensure the control API tells an evicted token as the Web API does: its timeline,
// expire and revoke answered 404 "was never issued by this mock" while presenting it
// answered INVALID_TOKEN naming the bound, so a suite debugging a login flood was told
// the token never existed.
func TestControlNamesEvictedToken(t *testing.T) {
	for _, version := range []string{"R10", "R12"} {
		t.Run(version, func(t *testing.T) {
			h := start(t, Options{Version: version, MaxTokens: 1})
			first := h.login()
			h.login() // past --max-tokens 1: first is evicted
			require.Equal(t, "evicted: token store full (--max-tokens 1)", *h.use(first).Status.Description)
			for _, call := range [][2]string{{"GET", ""}, {"POST", "/expire"}, {"POST", "/revoke"}} {
				st, v := h.admin(call[0], "/__admin/tokens/"+first+call[1], "")
				assert.Equal(t, 404, st, call)
				assert.Contains(t, v["error"], "is not held by this mock: evicted: token store full (--max-tokens 1)", call)
			}
			st, v := h.admin("GET", "/__admin/tokens/"+strings.Repeat("A", 32), "")
			assert.Equal(t, 404, st)
			assert.Contains(t, v["error"], "(never issued, revoked, dropped as long dead, or evicted too long ago to be remembered)")
		})
	}
}

// Ensure the process-wide budget is shared by the root and its sandboxes: past it the
// issuing sandbox evicts one of its own tokens, never the root's or another sandbox's,
// and a dropped sandbox gives its tokens back.
func TestTokenBudgetAcrossSandboxes(t *testing.T) {
	h := start(t, Options{Version: "R12", MaxTokens: -1, TokenBudget: 4})
	r1, r2 := h.login(), h.login()
	a := h.createSandbox(`{}`)
	a1, a2 := a.login(), a.login()
	a3 := a.login() // 5 held > 4: sandbox a evicts its own least recently used, a1
	require.Equal(t, "INVALID_TOKEN", a.use(a1))
	for _, tok := range []string{a2, a3} {
		require.Equal(t, "OK", a.use(tok))
	}
	for _, tok := range []string{r1, r2} {
		require.Equal(t, "OK", h.code(h.use(tok)))
	}
	b := h.createSandbox(`{}`)
	b1 := b.login() // the budget is full, but b holds no other token: it keeps this one
	require.Equal(t, "OK", b.use(b1))
	require.Equal(t, "OK", a.use(a2))

	require.True(t, h.DeleteSandbox(a.id)) // a's two tokens leave the budget
	r3 := h.login()
	for _, tok := range []string{r1, r2, r3} {
		require.Equal(t, "OK", h.code(h.use(tok)), "the root evicted a token while the budget had room")
	}
	require.Equal(t, uint64(0), h.TokensFiltered(TokenFilter{}).Evicted)
}

// Ensure an evicted opaque token of a scenario's own length (token.opaque_length) is
// still answered with the eviction's reason, not as never issued.
func TestEvictedTokenOfScenarioLength(t *testing.T) {
	sc := *DefaultScenario()
	sc.Token.OpaqueLength = 48
	sc.Limits.MaxTokens = 1
	h := start(t, Options{Version: "R10", Scenario: &sc})
	h.offContract = true // the contract's token pattern is the default shape
	first := h.login()
	require.Len(t, first, 48)
	h.login() // past limits.max_tokens 1: first is evicted
	r := h.use(first)
	require.Equal(t, "INVALID_TOKEN", h.code(r))
	require.Equal(t, "evicted: token store full (scenario limits.max_tokens 1)", *r.Status.Description)
}

// Ensure the evicted tokens whose reason is remembered are the newest 65 536 of the root
// and its sandboxes together (docs/faults-and-sandboxes.md, Token bounds and memory
// budgets) also when there is no token budget (--token-budget 0): once the root
// remembers 65 536, a sandbox keeps only its newest eviction, and its older evicted
// token answers INVALID_TOKEN as one never issued.
func TestEvictedMemorySharedWithoutATokenBudget(t *testing.T) {
	const remembered = 1 << 16
	root, err := New(Options{Version: "R10", MaxTokens: 1, TokenBudget: -1, JWTSecret: []byte(fixedSecret), Start: t0})
	require.NoError(t, err)
	t.Cleanup(func() { root.Close() })
	issueN(t, root, remembered+1) // the first evicts nothing
	sb, err := root.NewSandbox(SandboxOptions{})
	require.NoError(t, err)
	wd, rel := sb.mock.snap.Load().world, &sb.mock.snap.Load().rel
	u := wd.orgs[docOrg].users[docUser]
	var issued []string
	for range 3 {
		a := sb.mock.issue(nil, u, u.defaultUnit, rel, wd, sb.mock.Now())
		require.Nil(t, a.err)
		issued = append(issued, a.issued)
	}
	newest := sb.mock.checkToken(issued[1], tokens.Use)
	require.NotNil(t, newest.err)
	assert.Contains(t, newest.err.Description, "evicted", "the sandbox's newest eviction answers why")
	older := sb.mock.checkToken(issued[0], tokens.Use)
	require.NotNil(t, older.err)
	assert.NotContains(t, older.err.Description, "evicted", "the sandbox remembered past the shared 65 536")
}
