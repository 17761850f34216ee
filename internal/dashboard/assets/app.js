// crmmock dashboard: a client of the control API (docs/control-api.md, docs/lint.md), nothing more.
// It polls (see docs/dashboard.md) and renders; every call goes to the control API
// of the instance this page was served by, found from the page's own path.
"use strict";
(() => {
  const POLL_MS = 500;          // the page reflects a change within ~0.5 s (+ render)
  const JOURNAL_STEP = 100;     // newest entries asked for on each poll
  const JOURNAL_CATCHUP = 5000; // asked for when more than a step arrived between polls
  const JOURNAL_CAP = 20000;    // entries kept in the page for the timeline's marks
  const JOURNAL_SHOWN = 300;    // rows in the journal table
  const TOKENS_SHOWN = 1000;    // newest tokens asked for on each poll: the timeline's rows and its table
  const TOKEN_KEY = "crmmock-admin-token";
  const ADMIN = location.pathname.replace(/\/ui\/?$/, "");

  const $ = (id) => document.getElementById(id);
  const state = {
    clock: null, version: null, tokens: [], tokensText: "",
    entries: new Map(), maxId: 0, noIds: false, flat: [], journalText: "", sorted: [],
    marks: new Map(), lint: undefined, lintAt: 0, lintMaxId: -1,
    sandboxes: undefined, sandboxesAt: 0, selected: "", details: null, detailsText: "",
    filter: "", waitingForToken: false,
  };

  // ---- the control API -------------------------------------------------------------
  class AuthNeeded extends Error {}

  // A release is the one operation of that name: another method may end in token/release
  // (methods have any number of segments, F19).
  const isRelease = (e) => e.operation === "authentication/token/release";

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const tok = sessionStorage.getItem(TOKEN_KEY);
    if (tok) headers.Authorization = "Bearer " + tok;
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(ADMIN + path, init);
    if (res.status === 401) {
      askToken(Boolean(tok));
      throw new AuthNeeded("the control API needs the admin token");
    }
    const text = await res.text();
    let data = null;
    try { data = JSON.parse(text); } catch (_) { /* not JSON: keep null */ }
    return { status: res.status, ok: res.ok, data, text };
  }

  function askToken(refused) {
    if (refused) sessionStorage.removeItem(TOKEN_KEY);
    const form = $("auth");
    $("auth-why").textContent = refused
      ? "The admin token was refused. Enter the one the mock was started with (--admin-token); it is kept in this tab's session only."
      : "This mock was started with --admin-token: the control API needs it. It is kept in this tab's session only.";
    if (form.hidden) {
      form.hidden = false;
      $("auth-token").focus();
    }
    state.waitingForToken = true;
    setLive(false, "waiting for the admin token");
  }

  $("auth").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = $("auth-token").value.trim();
    if (!v) return;
    sessionStorage.setItem(TOKEN_KEY, v);
    $("auth-token").value = "";
    $("auth").hidden = true;
    state.waitingForToken = false;
    pollNow();
  });

  // ---- formatting ----------------------------------------------------------------------
  const ms = (s) => (s ? Date.parse(s) : NaN);
  const pad = (n) => String(n).padStart(2, "0");
  function fmtTime(t, withDate) {
    if (!isFinite(t)) return "—";
    const d = new Date(t);
    const hms = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
    if (!withDate) return hms;
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " + hms;
  }
  // Times show their date only when it is not the mock clock's day.
  function fmtMock(t) {
    const now = state.clock ? ms(state.clock.now) : NaN;
    const sameDay = isFinite(now) && new Date(now).toISOString().slice(0, 10) === new Date(t).toISOString().slice(0, 10);
    return fmtTime(t, !sameDay);
  }
  function fmtDur(d) {
    const neg = d < 0; d = Math.abs(d);
    const s = Math.round(d / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const out = (h ? h + "h" : "") + (m ? m + "m" : "") + (r || (!h && !m) ? r + "s" : "");
    return neg ? "-" + out : out;
  }
  const shortRule = (r) => r.replace(/(\d+h)0m0s/, "$1").replace(/(\d+m)0s/, "$1"); // "1h0m0s idle" → "1h idle"
  const short = (tok) => (tok && tok.length > 12 ? "…" + tok.slice(-8) : tok || "");

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) el.append(kid);
    return el;
  }

  function message(text, isError) {
    const m = $("message");
    m.textContent = text;
    m.className = "message" + (isError ? " error" : "");
  }

  // The status line says how long ago the page last heard from the mock (elapsed time,
  // so the only clock on the page is the mock's). It changes all the time, so it is no
  // live region; losing and regaining the mock is announced once through the message line.
  let wasUp = true, why = "connecting…", updatedAt = NaN, tookMs = 0;
  function setLive(ok, text) {
    $("live").className = "live" + (ok ? "" : " down");
    why = text;
    if (ok !== wasUp) message(ok ? "Connected to the mock again." : text, !ok);
    wasUp = ok;
    renderLive();
  }
  function ago() {
    const d = performance.now() - updatedAt;
    return (d < 60e3 ? (d / 1000).toFixed(1) + " s" : fmtDur(d)) + " ago";
  }
  function renderLive() {
    setText($("live"), !isFinite(updatedAt) ? why
      : wasUp ? "live · updated " + ago() + " (in " + tookMs + " ms)"
        : why + " · last updated " + ago());
  }
  setInterval(renderLive, 100);

  function setText(el, text) { if (el.textContent !== text) el.textContent = text; }

  // ---- polling -------------------------------------------------------------------------
  let timer = 0, running = false, again = false;

  function pollNow() {
    clearTimeout(timer);
    if (running) { again = true; return; }
    poll();
  }

  async function poll() {
    running = true;
    const started = performance.now();
    try {
      await refresh();
      updatedAt = performance.now();
      tookMs = Math.round(updatedAt - started);
      setLive(true, "live");
    } catch (err) {
      if (!(err instanceof AuthNeeded)) setLive(false, "update failed: " + err.message);
    }
    running = false;
    if (state.waitingForToken) return;
    // A slow answer (a huge journal) backs the polling off instead of piling up calls.
    const wait = again ? 0 : Math.max(POLL_MS, 2 * (performance.now() - started));
    again = false;
    if (!document.hidden) timer = setTimeout(poll, wait);
  }

  window.addEventListener("error", (ev) => setLive(false, "page error: " + ev.message));
  window.addEventListener("unhandledrejection", (ev) => {
    if (!(ev.reason instanceof AuthNeeded)) setLive(false, "page error: " + (ev.reason && ev.reason.message));
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) pollNow(); });

  async function refresh() {
    const [clock, version, tokens] = await Promise.all([
      api("GET", "/clock"), api("GET", "/version"), api("GET", "/tokens?limit=" + TOKENS_SHOWN), loadJournal(),
    ]);
    if (clock.status === 404 && inSandbox()) throw new Error("this sandbox is gone (deleted, or idle longer than --sandbox-ttl)");
    if (!clock.ok) throw new Error("GET /clock answered " + clock.status);
    state.clock = clock.data;
    state.version = version.ok ? version.data : null;
    let tokensChanged = false;
    if (tokens.ok && tokens.text !== state.tokensText) {
      state.tokensText = tokens.text;
      state.tokens = ((tokens.data && tokens.data.tokens) || []).slice().reverse();
      state.counts = (tokens.data && tokens.data.counts) || countStates(state.tokens); // every held token's, from the mock
      state.dropped = (tokens.data && tokens.data.dropped) || 0;
      tokensChanged = true;
    }
    const extras = [];
    const now = Date.now();
    if (state.lint !== null && (state.maxId !== state.lintMaxId || now - state.lintAt > 5000)) {
      extras.push(loadLint());
    }
    if (state.sandboxes !== null && !inSandbox() && now - state.sandboxesAt > 2000) extras.push(loadSandboxes());
    if (state.selected) extras.push(loadDetails());
    await Promise.all(extras);
    renderHeader();
    renderTimeline(tokensChanged || state.marksChanged);
    state.marksChanged = false;
    renderJournal();
  }

  // The journal is kept in the page by entry id, so the timeline can mark uses and
  // rejections without asking for the whole journal on every poll.
  async function loadJournal() {
    // The first poll fills the page's journal; later ones ask for what is new.
    const asked = state.maxId ? JOURNAL_STEP : JOURNAL_CATCHUP;
    let r = await api("GET", "/requests?limit=" + asked);
    if (!r.ok) return;
    if (r.text === state.journalText) return;
    state.journalText = r.text;
    let list = (r.data && r.data.requests) || [];
    if (list.length && list[0].id === undefined) { // an older mock: no ids, no limit
      state.noIds = true;
      state.flat = list.slice(-JOURNAL_CAP);
      rebuildMarks();
      return;
    }
    state.noIds = false;
    // An answer shorter than asked is the mock's whole journal: it replaces the page's
    // (this is how a reset or a cleared journal shows: ids never restart).
    let complete = list.length < asked;
    if (!complete && state.maxId > 0 && list[0].id > state.maxId + 1) { // more arrived than one step
      const more = await api("GET", "/requests?limit=" + JOURNAL_CATCHUP);
      if (more.ok) {
        list = (more.data && more.data.requests) || list;
        complete = list.length < JOURNAL_CATCHUP;
      }
    }
    const newest = list.length ? list[list.length - 1].id : 0;
    if (complete || newest < state.maxId) { state.entries.clear(); state.maxId = 0; }
    for (const e of list) state.entries.set(e.id, e);
    state.maxId = Math.max(state.maxId, newest);
    if (state.entries.size > JOURNAL_CAP) {
      const ids = Array.from(state.entries.keys()).sort((a, b) => a - b);
      for (const id of ids.slice(0, ids.length - JOURNAL_CAP)) state.entries.delete(id);
    }
    state.sorted = Array.from(state.entries.values()).sort((a, b) => b.id - a.id);
    rebuildMarks();
  }

  function journalNewestFirst() {
    return state.noIds ? state.flat.slice().reverse() : state.sorted;
  }

  // marks: token → {uses: [t], rejects: [{t, code, id}], released: t}
  function rebuildMarks() {
    const marks = new Map();
    const get = (tok) => {
      let m = marks.get(tok);
      if (!m) { m = { uses: [], rejects: [], released: NaN }; marks.set(tok, m); }
      return m;
    };
    for (const e of journalNewestFirst()) {
      if (!e.token) continue;
      const t = ms(e.time);
      const m = get(e.token);
      if (e.code && e.code !== "OK") m.rejects.push({ t, code: e.code, id: e.id });
      else if (isRelease(e)) m.released = t;
      else m.uses.push(t);
    }
    state.marks = marks;
    state.marksChanged = true;
  }

  async function loadLint() {
    const r = await api("GET", "/lint");
    state.lintAt = Date.now();
    state.lintMaxId = state.maxId;
    if (r.status === 404) { state.lint = null; $("lint").hidden = true; return; } // not served here
    if (!r.ok || r.text === state.lintText) return;
    state.lintText = r.text;
    state.lint = r.data;
    renderLint();
  }

  const inSandbox = () => /\/sandboxes\/[^/]+\/__admin$/.test(ADMIN);

  async function loadSandboxes() {
    const r = await api("GET", "/sandboxes");
    state.sandboxesAt = Date.now();
    if (r.status === 404 || r.status === 405) { state.sandboxes = null; return; }
    if (!r.ok) return;
    const list = Array.isArray(r.data) ? r.data : (r.data && r.data.sandboxes) || [];
    state.sandboxes = list;
    renderSandboxes();
  }

  // ---- header, controls ------------------------------------------------------------------
  function renderHeader() {
    const c = state.clock;
    setText($("clock"), c ? fmtTime(ms(c.now), true) + " UTC" : "—");
    if (c) $("clock").setAttribute("datetime", c.now);
    setText($("clock-mode"), c && c.mode === "real" ? "(real clock: it cannot be moved)" : "");
    const fake = !c || c.mode !== "real";
    for (const b of document.querySelectorAll("[data-advance], #advance-form button, #set-form button")) b.disabled = !fake;
    const v = state.version;
    setText($("release"), v ? v.version : "—");
    setText($("profile"), v && v.profile && v.profile !== v.version ? "(" + v.profile + " rules)" : "");
    if (c && document.activeElement !== $("set-clock") && !$("set-clock").dataset.touched) $("set-clock").value = c.now;
    if (v && document.activeElement !== $("release-input") && !$("release-input").dataset.touched) $("release-input").value = v.version;
    const n = state.counts || countStates(state.tokens);
    setText($("token-counts"), (heldTokens()
      ? n.live + " live · " + n.expired + " expired · " + n.released + " released"
      : "none") + (state.dropped ? " · " + state.dropped + " dead ones dropped" : ""));
    const m = ADMIN.match(/^(.*)\/sandboxes\/([^/]+)\/__admin$/);
    const inst = $("instance");
    if (m && !inst.childElementCount) {
      inst.replaceChildren("· sandbox " + decodeURIComponent(m[2]) + " ", h("a", { href: m[1] + "/__admin/ui", text: "(root dashboard)" }));
    }
  }

  async function control(method, path, body, done) {
    try {
      const r = await api(method, path, body);
      if (!r.ok) {
        message((r.data && r.data.error) || method + " " + path + " answered " + r.status, true);
      } else {
        message(done(r.data));
      }
    } catch (err) {
      if (!(err instanceof AuthNeeded)) message("The mock did not answer: " + err.message, true);
    }
    pollNow();
  }

  function advance(d) {
    control("POST", "/clock/advance", { duration: d }, (data) => "Clock advanced by " + d + " to " + fmtTime(ms(data.now), true) + " UTC.");
  }
  for (const b of document.querySelectorAll("[data-advance]")) b.addEventListener("click", () => advance(b.dataset.advance));
  $("advance-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const d = $("advance-custom").value.trim();
    if (!d) { message("Enter a duration, e.g. 61m.", true); $("advance-custom").focus(); return; }
    advance(d);
  });
  $("set-clock").addEventListener("input", (ev) => { ev.target.dataset.touched = "1"; });
  $("set-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    delete $("set-clock").dataset.touched;
    const v = $("set-clock").value.trim();
    control("POST", "/clock/set", { now: v }, (data) => "Clock set to " + fmtTime(ms(data.now), true) + " UTC.");
  });
  $("release-input").addEventListener("input", (ev) => { ev.target.dataset.touched = "1"; });
  $("release-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    delete $("release-input").dataset.touched;
    const v = $("release-input").value.trim();
    control("PUT", "/version", { version: v }, (data) => "Release switched to " + data.version + ". Tokens already issued keep their rule.");
  });
  $("reset").addEventListener("click", () => {
    state.entries.clear(); state.maxId = 0;
    closeDetails();
    control("POST", "/reset", undefined, () => "Reset: tokens and journal dropped; clock and release back to their start.");
  });

  // ---- timeline --------------------------------------------------------------------------
  const STEPS = [1 / 6, 0.5, 1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080].map((m) => m * 60000);
  const ZOOM_MIN_SPAN = 2 * 60e3; // zooming in stops at a 2-minute axis
  const INSTANT_PX = 4;           // a bar shorter than this is drawn as a mark at issue
  let view = null; // what the rows are drawn against
  let zoom = 1;    // 1: the axis fits every token; each zoom step halves or doubles its span around "now"

  function tokenSpan(t, now) {
    const issued = ms(t.issued_at), exp = ms(t.expires_at);
    const mk = state.marks.get(t.token);
    let end = exp, future = NaN;
    if (t.state === "released") {
      end = mk && isFinite(mk.released) ? mk.released
        : state.details && state.details.token === t.token && isFinite(state.details.releasedAt) ? state.details.releasedAt
          : Math.min(now, exp);
    } else if (t.state === "live") {
      end = Math.min(now, exp); future = exp;
    }
    return { issued, end, future, exp };
  }

  function renderTimeline(changed) {
    const toks = state.tokens;
    const c = state.clock;
    if (!c) return;
    const now = ms(c.now);
    $("tl-empty").hidden = toks.length > 0;
    $("tl").hidden = toks.length === 0;
    let t0 = Infinity, t1 = -Infinity;
    const spans = toks.map((t) => tokenSpan(t, now));
    for (const s of spans) {
      t0 = Math.min(t0, s.issued);
      t1 = Math.max(t1, s.end, isFinite(s.future) ? s.future : -Infinity);
    }
    t0 = Math.min(isFinite(t0) ? t0 : now - 3600e3, now);
    t1 = Math.max(isFinite(t1) ? t1 : now + 7200e3, now);
    const padT = Math.max((t1 - t0) * 0.03, 60e3);
    t0 -= padT; t1 += padT;
    // Zoomed in, the axis keeps "now" where the fitted axis has it, so the now line stays put.
    zoom = Math.max(1, Math.min(zoom, (t1 - t0) / ZOOM_MIN_SPAN));
    if (zoom > 1) {
      const span = (t1 - t0) / zoom, f = (now - t0) / (t1 - t0);
      t0 = now - f * span; t1 = t0 + span;
    }
    renderZoom(t1 - t0);
    const rowH = toks.length > 40 ? 14 : 26;
    const key = [now, t0, t1, toks.length, $("tl").clientWidth, state.selected].join();
    if (!changed && view && view.key === key) return; // nothing moved: leave the DOM (and focus) alone
    view = { toks, spans, now, t0, t1, rowH, key };
    const body = $("tl-body");
    body.classList.toggle("compact", rowH < 20);
    body.style.height = toks.length * rowH + "px";
    renderAxis();
    renderRows();
    if (changed) renderTable();
  }

  const pct = (t) => ((t - view.t0) / (view.t1 - view.t0)) * 100;
  const clampPct = (t) => Math.max(0, Math.min(100, pct(t))); // a bar beyond a zoomed axis ends at its edge

  function renderZoom(span) {
    setText($("zoom-span"), fmtDur(span < 600e3 ? span : Math.round(span / 60e3) * 60e3) + " shown" + (zoom > 1 ? " (zoomed ×" + (Math.round(zoom * 10) / 10) + ")" : ""));
    $("zoom-out").disabled = zoom <= 1;
    $("zoom-fit").disabled = zoom <= 1;
    $("zoom-in").disabled = span / 2 < ZOOM_MIN_SPAN;
  }
  function setZoom(z) {
    zoom = z;
    renderTimeline(false);
  }
  $("zoom-in").addEventListener("click", () => setZoom(zoom * 2));
  $("zoom-out").addEventListener("click", () => setZoom(zoom / 2));
  $("zoom-fit").addEventListener("click", () => setZoom(1));
  // Ctrl (or ⌘) + wheel over the timeline zooms it; the plain wheel still scrolls its rows.
  $("tl").addEventListener("wheel", (ev) => {
    if (!ev.ctrlKey && !ev.metaKey) return;
    ev.preventDefault();
    setZoom(zoom * Math.pow(2, -ev.deltaY / 200));
  }, { passive: false });

  function renderAxis() {
    const axis = $("tl-axis");
    const track = h("div", { class: "tl-track" });
    axis.replaceChildren(track);
    const width = track.clientWidth || 100;
    view.trackW = width;
    const span = view.t1 - view.t0;
    const step = STEPS.find((s) => (s / span) * width >= 90) || STEPS[STEPS.length - 1];
    const grid = h("div", { class: "tl-track" });
    const nearNow = (t) => (Math.abs(t - view.now) / span) * width < 60; // the "now" label wins
    for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
      if (!nearNow(t)) {
        const label = h("span", { class: "tick-label", text: fmtMock(t).replace(/:00$/, "") });
        label.style.left = pct(t) + "%";
        track.append(label);
      }
      const g = h("div", { class: "gridline" });
      g.style.left = pct(t) + "%";
      grid.append(g);
    }
    const nowLabel = h("span", { class: "now-label", text: "now " + fmtTime(view.now).replace(/:00$/, "") });
    nowLabel.style.left = pct(view.now) + "%";
    track.append(nowLabel);
    view.grid = grid;
  }

  function renderRows() {
    const scroller = $("tl"), body = $("tl-body");
    const { toks, spans, rowH } = view;
    const axisH = $("tl-axis").offsetHeight;
    const top = Math.max(0, scroller.scrollTop - axisH);
    const first = Math.max(0, Math.floor(top / rowH) - 10);
    const last = Math.min(toks.length, Math.ceil((top + scroller.clientHeight) / rowH) + 10);
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.token : undefined;
    const nowLine = h("div", { class: "nowline" });
    nowLine.style.left = pct(view.now) + "%";
    const overlay = h("div", { class: "tl-track" }, nowLine);
    const kids = [view.grid, overlay];
    let refocus = null;
    for (let i = first; i < last; i++) {
      const row = renderRow(toks[i], spans[i], i, rowH);
      if (focused && toks[i].token === focused) refocus = row;
      kids.push(row);
    }
    body.replaceChildren(...kids);
    if (refocus) refocus.focus({ preventScroll: true });
  }

  function renderRow(t, s, i, rowH) {
    const mk = state.marks.get(t.token) || { uses: [], rejects: [] };
    const label = h("span", { class: "tl-label" },
      h("span", { class: "tok", text: short(t.token) }),
      h("span", { class: "st " + t.state, text: t.state }),
      h("span", { class: "user muted", text: ({ web_api_key: "key · ", consumer_application_key: "consumer · ", device_application_key: "device · " }[t.kind] || "") + (t.rule ? shortRule(t.rule).replace("after issue", "fixed") : t.user) }));
    const track = h("div", { class: "tl-track" });
    const bar = h("div", { class: "bar " + t.state });
    bar.style.left = clampPct(s.issued) + "%";
    bar.style.width = Math.max(0, clampPct(s.end) - clampPct(s.issued)) + "%";
    track.append(bar);
    if (isFinite(s.future) && s.future > s.end) {
      const f = h("div", { class: "bar future" });
      f.style.left = clampPct(s.end) + "%";
      f.style.width = clampPct(s.future) - clampPct(s.end) + "%";
      track.append(f);
    }
    // A token released or expired at (or just after) issue has no bar to speak of: a
    // diamond at its issue says it existed.
    const atIssue = s.end - s.issued;
    if (t.state !== "live" && (atIssue / (view.t1 - view.t0)) * view.trackW < INSTANT_PX) {
      const p = pct(s.issued);
      const d = p < 0 || p > 100 ? null : h("div", { class: "mark-instant " + t.state,
        title: t.state + (atIssue > 0 ? " " + fmtDur(atIssue) + " after issue" : " at issue") + ", " + fmtMock(s.end) });
      if (d) { d.style.left = p + "%"; track.append(d); }
    }
    const seen = new Set(); // one tick per 0.1 % of the axis is all the eye can tell apart
    for (const u of mk.uses) {
      const p = pct(u), k = Math.round(p * 10);
      if (p < 0 || p > 100 || seen.has(k)) continue;
      seen.add(k);
      const tick = h("div", { class: "mark-use" });
      tick.style.left = p + "%";
      track.append(tick);
    }
    seen.clear();
    for (const r of mk.rejects) {
      const p = pct(r.t), k = Math.round(p * 10);
      if (p < 0 || p > 100 || seen.has(k)) continue;
      seen.add(k);
      const dot = h("div", { class: "mark-reject", title: r.code + " at " + fmtMock(r.t) });
      dot.style.left = p + "%";
      track.append(dot);
    }
    const ends = t.state === "live" ? "expires " + fmtMock(s.exp) : t.state + " " + fmtMock(s.end);
    const row = h("div", {
      class: "tl-row" + (t.token === state.selected ? " selected" : ""), role: "button", tabindex: "0",
      title: t.token + "\n" + t.user + "@" + t.organisation + " · " + (t.rule || "") + " · issued on " + t.version,
      "data-token": t.token, "data-state": t.state,
      "aria-label": "token " + short(t.token) + ", " + t.user + ", " + (t.rule ? shortRule(t.rule) + ", " : "") + t.state + ", issued " + fmtMock(s.issued) + ", " + ends +
        ", " + mk.uses.length + " uses, " + mk.rejects.length + " rejected",
      onclick: () => select(t.token),
      onkeydown: (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); select(t.token); } },
    }, label, track);
    row.style.top = i * rowH + "px";
    row.style.height = rowH + "px";
    return row;
  }

  $("tl").addEventListener("scroll", () => { if (view) renderRows(); }, { passive: true });
  window.addEventListener("resize", () => renderTimeline(false));

  // The mock lists the newest TOKENS_SHOWN tokens and counts every one it holds.
  function countStates(toks) {
    const n = { live: 0, expired: 0, released: 0 };
    for (const t of toks) n[t.state] = (n[t.state] || 0) + 1;
    return n;
  }
  function heldTokens() {
    const n = state.counts || countStates(state.tokens);
    return (n.live || 0) + (n.expired || 0) + (n.released || 0);
  }

  function renderTable() {
    const rows = [];
    const n = view.toks.length, held = heldTokens();
    $("tl-caption").textContent = "Tokens, newest first (the timeline as a table" +
      (n < held ? "; the newest " + n + " of " + held : "") + ")";
    for (let i = 0; i < n; i++) {
      const t = view.toks[i], s = view.spans[i];
      const mk = state.marks.get(t.token) || { uses: [], rejects: [] };
      rows.push(h("tr", { "data-token": t.token },
        h("td", {}, h("button", { type: "button", class: "linkish", text: short(t.token), "aria-label": "show token " + t.token, onclick: () => select(t.token) })),
        h("td", { text: t.kind }),
        h("td", { text: t.user + "@" + t.organisation }),
        h("td", { text: t.rule ? shortRule(t.rule) : "" }),
        h("td", { class: "state", text: t.state }),
        h("td", { text: fmtMock(s.issued) }),
        h("td", { text: fmtMock(ms(t.last_used_at)) }),
        h("td", { text: (t.state === "live" ? "expires " : t.state + " ") + fmtMock(t.state === "live" ? s.exp : s.end) }),
        h("td", { class: "num", text: String(mk.uses.length) }),
        h("td", { class: "num", text: String(mk.rejects.length) })));
    }
    $("tl-table").tBodies[0].replaceChildren(...rows);
  }

  $("table-toggle").addEventListener("click", (ev) => {
    const shown = $("tl-table-wrap").classList.toggle("shown");
    ev.target.setAttribute("aria-expanded", String(shown));
    ev.target.textContent = shown ? "Hide the table" : "Show as table";
  });

  // ---- one token's events ------------------------------------------------------------------
  function select(tok) {
    state.selected = tok;
    state.detailsText = "";
    $("details").hidden = false;
    loadDetails().then(() => { renderDetails(); $("details-h").focus(); });
    renderRows();
  }

  function closeDetails() {
    state.selected = ""; state.details = null;
    $("details").hidden = true;
    if (view) renderRows();
  }
  $("details-close").addEventListener("click", closeDetails);
  $("details-filter").addEventListener("click", () => {
    $("journal-filter").value = state.selected;
    state.filter = state.selected;
    renderJournal();
    fetchTokenEntries();
    $("journal-h").scrollIntoView();
  });

  async function loadDetails() {
    const tok = state.selected;
    if (!tok) return;
    const r = await api("GET", "/tokens/" + encodeURIComponent(tok));
    if (tok !== state.selected || r.text === state.detailsText) return;
    state.detailsText = r.text;
    const listed = state.tokens.find((t) => t.token === tok);
    if (r.ok && r.data && Array.isArray(r.data.events)) {
      const rel = r.data.events.find((e) => e.event === "released");
      state.details = { token: tok, fields: r.data, events: r.data.events, releasedAt: rel ? ms(rel.time) : NaN, derived: false };
    } else if (!listed) {
      state.details = { token: tok, fields: { token: tok }, events: [], releasedAt: NaN, gone: true };
    } else {
      // A mock without timelines: the events the page can read from its journal.
      const events = [];
      for (const e of journalNewestFirst().slice().reverse()) {
        if (e.issued === tok) events.push({ time: e.time, event: "issued", request: e.id, code: e.code });
        else if (e.token === tok) {
          const ev = e.code && e.code !== "OK" ? "rejected" : isRelease(e) ? "released" : "used";
          events.push({ time: e.time, event: ev, request: e.id, code: e.code });
        }
      }
      state.details = { token: tok, fields: listed || { token: tok }, events, releasedAt: NaN, derived: true };
    }
    renderDetails();
  }

  function renderDetails() {
    const d = state.details;
    if (!d || d.token !== state.selected) return;
    $("details-h").textContent = "Token " + short(d.token);
    $("details-token").textContent = d.token;
    const f = d.fields;
    const fields = [["Kind", f.kind], ["User", f.user && f.user + "@" + f.organisation], ["Unit", f.unit], ["Issued on", f.version],
      ["Rule", f.rule], ["State", f.state], ["Issued", f.issued_at && fmtTime(ms(f.issued_at), true)],
      ["Last used", f.last_used_at && fmtTime(ms(f.last_used_at), true)], ["Expires", f.expires_at && fmtTime(ms(f.expires_at), true)],
      ["Uses", f.uses], ["Rejected", f.rejections]];
    const kids = [];
    for (const [k, v] of fields) if (v !== undefined && v !== null && v !== "") kids.push(h("dt", { text: k }), h("dd", { text: String(v) }));
    $("details-fields").replaceChildren(...kids);
    $("details-note").textContent = d.gone
      ? "The mock no longer knows this token (a reset, a revoke, or dropped as long dead)."
      : d.derived
      ? "This mock has no GET /__admin/tokens/{token}: events are read from the journal the page holds."
      : d.fields.omitted ? d.fields.omitted + " events between the first and the last ones are not kept by the mock; the counts above include them."
        : d.events.length ? "" : "No events.";
    $("details-events").tBodies[0].replaceChildren(...d.events.map((e) => h("tr", { class: "ev-" + e.event },
      h("td", { text: fmtTime(ms(e.time), true) }), h("td", { text: e.event }),
      h("td", { class: "num", text: e.request !== undefined && e.request !== null ? "#" + e.request : "" }),
      h("td", { class: "code " + (e.code && e.code !== "OK" ? "err" : "ok"), text: e.code || "" }))));
  }

  // ---- journal -----------------------------------------------------------------------------
  let filterTimer = 0;
  $("journal-filter").addEventListener("input", (ev) => {
    state.filter = ev.target.value.trim();
    renderJournal();
    clearTimeout(filterTimer);
    filterTimer = setTimeout(fetchTokenEntries, 300);
  });

  // A whole token also asks the mock (?token=), for entries older than the page holds.
  async function fetchTokenEntries() {
    const f = state.filter;
    if (state.noIds || f.length < 32 || !state.tokens.some((t) => t.token === f)) return;
    try {
      const r = await api("GET", "/requests?limit=1000&token=" + encodeURIComponent(f));
      if (!r.ok || f !== state.filter) return;
      for (const e of (r.data && r.data.requests) || []) if (e.id !== undefined && e.id <= state.maxId) state.entries.set(e.id, e);
      state.sorted = Array.from(state.entries.values()).sort((a, b) => b.id - a.id);
      rebuildMarks();
      journalRendered = "";
      renderJournal();
    } catch (_) { /* the next poll reports a lost mock */ }
  }
  $("filter-form").addEventListener("submit", (ev) => ev.preventDefault());
  $("filter-clear").addEventListener("click", () => { $("journal-filter").value = ""; state.filter = ""; renderJournal(); });

  let journalRendered = "";
  function renderJournal() {
    const all = journalNewestFirst();
    const f = state.filter;
    const list = f ? all.filter((e) => (e.token && e.token.includes(f)) || (e.issued && e.issued.includes(f))) : all;
    const key = (state.noIds ? state.journalText.length : state.maxId + ":" + all.length) + "|" + f + "|" + state.tokensText.length;
    if (key === journalRendered) return;
    journalRendered = key;
    const known = new Set(state.tokens.map((t) => t.token));
    const tokCell = (tok, prefix) => known.has(tok)
      ? h("button", { type: "button", class: "linkish", text: prefix + short(tok), title: tok, "aria-label": prefix + "token " + tok, onclick: () => select(tok) })
      : h("span", { class: "mono", text: prefix + short(tok), title: tok });
    const rows = list.slice(0, JOURNAL_SHOWN).map((e) => {
      const reason = [e.description, ...(e.violations || []).filter((v) => v !== e.description)];
      if (e.misplaced) reason.push("token found in the " + e.misplaced);
      if (e.fault) reason.push("fault " + e.fault);
      if (e.lenient && e.lenient.length) reason.push("accepted for leniency: " + e.lenient.join(", "));
      const tokKids = [];
      if (e.token) tokKids.push(tokCell(e.token, ""));
      if (e.issued) tokKids.push(tokCell(e.issued, "issued "));
      return h("tr", { "data-code": e.code || "" },
        h("td", { class: "num", text: e.id !== undefined ? String(e.id) : "" }),
        h("td", { text: fmtMock(ms(e.time)) }),
        h("td", { class: "mono", text: e.method + " " + (e.operation || e.path) }),
        h("td", { class: "num", text: String(e.status) }),
        h("td", { class: "code " + (e.code === "OK" ? "ok" : "err"), text: e.code || "" }),
        h("td", { class: "reason", text: reason.filter(Boolean).join(" · ") }),
        h("td", {}, ...tokKids));
    });
    $("journal").tBodies[0].replaceChildren(...rows);
    $("journal-empty").hidden = list.length > 0;
    $("journal-empty").textContent = f ? "No request with that token in the page's journal." : "No request yet.";
    $("journal-count").textContent = list.length > JOURNAL_SHOWN ? "(newest " + JOURNAL_SHOWN + " of " + list.length + ")" : "(" + list.length + ")";
  }

  // ---- lint and sandboxes --------------------------------------------------------------------
  function renderLint() {
    const rep = state.lint;
    if (!rep) return;
    $("lint").hidden = false;
    const findings = rep.findings || [];
    const s = rep.summary || {};
    const count = (n, what) => (n || 0) + " " + what + (n === 1 || what === "info" ? "" : "s");
    $("lint-summary").textContent = "(" + count(s.error, "error") + ", " + count(s.warning, "warning") + ", " + count(s.info, "info") + ")";
    $("lint-none").hidden = findings.length > 0;
    $("lint-list").replaceChildren(...findings.map((f) => {
      const reqs = (f.requests || []);
      return h("li", { class: f.severity, "data-rule": f.rule },
        h("span", { class: "sev", text: f.severity }), h("strong", { class: "mono", text: f.rule }),
        h("div", { text: f.message }),
        h("div", { class: "meta" },
          (f.count || 0) + "× · " + fmtMock(ms(f.first)) + (f.last && f.last !== f.first ? " – " + fmtMock(ms(f.last)) : "") +
          (reqs.length ? " · requests " + reqs.slice(0, 12).map((id) => "#" + id).join(", ") + (reqs.length > 12 ? " …" : "") : "") + " ",
          f.token ? h("button", { type: "button", class: "linkish", text: short(f.token), "aria-label": "show token " + f.token, onclick: () => select(f.token) }) : null));
    }));
  }

  function renderSandboxes() {
    const list = state.sandboxes || [];
    $("sandboxes").hidden = list.length === 0;
    $("sandbox-list").replaceChildren(...list.map((s) => {
      let path = "";
      try { path = new URL(s.admin_url, location.href).pathname; } catch (_) { path = ADMIN + "/../sandboxes/" + s.id + "/__admin"; }
      return h("li", {}, h("a", { href: path + "/ui", text: "sandbox " + s.id }), " ", h("span", { class: "muted mono", text: s.base_url || "" }));
    }));
  }

  pollNow();
})();
