package mockserver

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
