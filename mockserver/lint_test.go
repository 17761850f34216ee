package mockserver

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmmock/crmmock/internal/journal"
	"github.com/crmmock/crmmock/internal/testutil"
	"github.com/crmmock/crmmock/internal/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lintReport reads GET /__admin/lint and checks Mock.Lint says the same.
func (h *harness) lintReport() LintReport {
	h.t.Helper()
	resp, err := h.Client().Get(h.URL + "/__admin/lint")
	require.NoError(h.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	require.Equal(h.t, http.StatusOK, resp.StatusCode, "%s", body)
	checkAdminAnswer(h.t, resp.Request, resp.StatusCode, resp.Header, body) // admin-openapi.yaml's LintReport
	var overHTTP LintReport
	require.NoError(h.t, json.Unmarshal(body, &overHTTP), "%s", body)
	fromGo := h.Lint()
	require.Equal(h.t, len(fromGo.Findings), len(overHTTP.Findings))
	for i := range fromGo.Findings {
		require.Equal(h.t, fromGo.Findings[i].Rule, overHTTP.Findings[i].Rule)
		require.Equal(h.t, fromGo.Findings[i].Message, overHTTP.Findings[i].Message)
		require.Equal(h.t, fromGo.Findings[i].Requests, overHTTP.Findings[i].Requests)
		require.True(h.t, fromGo.Findings[i].First.Equal(overHTTP.Findings[i].First))
	}
	require.Equal(h.t, fromGo.Summary, overHTTP.Summary)
	return overHTTP
}

// findings is the report's findings of one rule.
func findings(r LintReport, rule string) []LintFinding {
	var out []LintFinding
	for _, f := range r.Findings {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

// lastID is the journal id of the newest request.
func (h *harness) lastID() uint64 {
	h.t.Helper()
	j := h.Journal()
	require.NotEmpty(h.t, j)
	return j[len(j)-1].ID
}

// noErrorsOrWarnings fails on a finding above info.
func noErrorsOrWarnings(t *testing.T, r LintReport) {
	t.Helper()
	for _, f := range r.Findings {
		require.Equal(t, "info", f.Severity, "%s: %s", f.Rule, f.Message)
	}
}

// Ensure the lint over HTTP has the shape of docs/lint.md and is empty on a fresh mock.
func TestLintEmpty(t *testing.T) {
	h := startVersion(t, "R12")
	resp, err := h.Client().Get(h.URL + "/__admin/lint")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.JSONEq(t, `{"findings":[],"summary":{"error":0,"warning":0,"info":0}}`, string(body))
}

// Ensure a well-behaved client (logs in once, reuses, logs in once again on
// TOKEN_EXPIRED even in active use, releases on R10/R11) gets no error or warning on
// every release, over HTTP.
func TestLintWellBehavedClient(t *testing.T) {
	for _, rel := range []string{"pre-R10", "R10", "R11", "R12"} {
		t.Run(rel, func(t *testing.T) {
			h := startVersion(t, rel)
			clients := []func() string{h.login}
			if rel != "pre-R10" {
				clients = append(clients, h.keyLogin)
			}
			for _, login := range clients {
				tok := login()
				renewed := 0
				for i := range 30 {
					h.advance(10 * time.Minute)
					if i == 12 {
						h.advance(61 * time.Minute) // an idle pause
					}
					if r := h.use(tok); h.code(r) == "TOKEN_EXPIRED" {
						tok = login()
						renewed++
						require.Equal(t, "OK", h.code(h.use(tok)))
					} else {
						require.Equal(t, "OK", h.code(r), "%s", r.Raw)
					}
				}
				require.Positive(t, renewed, "the client met TOKEN_EXPIRED")
				if rel == "R10" || rel == "R11" {
					require.Equal(t, "OK", h.code(h.post("authentication/token/release", map[string]any{"token": tok})))
				}
			}
			r := h.lintReport()
			noErrorsOrWarnings(t, r)
			if rel == "R12" { // F9: tokens in use die at 2 h; the client recovered
				require.Len(t, findings(r, "active-token-expired"), 2)
			}
		})
	}
}

// Ensure truncated-token fires on an R12 JWT cut to 32 characters (F9), and not on a
// 31-character string that no issued token starts with, nor on a 15-character prefix.
func TestLintTruncatedToken(t *testing.T) {
	h := startVersion(t, "R12")
	tok := h.login()
	require.Equal(t, "INVALID_TOKEN", h.code(h.use(strings.Repeat("A", 31))))
	require.Equal(t, "INVALID_TOKEN", h.code(h.use(tok[:15])))
	require.Empty(t, findings(h.lintReport(), "truncated-token"))

	require.Equal(t, "INVALID_TOKEN", h.code(h.use(tok[:32])))
	got := findings(h.lintReport(), "truncated-token")
	require.Len(t, got, 1)
	require.Equal(t, "error", got[0].Severity)
	require.Equal(t, tok, got[0].Token)
	require.Equal(t, []uint64{h.lastID()}, got[0].Requests)
	require.Contains(t, got[0].Message, "first 32 characters")
}

// Ensure expired-token-reused fires when a token is resent after TOKEN_EXPIRED, even
// when the scenario renames that code, and not when the client logs in again.
func TestLintExpiredTokenReused(t *testing.T) {
	sc := *DefaultScenario()
	sc.Errors = map[Code]ErrorOverride{CodeTokenExpired: {Code: "SESSION_EXPIRED"}}
	h := start(t, Options{Version: "R10", Scenario: &sc})
	tok := h.login()
	h.advance(time.Hour) // F6: the idle hour
	require.Equal(t, "SESSION_EXPIRED", h.code(h.use(tok)))
	fresh := h.login()
	require.Equal(t, "OK", h.code(h.use(fresh)))
	require.Empty(t, findings(h.lintReport(), "expired-token-reused"))

	h.use(tok)
	got := findings(h.lintReport(), "expired-token-reused")
	require.Len(t, got, 1)
	require.Equal(t, tok, got[0].Token)
	require.Equal(t, []uint64{h.lastID()}, got[0].Requests)
}

// Ensure idle-rule-assumed fires when an R12 token dies in active use and the user
// never logs in again (F9), and gives way to active-token-expired (info) once it does.
func TestLintIdleRuleAssumed(t *testing.T) {
	h := startVersion(t, "R12")
	tok := h.login()
	for h.code(h.use(tok)) == "OK" {
		h.advance(10 * time.Minute)
	}
	rejected := h.lastID()
	r := h.lintReport()
	got := findings(r, "idle-rule-assumed")
	require.Len(t, got, 1)
	require.Equal(t, "warning", got[0].Severity)
	require.Equal(t, []uint64{rejected}, got[0].Requests)
	require.Equal(t, t0.Add(2*time.Hour), got[0].First)
	require.Contains(t, got[0].Message, "user mpadministrator@CRMDEMO got no new token afterwards")
	require.Contains(t, got[0].Message, "from R12 (F9) every token dies 2 h after issue, used or not")
	require.Empty(t, findings(r, "active-token-expired"))

	h.use(h.login())
	r = h.lintReport()
	require.Empty(t, findings(r, "idle-rule-assumed"))
	got = findings(r, "active-token-expired")
	require.Len(t, got, 1)
	require.Equal(t, "info", got[0].Severity)
	require.Equal(t, []uint64{rejected}, got[0].Requests)
}

// Ensure a Web API key token on R10 (2 h from issue, F7) dying in use is judged the
// same way, and an idle user token dying of its idle hour (F6) is not.
func TestLintIdleRuleAssumedKeyOnR10(t *testing.T) {
	h := startVersion(t, "R10")
	user := h.login()
	h.use(user)
	h.advance(time.Hour)
	require.Equal(t, "TOKEN_EXPIRED", h.code(h.use(user)))
	require.Empty(t, findings(h.lintReport(), "idle-rule-assumed"))

	key := h.keyLogin()
	for h.code(h.use(key)) == "OK" {
		h.advance(30 * time.Minute)
	}
	got := findings(h.lintReport(), "idle-rule-assumed")
	require.Len(t, got, 1)
	require.Equal(t, key, got[0].Token)
	require.Contains(t, got[0].Message, "key …2192")
	require.Contains(t, got[0].Message, "from R10 (F7)")
}

// Ensure released-token-used fires on a token used after its release (F8), and not
// when the client logs in again after releasing.
func TestLintReleasedTokenUsed(t *testing.T) {
	h := startVersion(t, "R10")
	tok := h.login()
	require.Equal(t, "OK", h.code(h.post("authentication/token/release", map[string]any{"token": tok})))
	h.use(h.login())
	require.Empty(t, findings(h.lintReport(), "released-token-used"))

	require.Equal(t, "TOKEN_RELEASED", h.code(h.use(tok)))
	got := findings(h.lintReport(), "released-token-used")
	require.Len(t, got, 1)
	require.Equal(t, tok, got[0].Token)
	require.Equal(t, []uint64{h.lastID()}, got[0].Requests)
}

// Ensure token-misplaced fires on a GET with the token in an Authorization header and
// a POST with it in the query (F5), and not on a GET with the token in its query
// beside an unrelated Authorization header.
func TestLintTokenMisplaced(t *testing.T) {
	h := startVersion(t, "R12")
	tok := h.login()
	req, err := http.NewRequest(http.MethodGet, h.APIURL("contact_information/show")+"?"+url.Values{"token": {tok}}.Encode(), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer not-an-issued-token")
	require.Equal(t, "OK", h.code(h.do(req)))
	r := h.lintReport()
	require.Empty(t, findings(r, "token-misplaced"))
	require.Empty(t, r.Findings)

	req, err = http.NewRequest(http.MethodGet, h.APIURL("contact_information/show"), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	require.Equal(t, "INVALID_REQUEST", h.code(h.do(req)))
	getID := h.lastID()
	req, err = http.NewRequest(http.MethodPost, h.APIURL("contact_information/create")+"?"+url.Values{"token": {tok}}.Encode(), strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	h.do(req)
	postID := h.lastID()

	r = h.lintReport()
	got := findings(r, "token-misplaced")
	require.Len(t, got, 2)
	require.Equal(t, []uint64{getID}, got[0].Requests)
	require.Contains(t, got[0].Message, "in the Authorization header instead of the query parameter token")
	require.Equal(t, []uint64{postID}, got[1].Requests)
	require.Contains(t, got[1].Message, "in the query of a POST instead of the JSON body field token")
	require.Empty(t, findings(r, "contract-violation"), "token-misplaced says it better")
}

// Ensure contract-violation fires on a login without organisation (F2), one finding
// per path and reason, and not on a wrong password.
func TestLintContractViolation(t *testing.T) {
	h := startVersion(t, "R12")
	require.Equal(t, "INVALID_CREDENTIALS", h.code(h.post("authentication/token", creds("password", "wrong"))))
	require.Empty(t, h.lintReport().Findings)

	body := map[string]any{"username": docUser, "password": docPass}
	h.post("authentication/token", body)
	first := h.lastID()
	h.post("authentication/token", body)
	got := findings(h.lintReport(), "contract-violation")
	require.Len(t, got, 1)
	require.Equal(t, 2, got[0].Count)
	require.Equal(t, []uint64{first, h.lastID()}, got[0].Requests)
	require.Contains(t, got[0].Message, "organisation")
}

// Ensure login-per-request fires at ten logins each used once while the previous
// token lived, and not at nine.
func TestLintLoginPerRequest(t *testing.T) {
	h := startVersion(t, "R12")
	var logins []uint64
	for range 9 {
		tok := h.login()
		logins = append(logins, h.lastID())
		h.use(tok)
	}
	require.Empty(t, findings(h.lintReport(), "login-per-request"))

	h.use(h.login())
	logins = append(logins, h.lastID()-1)
	got := findings(h.lintReport(), "login-per-request")
	require.Len(t, got, 1)
	require.Equal(t, "warning", got[0].Severity)
	require.Equal(t, 10, got[0].Count)
	require.Equal(t, logins, got[0].Requests)
}

// Ensure method-not-in-release fires on a key login before R10 (F7), and not on R10.
func TestLintMethodNotInRelease(t *testing.T) {
	h := startVersion(t, "R9")
	r := h.post("authentication/web_api_key/token", nil, "Authorization", basic(docKey))
	require.Equal(t, "METHOD_NOT_AVAILABLE", h.code(r))
	got := findings(h.lintReport(), "method-not-in-release")
	require.Len(t, got, 1)
	require.Equal(t, []uint64{h.lastID()}, got[0].Requests)
	require.Contains(t, got[0].Message, "authentication/web_api_key/token was called once on R9")

	h = startVersion(t, "R10")
	h.keyLogin()
	require.Empty(t, findings(h.lintReport(), "method-not-in-release"))
}

// Ensure never-released counts live unreleased R10 tokens (F8), and nothing once the
// client releases them.
func TestLintNeverReleased(t *testing.T) {
	h := startVersion(t, "R11")
	tok := h.login()
	h.use(tok)
	got := findings(h.lintReport(), "never-released")
	require.Len(t, got, 1)
	require.Equal(t, "info", got[0].Severity)
	require.Equal(t, 1, got[0].Count)
	require.Equal(t, tok, got[0].Token)

	h.post("authentication/token/release", map[string]any{"token": tok})
	require.Empty(t, h.lintReport().Findings)
}

// Ensure deprecated-release-used fires on a release on R12 (F8), and not on R10.
func TestLintDeprecatedReleaseUsed(t *testing.T) {
	h := startVersion(t, "R10")
	h.post("authentication/token/release", map[string]any{"token": h.login()})
	require.Empty(t, h.lintReport().Findings)

	require.NoError(t, func() error { _, err := h.SetVersion("R12"); return err }())
	r := h.post("authentication/token/release", map[string]any{"token": h.login()})
	require.Equal(t, "true", r.Header.Get("Deprecation"))
	got := findings(h.lintReport(), "deprecated-release-used")
	require.Len(t, got, 1)
	require.Equal(t, []uint64{h.lastID()}, got[0].Requests)
}

// Ensure a reset clears the lint with the journal and the tokens.
func TestLintAfterReset(t *testing.T) {
	h := startVersion(t, "R12")
	h.use(h.login()[:40])
	require.NotEmpty(t, h.lintReport().Findings)
	h.Reset()
	require.Empty(t, h.lintReport().Findings)
}

// Ensure a token whose login has left the journal's ring is still judged by its
// value (rebuilt from the store), and the rules point at the journaled rejection.
func TestLintTokenOutlivesItsLogin(t *testing.T) {
	h := startVersion(t, "R12")
	h.journal = journal.New(5)
	tok := h.login()
	for h.code(h.use(tok)) == "OK" {
		h.advance(10 * time.Minute)
	}
	for _, e := range h.Journal() {
		require.Empty(t, e.Issued, "the login is out of the journal")
	}
	got := findings(h.lintReport(), "idle-rule-assumed")
	require.Len(t, got, 1)
	require.Equal(t, tok, got[0].Token)
	require.Equal(t, []uint64{h.lastID()}, got[0].Requests)
}

// Ensure a token the control API expires early while in use (a fault a client must
// survive) is judged like one that reached its limit: the client that logs in again
// gets only the info.
func TestLintExpiredEarlyInUse(t *testing.T) {
	h := startVersion(t, "R12")
	tok := h.login()
	h.use(tok)
	require.NoError(t, h.ExpireToken(tok))
	require.Equal(t, "TOKEN_EXPIRED", h.code(h.use(tok)))
	h.use(h.login())
	r := h.lintReport()
	noErrorsOrWarnings(t, r)
	require.Len(t, findings(r, "active-token-expired"), 1)
}

// Ensure the lint can run while clients log in, use and release tokens and the clock
// moves (run under -race), and every report it gives is well-formed.
func TestLintConcurrent(t *testing.T) {
	h := startVersion(t, "R10")
	done := make(chan struct{})
	errs := make(chan error, 8)
	for range 4 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, h.APIURL("authentication/token"), strings.NewReader(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`))
				req.Header.Set("Content-Type", "application/json")
				resp, err := h.Client().Do(req)
				if err != nil {
					errs <- err
					return
				}
				var env struct {
					Data struct{ Token string } `json:"data"`
				}
				_ = json.NewDecoder(resp.Body).Decode(&env)
				resp.Body.Close()
				if resp, err := h.Client().Get(h.APIURL("contact_information/show") + "?token=" + env.Data.Token[:20]); err == nil {
					resp.Body.Close()
				}
				_, _ = h.Advance(time.Minute)
			}
		}()
	}
	for i := 0; i < 20 || len(h.Journal()) < 100; i++ {
		r := h.Lint()
		require.Len(t, r.Summary, 3)
		for _, f := range r.Findings {
			require.NotEmpty(t, f.Message)
			require.Positive(t, f.Count)
		}
	}
	close(done)
	for range 4 {
		require.NoError(t, <-errs)
	}
	require.NotEmpty(t, findings(h.Lint(), "truncated-token"))
}

// Ensure each sandbox has its own lint (docs/faults-and-sandboxes.md): a truncated token in a sandbox
// shows under its admin_url and in its Lint, not at the root; and a token of the root
// presented in the sandbox is no truncation of anything there.
func TestLintPerSandbox(t *testing.T) {
	h := startVersion(t, "R12")
	sb, err := h.NewSandbox(SandboxOptions{Version: "R12"})
	require.NoError(t, err)
	login, err := http.Post(sb.BaseURL(h.URL)+"/authentication/token", "application/json",
		strings.NewReader(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`))
	require.NoError(t, err)
	var env struct {
		Data struct{ Token string } `json:"data"`
	}
	require.NoError(t, json.NewDecoder(login.Body).Decode(&env))
	login.Body.Close()
	resp, err := http.Get(sb.BaseURL(h.URL) + "/contact_information/show?token=" + env.Data.Token[:32])
	require.NoError(t, err)
	resp.Body.Close()
	resp, err = http.Get(sb.BaseURL(h.URL) + "/contact_information/show?token=" + h.login()[:32])
	require.NoError(t, err)
	resp.Body.Close()

	resp, err = http.Get(h.URL + sb.Prefix() + "/__admin/lint")
	require.NoError(t, err)
	var overHTTP LintReport
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&overHTTP))
	resp.Body.Close()
	got := findings(overHTTP, "truncated-token")
	require.Len(t, got, 1)
	require.Equal(t, env.Data.Token, got[0].Token)
	require.Len(t, findings(sb.Lint(), "truncated-token"), 1)
	require.Empty(t, h.lintReport().Findings)
}

// Ensure injected faults are judged as what the client saw, not as the release's
// rules (docs/faults-and-sandboxes.md): a fault's TOKEN_EXPIRED on a live token makes no
// idle-rule-assumed, but resending that token is still expired-token-reused; a fault
// that only delays leaves the answer, and its judgement, alone.
func TestLintFaults(t *testing.T) {
	h := startVersion(t, "R12")
	tok := h.login()
	h.use(tok)
	_, err := h.AddFault(FaultSpec{Operation: "*", Match: FaultMatch{Token: tok}, Answer: &FaultAnswer{Code: "TOKEN_EXPIRED"}})
	require.NoError(t, err)
	require.Equal(t, "TOKEN_EXPIRED", h.code(h.use(tok)))
	r := h.lintReport()
	require.Empty(t, findings(r, "idle-rule-assumed"))
	require.Empty(t, findings(r, "active-token-expired"))

	require.Equal(t, "OK", h.code(h.use(tok))) // the fault fired once; the token lives
	got := findings(h.lintReport(), "expired-token-reused")
	require.Len(t, got, 1)
	require.Equal(t, []uint64{h.lastID()}, got[0].Requests)

	h = startVersion(t, "R12")
	tok = h.login()
	for range 12 { // in use until 1 h 50 …
		require.Equal(t, "OK", h.code(h.use(tok)))
		h.advance(10 * time.Minute)
	}
	_, err = h.AddFault(FaultSpec{Operation: "*", Delay: time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, "TOKEN_EXPIRED", h.code(h.use(tok))) // … dead at 2 h: delayed, then answered by the rule
	j := h.Journal()
	require.NotEmpty(t, j[len(j)-1].Fault)
	require.Len(t, findings(h.lintReport(), "idle-rule-assumed"), 1, "a delay is no answer")
}

// Ensure the lint's profile names are the release table's, with the rules its messages
// cite, and the contract's availability agrees with them: release absent before R10,
// available on R10 (never-released), deprecated on R12 (deprecated-release-used); key
// tokens absolute from R10 (F7), every token absolute from R12 (F9). A change to the
// table or the contract that the lint does not follow fails here.
func TestLintProfilesFollowReleaseTable(t *testing.T) {
	byName := map[string]Profile{}
	for _, p := range profiles {
		byName[p.Name] = p
	}
	require.Len(t, profiles, 3, "the lint knows three profiles")
	c, err := loadProcessContract()
	require.NoError(t, err)
	for name, want := range map[string]Availability{wire.ProfilePreR10: NotAvailable, wire.ProfileR10: Available, wire.ProfileR12: Deprecated} {
		p, ok := byName[name]
		require.True(t, ok, "lint profile %s names a profile of release.go", name)
		rel := MustParseRelease(fmt.Sprintf("R%d", max(p.FromMajor, 9)))
		got, _ := c.availability("releaseToken", &rel)
		assert.Equal(t, want, got, "F8: token/release on profile %s", name)
	}
	r10, r12 := byName[wire.ProfileR10], byName[wire.ProfileR12]
	assert.True(t, r10.UserRule.Idle && !r10.KeyRule.Idle, "R10: idle user tokens (F6), absolute key tokens (F7)")
	assert.False(t, r12.UserRule.Idle || r12.KeyRule.Idle, "R12: every token absolute (F9)")
}

// F20: a public PHP client returns status.message as the token when its login fails.
// Ensure message-as-token names it over HTTP (the journal keeps the answered message),
// and not a token that merely contains a word of a message, nor a message the mock has
// not answered.
func TestLintF20MessageAsToken(t *testing.T) {
	h := startVersion(t, "R12")
	require.Equal(t, "INVALID_TOKEN", h.code(h.use("The token has expired"))) // never answered
	failed := h.post("authentication/token", creds("password", "wrong"))
	require.Equal(t, "INVALID_CREDENTIALS", h.code(failed))
	login := h.lastID()
	require.Equal(t, "INVALID_TOKEN", h.code(h.use("Invalid")))
	require.Empty(t, findings(h.lintReport(), "message-as-token"))

	msg := *failed.Status.Message
	require.Equal(t, "INVALID_TOKEN", h.code(h.use(msg)))
	first := h.lastID()
	require.Equal(t, "INVALID_TOKEN", h.code(h.post("contact_information/update", map[string]any{"token": msg})))
	got := findings(h.lintReport(), "message-as-token")
	require.Len(t, got, 1)
	require.Equal(t, "error", got[0].Severity)
	require.Equal(t, []uint64{first, first + 1}, got[0].Requests)
	require.Contains(t, got[0].Message, fmt.Sprintf("presented %q as its token (twice): that is the status.message the mock answered to request %d (INVALID_CREDENTIALS, authentication/token)", msg, login))

	h.use(*failed.Status.Description) // the description, too
	require.Len(t, findings(h.lintReport(), "message-as-token"), 2)
}

// javaPool is CRM.COM's own Java sample (F20) over HTTP: 64 tokens logged in at once,
// used round-robin with a call every 70 s, all 64 logged in again every 7 000 s, a slot
// logged in again (and the call retried) on TOKEN_EXPIRED; for 8 h of mock time.
func (h *harness) javaPool() {
	h.t.Helper()
	pool := make([]string, 64)
	relog := func() {
		for i := range pool {
			pool[i] = h.login()
		}
	}
	relog()
	var sinceRelog time.Duration
	for i := 0; time.Duration(i)*70*time.Second < 8*time.Hour; i++ {
		if sinceRelog >= 7000*time.Second {
			relog()
			sinceRelog = 0
		}
		slot := i % len(pool)
		if h.code(h.use(pool[slot])) == "TOKEN_EXPIRED" {
			pool[slot] = h.login()
			require.Equal(h.t, "OK", h.code(h.use(pool[slot])))
		}
		h.advance(70 * time.Second)
		sinceRelog += 70 * time.Second
	}
}

// F20: the Java sample's pool on R10 and R12 over HTTP. R10: its tokens die idle after
// their hour (F6, a token is used every 75 min) while the client uses the others:
// pooled-tokens-idle names the 7 000 s refresh and the rule; R12: every token is used
// before the refresh and replaced before its 2 h (F9): no warning. Never
// login-per-request.
func TestLintF20JavaPool(t *testing.T) {
	h := startVersion(t, "R10")
	h.javaPool()
	r := h.lintReport()
	var rules []string
	for _, f := range r.Findings {
		rules = append(rules, f.Severity+" "+f.Rule)
	}
	require.Equal(t, []string{"warning pooled-tokens-idle", "info never-released"}, rules)
	require.Contains(t, r.Findings[0].Message, "keeps a pool of tokens (up to 64 logged in at once, refreshed every 1h56m40s (7000 s, as observed))")
	require.Contains(t, r.Findings[0].Message, "Before R12 (F6) a user token dies after 1 h without use")

	h = startVersion(t, "R12")
	h.javaPool()
	r = h.lintReport()
	noErrorsOrWarnings(t, r)
	require.Empty(t, findings(r, "login-per-request"))
	require.Empty(t, findings(r, "pooled-tokens-idle"))
}

// BenchmarkLintJournal100k is Mock.Lint (journal and store read, the lint run) over a
// journal of 100 000 requests on R12 (issue 7: ≤ 200 ms):
//   - mixed: 50 clients using their tokens every minute and logging in again at each
//     expiry, one logging in per request, one truncating its token, misplaced tokens
//     and contract violations (about 2 600 tokens);
//   - logins: a load test logging in for every request (50 000 tokens).
func BenchmarkLintJournal100k(b *testing.B) {
	b.Run("mixed", func(b *testing.B) {
		benchLint(b, func(do func(method, target, body string, header ...string) string) {
			toks := make([]string, 50)
			for i := range toks {
				toks[i] = loginToken(do)
			}
			for n := len(toks); n < 100_000; n += len(toks) + 5 {
				for i := range toks {
					if strings.Contains(do(http.MethodGet, benchBase+"contact_information/show?token="+toks[i], ""), "TOKEN_EXPIRED") {
						toks[i] = loginToken(do)
						n++
					}
				}
				do(http.MethodGet, benchBase+"contact_information/show?token="+loginToken(do), "")
				do(http.MethodGet, benchBase+"contact_information/show?token="+toks[0][:32], "")
				do(http.MethodGet, benchBase+"contact_information/show", "", "Authorization", "Bearer "+toks[1])
				do(http.MethodPost, benchBase+"authentication/token", `{"username":"x"}`)
			}
		})
	})
	b.Run("logins", func(b *testing.B) {
		benchLint(b, func(do func(method, target, body string, header ...string) string) {
			for range 50_000 {
				do(http.MethodGet, benchBase+"contact_information/show?token="+loginToken(do), "")
			}
		})
	})
}

const benchBase = "/crmapi/rest/v2/"

func loginToken(do func(method, target, body string, header ...string) string) string {
	a := do(http.MethodPost, benchBase+"authentication/token", `{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`)
	_, rest, _ := strings.Cut(a, `"token":"`)
	tok, _, _ := strings.Cut(rest, `"`)
	return tok
}

// benchLint fills a mock's 100k journal with client, then times Mock.Lint.
func benchLint(b *testing.B, client func(do func(method, target, body string, header ...string) string)) {
	m, err := New(Options{Version: "R12", Start: t0})
	if err != nil {
		b.Fatal(err)
	}
	m.journal = journal.New(100_000)
	do := func(method, target, body string, header ...string) string {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		m.ServeHTTP(w, req)
		m.fake.Advance(time.Second)
		return w.Body.String()
	}
	client(do)
	if n := len(m.Journal()); n != 100_000 {
		b.Fatalf("journal of %d", n)
	}
	b.ResetTimer()
	var r LintReport
	cpu := testutil.CPUTime()
	for b.Loop() {
		r = m.Lint()
	}
	b.ReportMetric(float64((testutil.CPUTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(len(r.Findings)), "findings")
	b.ReportMetric(float64(len(m.Tokens())), "tokens")
	if len(r.Findings) == 0 {
		b.Fatalf("no findings: %+v", r.Summary)
	}
}
