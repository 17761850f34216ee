// Cross-cutting suite (keeps its name): the dashboard page driven in headless Chromium against a live mock.

package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/crmmock/crmmock/mockserver"
)

// The browser test drives the page in Debian's headless Chromium (.ci/run installs it).
// Without Chromium it skips locally and fails in CI (CI=true).

const (
	docKey      = "EE73C0AE64524371B5DDEFF5F7BB2192"
	waitTimeout = 10 * time.Second // a page that stopped updating fails here
	// screenshotEnv set to 1 also writes the screenshot to docs/dashboard.png.
	screenshotEnv = "CRMMOCK_UPDATE_SCREENSHOT"
)

var t0 = time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CRMMOCK_CHROMIUM"), "/usr/bin/chromium"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is missing: .ci/run installs Debian's chromium package")
	}
	t.Skip("chromium not installed (apt-get install -y chromium); the browser test runs in CI")
	return ""
}

// browser starts one headless Chromium for the test and its subtests; each tab() is a
// fresh page in it.
func browser(t *testing.T) context.Context {
	t.Helper()
	execPath := chromiumPath(t)
	dir := t.TempDir()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancelAlloc) // registered after TempDir: the browser is gone before its dir
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(bctx)) // start the browser now, outside any timeout
	return bctx
}

func tab(t *testing.T, bctx context.Context, pageURL string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(pageURL)))
	return ctx
}

// waitFor evaluates a JavaScript condition until it is true; it fails the test after
// waitTimeout (the page stopped updating or a control did nothing) and returns how
// long the page took. It evaluates through DevTools, so the page's CSP (no eval)
// stays in force.
func waitFor(t *testing.T, ctx context.Context, what, cond string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("Boolean("+cond+")"))
		require.NoError(t, err, what)
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > waitTimeout {
			state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](
				`document.getElementById("live").textContent + " | clock " + document.getElementById("clock").textContent + " | message " + document.getElementById("message").textContent`))
			t.Fatalf("page: %s: not within %v (%s)", what, waitTimeout, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(t, err, expr)
	return v
}

func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))), "click %s", sel)
}

func typeInto(t *testing.T, ctx context.Context, sel, text string) {
	t.Helper()
	// Focus before clearing, as a person clicks into the field before typing: the page's
	// poll leaves a focused field alone, so a poll between the clearing and the typing
	// cannot put the current value back in front of the typed one ("R10R12").
	require.True(t, eval[bool](t, ctx, fmt.Sprintf(`(e => { e.focus(); e.value = ""; return document.activeElement === e })(document.querySelector(%q))`, sel)))
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(sel), text)), "type into %s", sel)
}

func screenshot(t *testing.T, ctx context.Context, name string, docs bool) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	p := filepath.Join(os.TempDir(), name)
	require.NoError(t, os.WriteFile(p, png, 0o644))
	fmt.Printf("dashboard screenshot: %s (%d bytes)\n", p, len(png))
	if docs && os.Getenv(screenshotEnv) == "1" {
		require.NoError(t, os.WriteFile(filepath.Join("..", "..", "docs", "dashboard.png"), png, 0o644))
		fmt.Println("dashboard screenshot: docs/dashboard.png updated")
	}
}

// ---- Web API calls, over HTTP as a client would make them ----

type envelope struct {
	Status struct {
		Code        string `json:"code"`
		Description string `json:"description"`
	} `json:"status"`
	Data struct {
		Token string `json:"token"`
	} `json:"data"`
}

func do(t *testing.T, req *http.Request) envelope {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var env envelope
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&env))
	return env
}

func login(t *testing.T, srv *mockserver.Server) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.APIURL("authentication/token"),
		strings.NewReader(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`))
	req.Header.Set("Content-Type", "application/json")
	env := do(t, req)
	require.Equal(t, "OK", env.Status.Code, env.Status.Description)
	return env.Data.Token
}

func keyLogin(t *testing.T, srv *mockserver.Server) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.APIURL("authentication/web_api_key/token"), nil)
	req.SetBasicAuth(docKey, "")
	env := do(t, req)
	require.Equal(t, "OK", env.Status.Code, env.Status.Description)
	return env.Data.Token
}

func use(t *testing.T, srv *mockserver.Server, tok string) envelope {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.APIURL("contact_information/show")+"?token="+url.QueryEscape(tok), nil)
	return do(t, req)
}

func release(t *testing.T, srv *mockserver.Server, tok string) envelope {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.APIURL("authentication/token/release"),
		strings.NewReader(`{"token":"`+tok+`"}`))
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

func rowState(tok string) string {
	return fmt.Sprintf(`document.querySelector('#tl-table tr[data-token="%s"] td.state')?.textContent`, tok)
}

// countsAre: the header's token counts read want.
func countsAre(want string) string {
	return fmt.Sprintf(`document.getElementById("token-counts").textContent === %q`, want)
}

func TestDashboardInBrowser(t *testing.T) {
	bctx := browser(t)

	// Ensure the page follows a suite live: tokens, clock moves and rejections made over
	// HTTP appear without a reload, and each control changes the mock.
	t.Run("lifecycle", func(t *testing.T) {
		srv := mockserver.Start(t, mockserver.Options{Version: "R10", Start: t0})
		ctx := tab(t, bctx, srv.URL+"/__admin/ui")
		waitFor(t, ctx, "clock shown", `document.getElementById("clock").textContent === "2024-01-01 09:00:00 UTC"`)
		waitFor(t, ctx, "release shown", `document.getElementById("release").textContent === "R10"`)

		// Rows appear for tokens issued after the page loaded.
		user := login(t, srv)
		key := keyLogin(t, srv)
		took := waitFor(t, ctx, "two timeline rows", `document.querySelectorAll("#tl-body .tl-row").length === 2 &&
			document.querySelectorAll("#tl-table tbody tr").length === 2`)
		t.Logf("tokens issued over HTTP shown after %v", took)
		require.Equal(t, "live", eval[string](t, ctx, rowState(user)))
		require.Equal(t, "live", eval[string](t, ctx, rowState(key)))
		waitFor(t, ctx, "header counts", countsAre("2 live · 0 expired · 0 released"))

		// A clock move made by the suite shows; a use is a tick on the token's row.
		_, err := srv.Advance(time.Minute)
		require.NoError(t, err)
		require.Equal(t, "OK", use(t, srv, user).Status.Code)
		took = waitFor(t, ctx, "clock moved by the suite", `document.getElementById("clock").textContent === "2024-01-01 09:01:00 UTC"`)
		t.Logf("clock moved over HTTP shown after %v", took)
		waitFor(t, ctx, "a use tick", fmt.Sprintf(`document.querySelectorAll('.tl-row[data-token="%s"] .mark-use').length === 1`, user))

		// F6: "+1 h" makes the idle user token (last used 09:01) expire at exactly 10:01;
		// F7: the key token (2 h after issue) stays live.
		click(t, ctx, "#adv-1h")
		waitFor(t, ctx, "+1 h moved the clock", `document.getElementById("clock").textContent === "2024-01-01 10:01:00 UTC"`)
		require.Equal(t, t0.Add(61*time.Minute), srv.Now())
		waitFor(t, ctx, "idle token expired", rowState(user)+` === "expired"`)
		require.Equal(t, "live", eval[string](t, ctx, rowState(key)))
		require.Equal(t, "expired", eval[string](t, ctx, fmt.Sprintf(`document.querySelector('.tl-row[data-token="%s"]').dataset.state`, user)))
		waitFor(t, ctx, "header counts after the expiry", countsAre("1 live · 1 expired · 0 released"))

		// A rejected presentation: its code and reason in the journal, a red mark on the row.
		env := use(t, srv, user)
		require.Equal(t, "TOKEN_EXPIRED", env.Status.Code)
		waitFor(t, ctx, "rejection in the journal", fmt.Sprintf(`[...document.querySelectorAll('#journal tbody tr[data-code="TOKEN_EXPIRED"] td.reason')]
			.some(td => td.textContent.includes(%q))`, env.Status.Description))
		waitFor(t, ctx, "red mark", fmt.Sprintf(`document.querySelectorAll('.tl-row[data-token="%s"] .mark-reject').length === 1`, user))

		// The other buttons and forms reach the mock.
		click(t, ctx, "#adv-1m")
		waitFor(t, ctx, "+1 m", `document.getElementById("clock").textContent === "2024-01-01 10:02:00 UTC"`)

		// A retry with the expired token: a second red mark and an expired-token-reused
		// lint finding (docs/lint.md: "The lint rules") linked to the token.
		require.Equal(t, "TOKEN_EXPIRED", use(t, srv, user).Status.Code)
		waitFor(t, ctx, "second red mark", fmt.Sprintf(`document.querySelectorAll('.tl-row[data-token="%s"] .mark-reject').length === 2`, user))
		waitFor(t, ctx, "lint finding", fmt.Sprintf(`!document.getElementById("lint").hidden &&
			document.querySelector('#lint-list li.error[data-rule="expired-token-reused"] button[aria-label="show token %s"]') !== null`, user))
		typeInto(t, ctx, "#advance-custom", "57m")
		click(t, ctx, "#advance-form button[type=submit]")
		waitFor(t, ctx, "custom advance", `document.getElementById("clock").textContent === "2024-01-01 10:59:00 UTC"`)
		require.Equal(t, "live", eval[string](t, ctx, rowState(key)), "F7: live until 2 h after issue")

		typeInto(t, ctx, "#release-input", "R12")
		click(t, ctx, "#release-form button[type=submit]")
		waitFor(t, ctx, "release switched", `document.getElementById("release").textContent === "R12"`)
		require.Equal(t, "R12", srv.Version().Name)

		// R12 tokens (F9: JWTs, 2 h after issue): one used, one used and released.
		jwt := login(t, srv)
		require.Equal(t, "OK", use(t, srv, jwt).Status.Code)
		gone := login(t, srv)
		require.Equal(t, "OK", use(t, srv, gone).Status.Code)
		require.Equal(t, "OK", release(t, srv, gone).Status.Code)
		waitFor(t, ctx, "released JWT row", rowState(gone)+` === "released"`)
		waitFor(t, ctx, "lint: release on R12", `document.querySelector('#lint-list li.info[data-rule="deprecated-release-used"]') !== null`)
		require.Equal(t, "live", eval[string](t, ctx, rowState(jwt)))
		waitFor(t, ctx, "header counts with the JWTs", countsAre("2 live · 1 expired · 1 released"))

		// The JWT released in the minute it was issued has no bar to speak of: its row
		// carries a mark with a size, drawn on top (the now line crosses it), and no other
		// row does.
		waitFor(t, ctx, "released-at-issue mark", fmt.Sprintf(`(() => {
			const m = document.querySelector('.tl-row[data-token="%s"] .mark-instant.released');
			if (!m) return false;
			const r = m.getBoundingClientRect();
			return r.width >= 6 && r.height >= 6 && document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === m })()`, gone))
		require.Equal(t, 1, eval[int](t, ctx, `document.querySelectorAll("#tl-body .mark-instant").length`))

		// One clock on the page, labelled as the mock's; the status line says how long ago
		// the page heard from the mock, not the wall clock's time.
		require.True(t, eval[bool](t, ctx, `(() => {
			const header = document.querySelector("header").innerText, clock = document.getElementById("clock");
			return (header.match(/\d{1,2}:\d\d/g) || []).length === 1 && clock.textContent === "2024-01-01 10:59:00 UTC" &&
				document.querySelectorAll("time").length === 1 && clock.closest("div").querySelector("dt").textContent === "Mock clock" &&
				!/\b(AM|PM)\b/.test(document.body.innerText) })()`), eval[string](t, ctx, `document.querySelector("header").innerText`))
		waitFor(t, ctx, "elapsed time since the update", `/^live · updated \d+\.\d s ago \(in \d+ ms\)$/.test(document.getElementById("live").textContent)`)

		// The reset button's caption sits beside it, in its group, on its line.
		require.True(t, eval[bool](t, ctx, `(() => {
			const b = document.getElementById("reset"), c = document.getElementById("reset-hint");
			const br = b.getBoundingClientRect(), cr = c.getBoundingClientRect();
			return b.parentElement === c.parentElement && b.parentElement.id === "reset-group" &&
				Math.abs((br.top + br.bottom) / 2 - (cr.top + cr.bottom) / 2) < 4 && cr.left >= br.right && cr.left - br.right < 16 })()`))

		// Clicking a token shows its events.
		click(t, ctx, fmt.Sprintf(`.tl-row[data-token="%s"]`, user))
		waitFor(t, ctx, "token details", fmt.Sprintf(`!document.getElementById("details").hidden &&
			document.getElementById("details-token").textContent === %q`, user))
		// The mock's own timeline (GET /__admin/tokens/{token}): expired at its exact moment.
		waitFor(t, ctx, "issued, used, expired, rejected events", `(() => {
			const rows = [...document.querySelectorAll("#details-events tbody tr")].map(tr => tr.cells[0].textContent + " " + tr.cells[1].textContent);
			return JSON.stringify(rows) === JSON.stringify(["2024-01-01 09:00:00 issued", "2024-01-01 09:01:00 used",
				"2024-01-01 10:01:00 expired", "2024-01-01 10:01:00 rejected", "2024-01-01 10:02:00 rejected"]) })()`)
		require.Empty(t, eval[string](t, ctx, `document.getElementById("details-note").textContent`))

		// The journal filters by token: from the token's panel, or by typing part of it.
		click(t, ctx, "#details-filter")
		waitFor(t, ctx, "journal filtered from the panel", fmt.Sprintf(`document.getElementById("journal-filter").value === %q &&
			document.querySelectorAll("#journal tbody tr").length === 4`, user))
		typeInto(t, ctx, "#journal-filter", user[len(user)-10:])
		waitFor(t, ctx, "journal filtered", `(() => { const rows = [...document.querySelectorAll("#journal tbody tr")];
			return rows.length === 4 && rows[0].dataset.code === "TOKEN_EXPIRED" })()`)
		click(t, ctx, "#filter-clear")
		waitFor(t, ctx, "filter cleared", `document.querySelectorAll("#journal tbody tr").length === 10`)

		// Known state for the screenshot (10:59 on R12): the idle R10 token expired after
		// its use with a rejection, the key token live until 11:00, a used JWT, a released one.
		click(t, ctx, "#details-close")
		waitFor(t, ctx, "details closed", `document.getElementById("details").hidden`)
		require.True(t, eval[bool](t, ctx, `(window.scrollTo(0, 0), document.activeElement.blur(), true)`))
		require.NoError(t, chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 1)))
		screenshot(t, ctx, "crmmock-dashboard.png", true)

		click(t, ctx, "#adv-2h")
		waitFor(t, ctx, "+2 h expires the key token", rowState(key)+` === "expired"`)
		require.Equal(t, t0.Add(3*time.Hour+59*time.Minute), srv.Now())
		typeInto(t, ctx, "#set-clock", "2024-01-02T08:00:00Z")
		click(t, ctx, "#set-form button[type=submit]")
		waitFor(t, ctx, "set clock", `document.getElementById("clock").textContent === "2024-01-02 08:00:00 UTC"`)
		require.Equal(t, time.Date(2024, 1, 2, 8, 0, 0, 0, time.UTC), srv.Now())

		// Bad input is answered, not swallowed.
		typeInto(t, ctx, "#advance-custom", "soon")
		click(t, ctx, "#advance-form button[type=submit]")
		waitFor(t, ctx, "bad duration reported", `document.getElementById("message").classList.contains("error") &&
			document.getElementById("message").textContent.includes("duration")`)

		// No script error surfaced on the way (the page reports them in its status line).
		require.False(t, eval[bool](t, ctx, `document.getElementById("live").classList.contains("down")`),
			eval[string](t, ctx, `document.getElementById("live").textContent`))

		// Reset empties the timeline and puts the clock back.
		click(t, ctx, "#reset")
		waitFor(t, ctx, "reset", `document.getElementById("clock").textContent === "2024-01-01 09:00:00 UTC" &&
			document.querySelectorAll("#tl-table tbody tr").length === 0 && document.getElementById("release").textContent === "R10"`)
		require.Empty(t, srv.Tokens())
		waitFor(t, ctx, "no tokens counted", countsAre("none"))

		// A reset made by the suite (journal ids keep increasing) empties the page too.
		login(t, srv)
		waitFor(t, ctx, "a new row and journal entry", `document.querySelectorAll("#tl-table tbody tr").length === 1 &&
			document.querySelectorAll("#journal tbody tr").length === 1`)
		srv.Reset()
		waitFor(t, ctx, "reset by the suite", `document.querySelectorAll("#tl-table tbody tr").length === 0 &&
			document.querySelectorAll("#journal tbody tr").length === 0`)
	})

	// Ensure the page asks for the admin token on a 401 and keeps it in the session only.
	t.Run("admin token", func(t *testing.T) {
		srv := mockserver.Start(t, mockserver.Options{Version: "R10", Start: t0, AdminToken: "s3cret"})
		ctx := tab(t, bctx, srv.URL+"/__admin/ui")
		waitFor(t, ctx, "token asked", `!document.getElementById("auth").hidden`)
		typeInto(t, ctx, "#auth-token", "wrong")
		click(t, ctx, "#auth button[type=submit]")
		waitFor(t, ctx, "wrong token refused", `!document.getElementById("auth").hidden &&
			document.getElementById("auth-why").textContent.includes("refused")`)
		typeInto(t, ctx, "#auth-token", "s3cret")
		click(t, ctx, "#auth button[type=submit]")
		waitFor(t, ctx, "clock shown with the token", `document.getElementById("clock").textContent === "2024-01-01 09:00:00 UTC"`)
		tok := login(t, srv)
		waitFor(t, ctx, "row with the token", rowState(tok)+` === "live"`)
		require.Equal(t, "s3cret", eval[string](t, ctx, `sessionStorage.getItem("crmmock-admin-token")`))
		require.Equal(t, 0, eval[int](t, ctx, `localStorage.length`))
	})

	// Ensure a mock on the wall clock shows it and offers no clock moves (they answer 409).
	// F19: methods of any depth are named whole in the request table, and a use of one
	// that merely ends in token/release is a use, not a release.
	t.Run("nested method", func(t *testing.T) {
		srv := mockserver.Start(t, mockserver.Options{Version: "R10", Start: t0})
		ctx := tab(t, bctx, srv.URL+"/__admin/ui")
		tok := login(t, srv)
		for _, m := range []string{"customer_events/purchases/create", "rewards/token/release"} {
			_, err := srv.Advance(20 * time.Minute) // ticks apart on the axis
			require.NoError(t, err)
			req, _ := http.NewRequest(http.MethodGet, srv.APIURL(m)+"?token="+url.QueryEscape(tok), nil)
			require.Equal(t, "OK", do(t, req).Status.Code, m)
		}
		waitFor(t, ctx, "the whole method name in the request table", `[...document.querySelectorAll("#journal tbody td")]
			.some(td => td.textContent === "GET customer_events/purchases/create")`)
		waitFor(t, ctx, "two use ticks, no release", fmt.Sprintf(`document.querySelectorAll('.tl-row[data-token="%s"] .mark-use').length === 2`, tok))
		require.Equal(t, "live", eval[string](t, ctx, rowState(tok)))

		// F20: a request accepted only for leniency says so in its reason
		req, _ := http.NewRequest(http.MethodPost, srv.APIURL("authentication/token"),
			strings.NewReader(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO","unit":null}`))
		req.Header.Set("Content-Type", "Application/JSON; charset=UTF-8")
		require.Equal(t, "OK", do(t, req).Status.Code)
		waitFor(t, ctx, "the leniency in the reason", `[...document.querySelectorAll("#journal tbody td.reason")]
			.some(td => td.textContent === "accepted for leniency: content-type case: Application/JSON, null optional field: unit")`)
	})

	t.Run("real clock", func(t *testing.T) {
		srv := mockserver.Start(t, mockserver.Options{Version: "R12", RealClock: true})
		ctx := tab(t, bctx, srv.URL+"/__admin/ui")
		waitFor(t, ctx, "real clock shown", `document.getElementById("clock-mode").textContent.includes("real clock")`)
		require.True(t, eval[bool](t, ctx, `["adv-1m", "adv-1h", "adv-2h"].every(id => document.getElementById(id).disabled) &&
			document.querySelector("#set-form button").disabled && !document.querySelector("#release-form button").disabled`))
	})

	// Ensure the page works under a sandbox's admin_url: it acts on the sandbox alone,
	// and the root's page links to it.
	t.Run("sandbox", func(t *testing.T) {
		srv := mockserver.Start(t, mockserver.Options{Version: "R12", Start: t0.AddDate(1, 0, 0)})
		resp, err := http.Post(srv.URL+"/__admin/sandboxes", "application/json",
			strings.NewReader(`{"version":"R10","start":"2024-01-01T09:00:00Z"}`))
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		var sb struct {
			ID       string `json:"id"`
			BaseURL  string `json:"base_url"`
			AdminURL string `json:"admin_url"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&sb))
		rootTok := login(t, srv)

		ctx := tab(t, bctx, sb.AdminURL+"/ui")
		waitFor(t, ctx, "sandbox clock", `document.getElementById("clock").textContent === "2024-01-01 09:00:00 UTC" &&
			document.getElementById("release").textContent === "R10"`)
		require.Contains(t, eval[string](t, ctx, `document.getElementById("instance").textContent`), "sandbox "+sb.ID)
		req, _ := http.NewRequest(http.MethodPost, sb.BaseURL+"/authentication/token",
			strings.NewReader(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`))
		req.Header.Set("Content-Type", "application/json")
		env := do(t, req)
		require.Equal(t, "OK", env.Status.Code)
		waitFor(t, ctx, "the sandbox's token, not the root's", rowState(env.Data.Token)+` === "live" &&
			document.querySelectorAll("#tl-table tbody tr").length === 1`)
		click(t, ctx, "#adv-1h")
		waitFor(t, ctx, "sandbox clock moved", `document.getElementById("clock").textContent === "2024-01-01 10:00:00 UTC"`)
		waitFor(t, ctx, "sandbox token expired (F6)", rowState(env.Data.Token)+` === "expired"`)
		require.Equal(t, t0.AddDate(1, 0, 0), srv.Now(), "the root's clock did not move")
		rt, ok := srv.Token(rootTok)
		require.True(t, ok)
		require.Equal(t, mockserver.StateLive, rt.State)

		root := tab(t, bctx, srv.URL+"/__admin/ui")
		waitFor(t, root, "root lists the sandbox", fmt.Sprintf(`[...document.querySelectorAll("#sandbox-list a")]
			.some(a => a.getAttribute("href") === %q)`, strings.TrimPrefix(sb.AdminURL, srv.URL)+"/ui"))

		// A deleted sandbox is said to be gone, on its page and from the root's list.
		del, _ := http.NewRequest(http.MethodDelete, srv.URL+"/__admin/sandboxes/"+sb.ID, nil)
		dr, err := http.DefaultClient.Do(del)
		require.NoError(t, err)
		dr.Body.Close()
		require.Equal(t, http.StatusOK, dr.StatusCode)
		waitFor(t, ctx, "sandbox gone", `document.getElementById("live").textContent.includes("this sandbox is gone")`)
		// The time since the last answer keeps counting while the page hears nothing.
		waitFor(t, ctx, "last update a second ago", `(() => { const m = / · last updated (\d+\.\d) s ago$/.exec(document.getElementById("live").textContent);
			return m !== null && parseFloat(m[1]) >= 1 })()`)
		waitFor(t, root, "root list emptied", `document.getElementById("sandboxes").hidden`)
	})

	// Ensure the time axis zooms around "now": each step halves the span (a bar twice as
	// long), the now line stays where it was, Fit shows every token again, Ctrl + wheel
	// zooms too, and a clock move keeps the now line on a zoomed axis.
	t.Run("zoom", func(t *testing.T) {
		srv := mockserver.Start(t, mockserver.Options{Version: "R10", Start: t0})
		login(t, srv) // 09:00, expires 10:00 (F6: 1 h idle)
		_, err := srv.Advance(time.Hour)
		require.NoError(t, err)
		tok := login(t, srv) // 10:00
		_, err = srv.Advance(30 * time.Minute)
		require.NoError(t, err)
		ctx := tab(t, bctx, srv.URL+"/__admin/ui")
		waitFor(t, ctx, "clock at 10:30", `document.getElementById("clock").textContent === "2024-01-01 10:30:00 UTC"`)
		waitFor(t, ctx, "two rows", `document.querySelectorAll("#tl-body .tl-row").length === 2`)
		type axis struct {
			Bar  float64 `json:"bar"`  // width of the token's bar from issue to now (10:00-10:30), px
			Now  float64 `json:"now"`  // x of the now line, px
			Span string  `json:"span"` // the span the axis says it shows
			L, R float64 // the track's edges, px
		}
		read := func() axis {
			return eval[axis](t, ctx, fmt.Sprintf(`(() => {
				const bar = document.querySelector('.tl-row[data-token="%s"] .bar.live').getBoundingClientRect();
				const now = document.querySelector("#tl-body .nowline").getBoundingClientRect();
				const track = document.querySelector("#tl-axis .tl-track").getBoundingClientRect();
				return { bar: bar.width, now: now.x, span: document.getElementById("zoom-span").textContent, L: track.left, R: track.right } })()`, tok))
		}
		fit := read()
		require.Equal(t, "2h7m shown", fit.Span) // 09:00-11:00 and 3 % either side
		require.True(t, eval[bool](t, ctx, `document.getElementById("zoom-out").disabled && document.getElementById("zoom-fit").disabled`))

		click(t, ctx, "#zoom-in")
		waitFor(t, ctx, "zoomed ×2", `document.getElementById("zoom-span").textContent.endsWith("(zoomed ×2)")`)
		in := read()
		require.Equal(t, "1h4m shown (zoomed ×2)", in.Span)
		require.InDelta(t, 2, in.Bar/fit.Bar, 0.03, "the same half hour drawn twice as long")
		require.InDelta(t, fit.Now, in.Now, 1, "the now line stays put")

		click(t, ctx, "#zoom-fit")
		waitFor(t, ctx, "fit again", fmt.Sprintf(`document.getElementById("zoom-span").textContent === %q`, fit.Span))
		require.InDelta(t, fit.Bar, read().Bar, 0.5)

		// Ctrl + wheel up over the timeline zooms in (the plain wheel scrolls its rows).
		x := (fit.L + fit.R) / 2
		y := eval[float64](t, ctx, `(r => r.top + r.height / 2)(document.getElementById("tl").getBoundingClientRect())`)
		require.NoError(t, chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseWheel, x, y,
			chromedp.ButtonModifiers(chromedp.ModifierCtrl), func(p *input.DispatchMouseEventParams) {
				// cdproto omits a zero deltaX, which Chromium requires: a negligible one.
				p.DeltaX, p.DeltaY = 1e-6, -200
			})))
		waitFor(t, ctx, "wheel zoomed ×2", `document.getElementById("zoom-span").textContent.endsWith("(zoomed ×2)")`)
		require.InDelta(t, 2, read().Bar/fit.Bar, 0.03)

		// The mock's clock moves 20 minutes on: the zoomed axis still shows now.
		_, err = srv.Advance(20 * time.Minute)
		require.NoError(t, err)
		waitFor(t, ctx, "clock at 10:50", `document.getElementById("clock").textContent === "2024-01-01 10:50:00 UTC"`)
		waitFor(t, ctx, "axis redrawn", `document.querySelector("#tl-axis .now-label").textContent === "now 10:50"`)
		moved := read()
		require.True(t, moved.Now > moved.L && moved.Now < moved.R, "now line within the axis: %+v", moved)
		require.Contains(t, moved.Span, "(zoomed ×2)")
	})

	// Ensure 500 tokens stay readable: every token in the table, compact rows drawn only
	// where the timeline is scrolled (the last one appears when scrolled to the end).
	t.Run("500 tokens", func(t *testing.T) {
		srv := mockserver.Start(t, mockserver.Options{Version: "R10", Start: t0})
		var first, last string
		for i := range 500 {
			tok := login(t, srv)
			if i == 0 {
				first = tok
			}
			last = tok
			switch i % 5 {
			case 1:
				use(t, srv, tok)
			case 2:
				release(t, srv, tok)
			}
			if i%50 == 49 {
				_, err := srv.Advance(7 * time.Minute)
				require.NoError(t, err)
			}
		}
		use(t, srv, first) // rejected: expired
		ctx := tab(t, bctx, srv.URL+"/__admin/ui")
		waitFor(t, ctx, "500 table rows", `document.querySelectorAll("#tl-table tbody tr").length === 500`)
		drawn := eval[int](t, ctx, `document.querySelectorAll("#tl-body .tl-row").length`)
		t.Logf("500 tokens: %d timeline rows drawn at a time", drawn)
		require.Less(t, drawn, 120)
		require.Positive(t, drawn)
		require.True(t, eval[bool](t, ctx, fmt.Sprintf(`document.querySelector('.tl-row[data-token="%s"]') !== null`, last)), "newest first")
		// Keyboard: a focused row opens its token with Enter.
		require.NoError(t, chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(fmt.Sprintf(`.tl-row[data-token="%s"]`, last))), chromedp.KeyEvent("\r")))
		waitFor(t, ctx, "details by keyboard", fmt.Sprintf(`document.getElementById("details-token").textContent === %q`, last))
		click(t, ctx, "#details-close")
		require.True(t, eval[bool](t, ctx, `(window.scrollTo(0, 0), document.activeElement.blur(), true)`))
		waitFor(t, ctx, "the whole journal read on the first load", `document.getElementById("journal-count").textContent === "(newest 300 of 701)"`)
		screenshot(t, ctx, "crmmock-dashboard-500.png", false)
		require.NoError(t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("tl").scrollTop = 1e6`)))
		waitFor(t, ctx, "oldest row drawn after scrolling", fmt.Sprintf(`document.querySelector('.tl-row[data-token="%s"]') !== null`, first))
		waitFor(t, ctx, "its rejection marked", fmt.Sprintf(`document.querySelector('.tl-row[data-token="%s"] .mark-reject') !== null`, first))
	})

	// Ensure a mock holding more tokens than the page shows: the page lists the newest
	// 1 000 and its header counts every token the mock holds (GET /__admin/tokens counts).
	t.Run("over 1 000 tokens", func(t *testing.T) {
		srv := mockserver.Start(t, mockserver.Options{Version: "R10", Start: t0})
		var oldest string
		for i := range 100 {
			tok := login(t, srv)
			if i == 0 {
				oldest = tok
			}
			if i%10 == 0 {
				require.Equal(t, "OK", release(t, srv, tok).Status.Code)
			}
		}
		_, err := srv.Advance(61 * time.Minute) // F6: the 90 unreleased ones expire (idle hour)
		require.NoError(t, err)
		var newest string
		for range 950 {
			newest = login(t, srv)
		}
		require.Equal(t, mockserver.TokenCounts{Live: 950, Expired: 90, Released: 10}, srv.TokensFiltered(mockserver.TokenFilter{Limit: 1}).Counts)
		ctx := tab(t, bctx, srv.URL+"/__admin/ui")
		waitFor(t, ctx, "1 000 table rows", `document.querySelectorAll("#tl-table tbody tr").length === 1000`)
		waitFor(t, ctx, "every held token counted", countsAre("950 live · 90 expired · 10 released"))
		require.Equal(t, "Tokens, newest first (the timeline as a table; the newest 1000 of 1050)",
			eval[string](t, ctx, `document.getElementById("tl-caption").textContent`))
		require.Equal(t, "live", eval[string](t, ctx, rowState(newest)))
		require.False(t, eval[bool](t, ctx, fmt.Sprintf(`document.querySelector('[data-token="%s"]') !== null`, oldest)), "the oldest is beyond the newest 1 000")
		require.True(t, eval[bool](t, ctx, `(() => { const asked = performance.getEntriesByType("resource").map(e => new URL(e.name));
			const tokens = asked.filter(u => u.pathname === "/__admin/tokens");
			return tokens.length > 0 && tokens.every(u => u.search === "?limit=1000") })()`), "the page polls only the newest 1 000 tokens")

		// A change among the tokens not shown still moves the counts.
		require.NoError(t, srv.RevokeToken(oldest))
		waitFor(t, ctx, "a revoked old token uncounted", countsAre("950 live · 90 expired · 9 released"))
	})
}
