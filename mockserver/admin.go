package mockserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/crmmock/crmmock/internal/journal"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crmmock/crmmock"
	"github.com/gorilla/mux"

	"github.com/crmmock/crmmock/internal/dashboard"
	"github.com/crmmock/crmmock/internal/tokens"
)

// adminBodyLimit caps control API bodies (a scenario is the largest).
const adminBodyLimit = MaxScenarioSize

// mockKey carries the *Mock to the process-wide control router.
type mockKey struct{}

// adminRouter is the control API of docs/control-api.md, built once per process (a router per
// instance would cost most of a test server's start); handlers find their Mock in the
// request context.
var adminRouter = sync.OnceValue(func() *mux.Router {
	// SkipClean: no redirect to a cleaned path. Under a sandbox the router sees the path
	// without the /sandboxes/{id} prefix, so gorilla/mux's 301 sent clients to the root.
	// No PathPrefix subrouter: its routes inherit the prefix matcher, whose match clears
	// a method mismatch found earlier (gorilla/mux 1.8), so a wrong method answered 404.
	r := mux.NewRouter().SkipClean(true)
	a := &adminRoutes{r}
	on := func(path string, f func(*Mock, http.ResponseWriter, *http.Request), methods ...string) *mux.Route {
		return a.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			f(r.Context().Value(mockKey{}).(*Mock), w, r)
		}).Methods(methods...)
	}
	on("/health", func(_ *Mock, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}, http.MethodGet)
	on("/clock", (*Mock).getClock, http.MethodGet)
	on("/clock/advance", (*Mock).advanceClock, http.MethodPost)
	on("/clock/set", (*Mock).setClock, http.MethodPost)
	on("/version", (*Mock).getVersion, http.MethodGet)
	on("/version", (*Mock).putVersion, http.MethodPut, http.MethodPost)
	on("/tokens", func(m *Mock, w http.ResponseWriter, r *http.Request) {
		f, err := parseTokenFilter(r.URL.Query())
		if err != nil {
			adminError(w, http.StatusBadRequest, "%v", err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_ = m.tokens.Stream(f, w) // a client gone mid-listing is no error of ours
	}, http.MethodGet)
	on("/tokens/{token}", func(m *Mock, w http.ResponseWriter, r *http.Request) {
		tok := mux.Vars(r)["token"]
		tl, ok := m.TokenTimeline(tok)
		if !ok {
			m.tokenNotHeld(w, tok)
			return
		}
		writeJSON(w, http.StatusOK, tl)
	}, http.MethodGet).MatcherFunc(func(r *http.Request, _ *mux.RouteMatch) bool {
		return r.URL.Path != "/__admin/tokens/revoke" // POST /tokens/revoke's path: GET there is a 405, as documented
	})
	on("/requests", func(m *Mock, w http.ResponseWriter, r *http.Request) {
		f, err := journal.ParseFilter(r.URL.Query())
		if err != nil {
			adminError(w, http.StatusBadRequest, "%v", err)
			return
		}
		writeJSONList(w, "requests", m.journalEntries(f))
	}, http.MethodGet)
	on("/requests", func(m *Mock, w http.ResponseWriter, _ *http.Request) {
		m.ClearJournal()
		writeJSON(w, http.StatusOK, map[string]any{"requests": []JournalEntry{}})
	}, http.MethodDelete)
	on("/violations", func(m *Mock, w http.ResponseWriter, _ *http.Request) {
		writeJSONList(w, "violations", m.Violations())
	}, http.MethodGet)
	a.Handle(dashboard.Path, dashboard.Handler()).Methods(http.MethodGet, http.MethodHead)
	a.Handle(dashboard.Path+"/", dashboard.Handler()).Methods(http.MethodGet, http.MethodHead)
	on("/lint", func(m *Mock, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, m.Lint())
	}, http.MethodGet)
	on("/scenario", (*Mock).putScenario, http.MethodPut, http.MethodPost)
	on("/scenario", func(m *Mock, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, m.Scenario())
	}, http.MethodGet)
	on("/reset", func(m *Mock, w http.ResponseWriter, _ *http.Request) {
		m.Reset()
		writeJSON(w, http.StatusOK, m.clockState())
	}, http.MethodPost)
	on("/faults", (*Mock).postFault, http.MethodPost)
	on("/faults", (*Mock).getFaults, http.MethodGet)
	on("/faults", (*Mock).deleteFaults, http.MethodDelete)
	on("/faults/{id}", (*Mock).deleteFault, http.MethodDelete)
	on("/tokens/revoke", (*Mock).revokeAllTokens, http.MethodPost)
	on("/tokens/{token}/expire", (*Mock).expireToken, http.MethodPost)
	on("/tokens/{token}/revoke", (*Mock).revokeToken, http.MethodPost)
	on("/sandboxes", (*Mock).postSandbox, http.MethodPost)
	on("/sandboxes", (*Mock).getSandboxes, http.MethodGet)
	on("/sandboxes/{id}", (*Mock).deleteSandbox, http.MethodDelete)
	on("/openapi.yaml", func(_ *Mock, w http.ResponseWriter, _ *http.Request) {
		writeYAML(w, crmmock.OpenAPI)
	}, http.MethodGet)
	on("/admin-openapi.yaml", func(_ *Mock, w http.ResponseWriter, _ *http.Request) {
		writeYAML(w, crmmock.AdminOpenAPI)
	}, http.MethodGet)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		adminError(w, http.StatusNotFound, "no control call %s %s (see docs/control-api.md)", r.Method, r.URL.Path)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		allowed := strings.Join(allowedMethods(r, req), ", ")
		w.Header().Set("Allow", allowed)
		adminError(w, http.StatusMethodNotAllowed, "method %s not allowed on %s (allowed: %s)", req.Method, req.URL.Path, allowed)
	})
	return r
})

// adminRoutes registers control calls under /__admin on the router itself.
type adminRoutes struct{ r *mux.Router }

func (a *adminRoutes) HandleFunc(path string, f func(http.ResponseWriter, *http.Request)) *mux.Route {
	return a.r.HandleFunc("/__admin"+path, f)
}

func (a *adminRoutes) Handle(path string, h http.Handler) *mux.Route {
	return a.r.Handle("/__admin"+path, h)
}

// allowedMethods lists, sorted, the methods r serves on req's path (for a 405's Allow
// header); it runs only on a 405.
func allowedMethods(r *mux.Router, req *http.Request) []string {
	var out []string
	_ = r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		methods, err := route.GetMethods()
		if err != nil {
			return nil // no method matcher: it matches any method, so never a 405
		}
		for _, m := range methods {
			if slices.Contains(out, m) {
				continue
			}
			probe := *req // a shallow copy: Match reads the method and the URL
			probe.Method = m
			if route.Match(&probe, &mux.RouteMatch{}) {
				out = append(out, m)
			}
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// openAdminPage tells whether r asks for the dashboard page itself: the same static
// document for everyone, so it needs no admin token (its API calls do).
func openAdminPage(r *http.Request) bool {
	p := r.URL.Path
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(p == "/__admin"+dashboard.Path || p == "/__admin"+dashboard.Path+"/")
}

// serveAdmin answers a control call, behind the admin token when one is set.
func (m *Mock) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if !m.adminAllowed(w, r) {
		return
	}
	adminRouter().ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), mockKey{}, m)))
}

// adminAllowed checks the admin token when one is set; it answers 401 itself.
func (m *Mock) adminAllowed(w http.ResponseWriter, r *http.Request) bool {
	if !m.adminAuthorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="crmmock admin"`)
		adminError(w, http.StatusUnauthorized, "the control API needs Authorization: Bearer <admin token>")
		return false
	}
	return true
}

// adminAuthorized: no admin token is set, or the request carries it as
// "Authorization: Bearer <token>" (the scheme in any case, RFC 7235), or it is
// GET /__admin/health, which reveals nothing and serves readiness probes, or the
// dashboard page itself (openAdminPage).
func (m *Mock) adminAuthorized(r *http.Request) bool {
	if m.adminTok == "" || r.Method == http.MethodGet && r.URL.Path == "/__admin/health" || openAdminPage(r) {
		return true
	}
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimLeft(cred, " ")), []byte(m.adminTok)) == 1
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"could not encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// writeJSONList answers {"<key>": items} as writeJSON would, byte for byte, but writes
// the items one at a time: a listing of the journal's 10 000 entries of hostile size
// (about 50 MB of JSON) no longer builds the whole answer in memory first (200 MB per
// listing, 1.2 GB for six at once). A client gone mid-listing ends it.
func writeJSONList[T any](w http.ResponseWriter, key string, items []T) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	k, _ := json.Marshal(key)
	bw.WriteByte('{')
	bw.Write(k)
	bw.WriteByte(':')
	if items == nil {
		bw.WriteString("null")
	} else {
		bw.WriteByte('[')
		for i := range items {
			b, err := json.Marshal(&items[i])
			if err != nil {
				return // no type listed here fails to encode; the client sees a cut answer
			}
			if i > 0 {
				bw.WriteByte(',')
			}
			if _, err := bw.Write(b); err != nil {
				return
			}
		}
		bw.WriteByte(']')
	}
	bw.WriteString("}\n")
	_ = bw.Flush()
}

// writeYAML answers one of the embedded OpenAPI documents.
func writeYAML(w http.ResponseWriter, doc []byte) {
	w.Header().Set("Content-Type", "application/yaml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
}

func adminError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// readAdminBody reads a control body of at most limit bytes; it answers 400 or 413
// (naming what the body is) itself on failure.
func readAdminBody(w http.ResponseWriter, r *http.Request, limit int64, what string) ([]byte, bool) {
	body, over, err := readAtMost(r, limit)
	switch {
	case err != nil:
		adminError(w, http.StatusBadRequest, "body: %v", err)
		return nil, false
	case over:
		adminError(w, http.StatusRequestEntityTooLarge, "body: %s may be at most %d bytes", what, limit)
		return nil, false
	}
	return body, true
}

// readAdminJSON decodes a control body strictly, from its first adminBodyLimit bytes;
// it answers 400 itself on failure.
func readAdminJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, over, err := readAtMost(r, adminBodyLimit)
	if err != nil {
		adminError(w, http.StatusBadRequest, "body: %v", err)
		return false
	}
	if over {
		body = body[:adminBodyLimit]
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		adminError(w, http.StatusBadRequest, "body: %v", err)
		return false
	}
	return true
}

type clockState struct {
	Now  time.Time `json:"now"`
	Mode string    `json:"mode"`
}

func (m *Mock) clockState() clockState {
	mode := "fake"
	if m.fake == nil {
		mode = "real"
	}
	return clockState{Now: m.clock.Now().UTC(), Mode: mode}
}

func (m *Mock) getClock(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, m.clockState())
}

func (m *Mock) clockMoveError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrRealClock) {
		adminError(w, http.StatusConflict, "%v", err)
		return
	}
	adminError(w, http.StatusBadRequest, "%v", err)
}

func (m *Mock) advanceClock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Duration string `json:"duration"`
	}
	if m.fake == nil {
		m.clockMoveError(w, ErrRealClock)
		return
	}
	if !readAdminJSON(w, r, &req) {
		return
	}
	d, err := time.ParseDuration(req.Duration)
	if err != nil {
		adminError(w, http.StatusBadRequest, "duration: %q is not a Go duration (e.g. 61m, 1h59m59s)", req.Duration)
		return
	}
	if _, err := m.Advance(d); err != nil {
		m.clockMoveError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, m.clockState())
}

func (m *Mock) setClock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Now string `json:"now"`
	}
	if m.fake == nil {
		m.clockMoveError(w, ErrRealClock)
		return
	}
	if !readAdminJSON(w, r, &req) {
		return
	}
	t, err := time.Parse(time.RFC3339Nano, req.Now)
	if err != nil {
		adminError(w, http.StatusBadRequest, "now: %q is not RFC 3339 (e.g. 2024-01-01T09:00:00Z)", req.Now)
		return
	}
	if err := m.SetNow(t); err != nil {
		m.clockMoveError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, m.clockState())
}

type versionState struct {
	Version string `json:"version"`
	Profile string `json:"profile"`
}

func (m *Mock) getVersion(w http.ResponseWriter, _ *http.Request) {
	r := m.Version()
	writeJSON(w, http.StatusOK, versionState{r.Name, r.Profile.Name})
}

func (m *Mock) putVersion(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Version string `json:"version"`
	}
	if !readAdminJSON(w, r, &req) {
		return
	}
	rel, err := m.SetVersion(req.Version)
	if err != nil {
		adminError(w, http.StatusBadRequest, "version: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, versionState{rel.Name, rel.Profile.Name})
}

func (m *Mock) putScenario(w http.ResponseWriter, r *http.Request) {
	data, ok := readAdminBody(w, r, adminBodyLimit, "a scenario")
	if !ok {
		return
	}
	sc, wd, err := parseScenario(data) // checked and compiled before anything changes
	if err != nil {
		adminError(w, http.StatusBadRequest, "scenario: %v", err)
		return
	}
	if err := r.Context().Err(); err != nil { // the client is gone: it will not learn of a swap, so none happens
		adminError(w, http.StatusServiceUnavailable, "scenario: not installed: the request was cancelled (%v)", err)
		return
	}
	m.install(sc, wd)
	writeJSON(w, http.StatusOK, map[string]any{"organisations": len(sc.Organisations), "methods": len(sc.Methods), "version": m.Version().Name})
}

// tokenNotHeld answers 404 to a control call on a token the mock does not hold: an
// evicted one's reason while the mock remembers it (as the Web API tells it), else
// what the token may have been.
func (m *Mock) tokenNotHeld(w http.ResponseWriter, tok string) {
	if why := m.tokens.EvictedWhy(tok, tokens.KeyOf(tok)); why != "" {
		adminError(w, http.StatusNotFound, "token: %q is not held by this mock: %s", clip(tok), why)
		return
	}
	adminError(w, http.StatusNotFound, "token: %q is not held by this mock (never issued, revoked, dropped as long dead, or evicted too long ago to be remembered)", clip(tok))
}
