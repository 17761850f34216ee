package mockserver

import (
	"bytes"
	"encoding/json"
	"github.com/crmmock/crmmock/internal/tokens"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

// Ensure the info log has one line per Web API request (method, path, code, reason,
// mock time, a short token id that differs between JWTs), plus clock moves, release
// switches, scenario swaps and resets; at warn only contract violations remain.
func TestLogLines(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		var buf bytes.Buffer
		h := start(t, Options{Version: "R12", Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))})
		a := h.login()
		b := h.login()
		h.advance(2 * time.Hour)
		h.use(a)
		h.get("contact_information/show", nil) // violation: no token
		_, _ = h.SetVersion("R10")
		require.NoError(t, h.SetScenario(DefaultScenario()))
		h.Reset()
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if level == slog.LevelWarn {
			require.Len(t, lines, 1, "%s", buf.String())
			assert.Contains(t, lines[0], "level=WARN")
			assert.Contains(t, lines[0], "contract violation")
			continue
		}
		require.Len(t, lines, 8, "%s", buf.String())
		assert.Contains(t, lines[0], `msg=request`)
		assert.Contains(t, lines[0], `code=OK`)
		assert.Contains(t, lines[0], "path=/crmapi/rest/v2/authentication/token")
		assert.Contains(t, lines[0], "mock_time=2024-01-01T09:00:00Z")
		assert.Contains(t, lines[0], "token=…"+a[len(a)-8:])
		assert.Contains(t, lines[1], "token=…"+b[len(b)-8:])
		assert.NotEqual(t, a[len(a)-8:], b[len(b)-8:])
		assert.Contains(t, lines[2], "clock advanced")
		assert.Contains(t, lines[3], "code=TOKEN_EXPIRED")
		assert.Contains(t, lines[3], `reason="token: expired at 2024-01-01T11:00:00Z`)
		assert.Contains(t, lines[3], "mock_time=2024-01-01T11:00:00Z")
		assert.Contains(t, lines[4], "level=WARN")
		assert.Contains(t, lines[5], "release switched")
		assert.Contains(t, lines[6], "scenario replaced")
		assert.Contains(t, lines[7], "msg=reset")
		assert.NotContains(t, buf.String(), docPass)
	}
}
