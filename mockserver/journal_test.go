package mockserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/crmmock/crmmock/internal/journal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// journalOf reads GET /__admin/requests with a raw query and decodes the entries.
func (h *harness) journalOf(query string) (int, []JournalEntry, string) {
	h.t.Helper()
	resp, err := h.Client().Get(h.URL + "/__admin/requests" + query)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	var v struct {
		Requests []JournalEntry `json:"requests"`
		Error    string         `json:"error"`
	}
	require.NoError(h.t, json.NewDecoder(resp.Body).Decode(&v))
	return resp.StatusCode, v.Requests, v.Error
}

// Ensure each journal entry says what was asked and why it was answered so: id, mock
// time, operation, code, description, token presented and issued, principal; a forged,
// a truncated and a never-issued token appear with their reasons.
func TestJournalExplains(t *testing.T) {
	h := startVersion(t, "R12")
	tok := h.login()
	h.advance(90 * time.Second)
	require.Equal(t, "OK", h.code(h.use(tok)))
	forged := tok[:len(tok)-4] + "AAAA"
	if forged == tok {
		forged = tok[:len(tok)-4] + "BBBB"
	}
	truncated := tok[:40]      // inside the claims: one dot
	cutSig := tok[:len(tok)-3] // inside the signature
	never := "4AD9C84FA60F9FE407140E20F707726A"
	for _, bad := range []string{forged, truncated, cutSig, never} {
		require.Equal(t, "INVALID_TOKEN", h.code(h.use(bad)))
	}
	h.get("nope", nil) // unrouted: one segment

	j := h.Journal()
	require.Len(t, j, 7)
	for i := 1; i < len(j); i++ {
		assert.Greater(t, j[i].ID, j[i-1].ID, "ids increase")
	}
	login, use := j[0], j[1]
	lj := h.journal.Snapshot() // with what only the lint reads
	assert.Equal(t, "authentication/token", login.Operation)
	assert.Equal(t, "OK", login.Code)
	assert.Equal(t, tok, login.Issued)
	assert.Empty(t, login.Token)
	assert.Equal(t, "user "+docUser+"@"+docOrg, lj[0].Principal)
	assert.Equal(t, t0, login.Time.UTC())
	assert.Equal(t, "R12", login.Version)
	assert.Equal(t, "R12", lj[0].Profile)

	assert.Equal(t, "contact_information/show", use.Operation)
	assert.Equal(t, tok, use.Token)
	assert.Equal(t, t0.Add(90*time.Second), use.Time.UTC())
	assert.Equal(t, CodeOK, Code(lj[1].Catalogue))

	reasons := map[string]string{forged: "signature does not verify", truncated: "malformed", cutSig: "signature does not verify", never: "no such token was issued"}
	for _, e := range j[2:6] {
		assert.Equal(t, "INVALID_TOKEN", e.Code)
		assert.Contains(t, e.Description, reasons[e.Token], "entry %+v", e)
	}
	assert.Equal(t, "", j[6].Operation, "unrouted")
	assert.Equal(t, "INVALID_REQUEST", j[6].Code)
	assert.NotEmpty(t, j[6].Violations)

	// The same over HTTP, with the fields in the documented order.
	resp, err := h.Client().Get(h.URL + "/__admin/requests?limit=1&code=OK")
	require.NoError(t, err)
	defer resp.Body.Close()
	var raw bytes.Buffer
	_, _ = raw.ReadFrom(resp.Body)
	want := `{"requests":[{"id":` + jsonNum(use.ID) + `,"time":"2024-01-01T09:01:30Z","method":"GET","path":"/crmapi/rest/v2/contact_information/show","operation":"contact_information/show","status":200,"code":"OK","description":"","version":"R12","token":"` + tok + `"}]}` + "\n"
	assert.Equal(t, want, raw.String())
}

func jsonNum(n uint64) string { b, _ := json.Marshal(n); return string(b) }

// Ensure passwords and Web API keys never reach the journal: a key login is named by
// the key's last 4 characters only.
func TestJournalKeepsNoSecrets(t *testing.T) {
	h := startVersion(t, "R10")
	h.login()
	h.post("authentication/token", creds("password", "wrong-secret-pw"))
	h.keyLogin()
	h.post("authentication/web_api_key/token", nil, "Authorization", basic("UNKNOWNKEY0000000000000000009876"))
	j := h.Journal()
	require.Len(t, j, 4)
	lj := h.journal.Snapshot()
	assert.Equal(t, "key …2192", lj[2].Principal)
	assert.Equal(t, "key …9876", lj[3].Principal)
	assert.Equal(t, "INVALID_WEB_API_KEY", j[3].Code)
	_, all, _ := h.journalOf("")
	raw, _ := json.Marshal(all)
	for _, secret := range []string{`"` + docPass + `"`, "wrong-secret-pw", docKey, "UNKNOWNKEY", basic(docKey)} {
		assert.NotContains(t, string(raw), secret)
	}
	assert.NotContains(t, string(raw), "principal")
}

// Ensure a presented token is kept verbatim but cut at 512 characters (docs/lint.md),
// not bytes: a multi-byte token keeps its first 512 characters whole, and ?token=
// finds each long token by the value the client sent.
func TestJournalCutsLongTokens(t *testing.T) {
	h := startVersion(t, "R10")
	long := strings.Repeat("A", 600)
	utf := strings.Repeat("A", 511) + "é" + "ZZ" // é is character 512 and straddles byte 512
	wide := strings.Repeat("€", 600)             // 3 bytes a character
	mixed := "x" + strings.Repeat("日本", 300)     // 601 characters, 1 801 bytes
	for _, tok := range []string{long, utf, wide, mixed} {
		require.Equal(t, "INVALID_TOKEN", h.code(h.post("contact_information/update", map[string]string{"token": tok})))
	}
	j := h.Journal()
	require.Len(t, j, 4)
	assert.Equal(t, long[:512], j[0].Token)
	assert.Equal(t, strings.Repeat("A", 511)+"é", j[1].Token, "512 characters, the last one whole")
	assert.Equal(t, strings.Repeat("€", 512), j[2].Token)
	assert.Equal(t, []rune(mixed)[:512], []rune(j[3].Token))
	for _, tok := range []string{long, utf, wide, mixed} { // ?token= finds a long token by the value the client sent
		st, got, msg := h.journalOf("?token=" + url.QueryEscape(tok))
		require.Equal(t, http.StatusOK, st, msg)
		assert.Len(t, got, 1, "?token= with the %d-character token as presented", utf8.RuneCountInString(tok))
	}
	st, got, _ := h.journalOf("?token=" + url.QueryEscape(strings.Repeat("€", 512)))
	require.Equal(t, http.StatusOK, st)
	assert.Len(t, got, 1, "?token= with the journal's cut finds it too")
}

// Ensure ?limit ?code ?token ?since select entries, and a bad value is a 400 naming
// the parameter.
func TestJournalFilters(t *testing.T) {
	h := startVersion(t, "R10")
	a := h.login()
	h.advance(time.Minute)
	b := h.login()
	h.use(a)
	h.advance(2 * time.Hour)
	require.Equal(t, "TOKEN_EXPIRED", h.code(h.use(b)))

	st, all, _ := h.journalOf("")
	require.Equal(t, 200, st)
	require.Len(t, all, 4)
	_, got, _ := h.journalOf("?limit=2")
	require.Len(t, got, 2)
	assert.Equal(t, all[2:], got, "the newest 2, oldest first")
	_, got, _ = h.journalOf("?code=TOKEN_EXPIRED")
	require.Len(t, got, 1)
	assert.Equal(t, b, got[0].Token)
	_, got, _ = h.journalOf("?token=" + url.QueryEscape(a))
	require.Len(t, got, 2, "issued and presented")
	assert.Equal(t, a, got[0].Issued)
	assert.Equal(t, a, got[1].Token)
	_, got, _ = h.journalOf("?since=" + url.QueryEscape(t0.Add(time.Minute).Format(time.RFC3339)))
	require.Len(t, got, 3, "since is inclusive")
	_, got, _ = h.journalOf("?since=2024-01-01T09:01:00.000000001Z")
	require.Len(t, got, 1, "after the minute: only the expired use")
	_, got, _ = h.journalOf("?since=2024-01-01T09:00:30Z&code=OK&limit=1")
	require.Len(t, got, 1)
	assert.Equal(t, a, got[0].Token)

	for q, param := range map[string]string{"?limit=0": "limit", "?limit=x": "limit", "?limit=-3": "limit",
		"?since=yesterday": "since", "?code=": "code", "?token=": "token"} {
		st, _, msg := h.journalOf(q)
		assert.Equal(t, http.StatusBadRequest, st, q)
		assert.True(t, strings.HasPrefix(msg, param+":"), "%s: %q", q, msg)
	}
	st, v := h.admin("GET", "/__admin/violations", "")
	assert.Equal(t, 200, st)
	assert.Empty(t, v["violations"])
}

// Ensure ids keep increasing across a journal clear (a client never sees an id twice).
func TestJournalIDsAfterClear(t *testing.T) {
	h := startVersion(t, "R10")
	h.login()
	first := h.Journal()[0].ID
	h.ClearJournal()
	h.login()
	assert.Greater(t, h.Journal()[0].ID, first)
}

// Ensure the journal's code is the code answered while the catalogue code stays known
// (a scenario may rename an error; the lint judges the real one).
func TestJournalScenarioOverride(t *testing.T) {
	sc := *DefaultScenario() // a copy: the built-in one is shared
	sc.Errors = map[Code]ErrorOverride{CodeTokenExpired: {Code: "SESSION_EXPIRED"}}
	h := start(t, Options{Version: "R10", Scenario: &sc})
	tok := h.login()
	h.advance(time.Hour)
	require.Equal(t, "SESSION_EXPIRED", h.code(h.use(tok)))
	e := h.Journal()[1]
	assert.Equal(t, "SESSION_EXPIRED", e.Code)
	assert.Equal(t, CodeTokenExpired, Code(h.journal.Snapshot()[1].Catalogue))
}

// Ensure a method called without the token where the contract wants it says where an
// issued token came instead (and only an issued one counts).
func TestJournalMisplacedToken(t *testing.T) {
	h := startVersion(t, "R10")
	tok := h.login()
	send := func(method, target, body string, hdr ...string) JournalEntry {
		t.Helper()
		var rd *strings.Reader
		if body != "" {
			rd = strings.NewReader(body)
		} else {
			rd = strings.NewReader("")
		}
		req, err := http.NewRequest(method, h.APIURL(target), rd)
		require.NoError(t, err)
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		r := h.do(req)
		require.Equal(t, "INVALID_REQUEST", r.Status.Code, "%s", r.Raw)
		j := h.Journal()
		return j[len(j)-1]
	}
	cases := []struct {
		name, method, target, body string
		hdr                        []string
		want                       string
	}{
		{"bearer", "GET", "contact_information/show", "", []string{"Authorization", "Bearer " + tok}, "Authorization header"},
		{"raw authorization", "GET", "contact_information/show", "", []string{"Authorization", tok}, "Authorization header"},
		{"other header", "GET", "contact_information/show", "", []string{"X-Token", tok}, "header X-Token"},
		{"query of a POST", "POST", "contact_information/update?token=" + tok, `{}`, nil, "query of a POST"},
		{"body of a GET", "GET", "contact_information/show", `{"token":"` + tok + `"}`, nil, "body of a GET"},
		{"bearer on a POST", "POST", "contact_information/update", `{"x":1}`, []string{"Authorization", "Bearer " + tok}, "Authorization header"},
		// Near misses: a token the mock never issued, or none at all.
		{"unknown bearer", "GET", "contact_information/show", "", []string{"Authorization", "Bearer 4AD9C84FA60F9FE407140E20F707726A"}, ""},
		{"no token anywhere", "GET", "contact_information/show", "", nil, ""},
		{"empty query token", "GET", "contact_information/show?token=", "", []string{"X-Token", "nothing"}, ""},
	}
	for _, c := range cases {
		e := send(c.method, c.target, c.body, c.hdr...)
		assert.Equal(t, c.want, e.Misplaced, c.name)
		assert.NotEmpty(t, e.Violations, c.name)
	}
	// A present token is never searched for elsewhere.
	r := h.get("contact_information/show", url.Values{"token": {tok}})
	require.Equal(t, "OK", r.Status.Code)
	j := h.Journal()
	assert.Empty(t, j[len(j)-1].Misplaced)
}

// Ensure a reason quoting a huge field is cut in the journal (10 000 of them must not
// hold gigabytes) while the answer keeps it whole.
func TestJournalCutsLongDescriptions(t *testing.T) {
	h := startVersion(t, "R10")
	huge := strings.Repeat("u", 100_000)
	r := h.post("authentication/token", creds("username", huge))
	require.Equal(t, "INVALID_CREDENTIALS", r.Status.Code)
	assert.Contains(t, *r.Status.Description, huge)
	e := h.Journal()[0]
	assert.Len(t, e.Description, journalTextLimit)
	assert.True(t, strings.HasPrefix(e.Description, `username: "uuu`))
	assert.Len(t, h.journal.Snapshot()[0].Principal, journalTokenLimit)
}

// Ensure the journals of a root and its sandboxes share one memory budget: a busy
// sandbox drops its own oldest entries to stay within it (never the root's), and once
// every journal is down to its floor of 100 entries a new sandbox is refused with 429
// naming --journal-budget; deleting a sandbox makes room again.
func TestJournalBudgetAcrossSandboxes(t *testing.T) {
	const budget = 120 << 10
	h := start(t, Options{Version: "R10", JournalBudget: budget})
	tok := h.login()
	for range 20 {
		h.use(tok)
	}
	rootEntries := len(h.Journal())
	require.Equal(t, 21, rootEntries)

	a := h.createSandbox(`{}`)
	atok := a.login()
	for range 1500 {
		a.use(atok)
	}
	n := len(h.sandboxJournal(a.id))
	require.Less(t, n, 1501, "sandbox a kept every entry past the budget")
	require.GreaterOrEqual(t, n, journal.Floor)
	require.Len(t, h.Journal(), rootEntries, "a sandbox's traffic dropped the root's journal entries")
	require.LessOrEqual(t, h.journal.Budget().Used(), int64(budget))

	var busy []sb
	for {
		st, v := h.call("POST", h.URL+"/__admin/sandboxes", `{}`)
		if st == 429 {
			require.Contains(t, v["error"], "--journal-budget")
			break
		}
		require.Equal(t, 201, st, "%v", v)
		require.Less(t, len(busy), 50, "the budget never filled")
		s := sb{h: h, id: v["id"].(string), base: v["base_url"].(string), adminU: v["admin_url"].(string)}
		stok := s.login()
		for range 2 * journal.Floor {
			s.use(stok)
		}
		busy = append(busy, s)
	}
	require.True(t, h.DeleteSandbox(a.id))
	require.True(t, h.DeleteSandbox(busy[0].id))
	h.createSandbox(`{}`)
}

// sandboxJournal is a sandbox's journal, through the Go API.
func (h *harness) sandboxJournal(id string) []JournalEntry {
	h.t.Helper()
	s, ok := h.Sandbox(id)
	require.True(h.t, ok)
	return s.Journal()
}

// firstWriteAlloc is a ResponseWriter that notes how many bytes the process had
// allocated when the answer's first bytes reached it.
type firstWriteAlloc struct {
	*httptest.ResponseRecorder
	base, atFirst uint64
}

func (w *firstWriteAlloc) Write(b []byte) (int, error) {
	if w.atFirst == 0 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		w.atFirst = ms.TotalAlloc - w.base
	}
	return w.ResponseRecorder.Write(b)
}

// Ensure GET /__admin/requests streams its answer: a journal of 10 000 entries of
// hostile size (2 KiB paths and reasons, 512-character tokens: about 50 MB of JSON)
// was built whole before the first byte went out, 200 MB per listing and 1.2 GB for
// six at once. The answer is the same bytes as before (json.Marshal of the whole).
func TestJournalListingStreams(t *testing.T) {
	m := newTestMock(t, "R12")
	long := strings.Repeat("p", journal.TextLimit)
	for i := range journal.DefaultSize {
		m.journal.Add(journal.Entry{Public: journal.Public{Time: t0, Method: "GET", Path: long, Code: "INVALID_REQUEST",
			Description: long + strconv.Itoa(i), Token: strings.Repeat("T", journal.TokenLimit), Violations: []string{long}}})
	}
	want, err := json.Marshal(map[string]any{"requests": m.Journal()})
	require.NoError(t, err)
	require.Greater(t, len(want), 40<<20)

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w := &firstWriteAlloc{ResponseRecorder: httptest.NewRecorder(), base: ms.TotalAlloc}
	m.ServeHTTP(w, httptest.NewRequest("GET", "/__admin/requests", nil))
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, "application/json", w.Header().Get("Content-Type"))
	assert.Less(t, w.atFirst, uint64(len(want)/4), "bytes allocated before the answer's first bytes went out")
	assert.True(t, bytes.Equal(append(want, '\n'), w.Body.Bytes()), "the same answer as json.Marshal of the whole")

	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, httptest.NewRequest("GET", "/__admin/violations", nil))
	want, err = json.Marshal(map[string]any{"violations": m.Violations()})
	require.NoError(t, err)
	assert.True(t, bytes.Equal(append(want, '\n'), rec.Body.Bytes()), "violations: the same answer")
}

// Ensure the listings refuse a filter they do not take, or one given twice, naming it:
// a misspelt filter (?states=live, ?Limit=5) was ignored, so a suite polling for a
// few entries got the whole listing (megabytes) and read it as filtered.
func TestListingFiltersStrict(t *testing.T) {
	h := startVersion(t, "R12")
	tok := h.login()
	for _, c := range []struct{ path, want string }{
		{"/__admin/tokens?states=live", `query parameter "states": not a filter of GET /__admin/tokens (filters: limit, state)`},
		{"/__admin/tokens?limit=1&Limit=5", `query parameter "Limit": not a filter of GET /__admin/tokens`},
		{"/__admin/tokens?state=live&state=released", `state: given 2 times`},
		{"/__admin/requests?code=OK&Limit=5", `query parameter "Limit": not a filter of GET /__admin/requests (filters: limit, code, token, since)`},
		{"/__admin/requests?token=" + tok + "&token=x", `token: given 2 times`},
	} {
		st, v := h.admin("GET", c.path, "")
		assert.Equal(t, http.StatusBadRequest, st, c.path)
		assert.Contains(t, v["error"], c.want, c.path)
	}
	st, v := h.admin("GET", "/__admin/tokens?limit=1&state=live", "")
	assert.Equal(t, http.StatusOK, st, "%v", v)
	st, v = h.admin("GET", "/__admin/requests?limit=1&code=OK&token="+tok+"&since=2024-01-01T09:00:00Z", "")
	assert.Equal(t, http.StatusOK, st, "%v", v)
}
