package mockserver

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/mux"
)

// adminBodyLimit caps control API bodies (a scenario is the largest).
const adminBodyLimit = 8 << 20

// adminRoutes is the control API of INTERFACE §3.
func (m *Mock) adminRoutes() http.Handler {
	r := mux.NewRouter()
	a := r.PathPrefix("/__admin").Subrouter()
	a.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}).Methods(http.MethodGet)
	a.HandleFunc("/clock", m.getClock).Methods(http.MethodGet)
	a.HandleFunc("/clock/advance", m.advanceClock).Methods(http.MethodPost)
	a.HandleFunc("/clock/set", m.setClock).Methods(http.MethodPost)
	a.HandleFunc("/version", m.getVersion).Methods(http.MethodGet)
	a.HandleFunc("/version", m.putVersion).Methods(http.MethodPut, http.MethodPost)
	a.HandleFunc("/tokens", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"tokens": m.Tokens()})
	}).Methods(http.MethodGet)
	a.HandleFunc("/requests", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"requests": m.Journal()})
	}).Methods(http.MethodGet)
	a.HandleFunc("/requests", func(w http.ResponseWriter, _ *http.Request) {
		m.ClearJournal()
		writeJSON(w, http.StatusOK, map[string]any{"requests": []JournalEntry{}})
	}).Methods(http.MethodDelete)
	a.HandleFunc("/violations", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"violations": m.Violations()})
	}).Methods(http.MethodGet)
	a.HandleFunc("/scenario", m.putScenario).Methods(http.MethodPut, http.MethodPost)
	a.HandleFunc("/scenario", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, m.Scenario())
	}).Methods(http.MethodGet)
	a.HandleFunc("/reset", func(w http.ResponseWriter, _ *http.Request) {
		m.Reset()
		writeJSON(w, http.StatusOK, m.clockState())
	}).Methods(http.MethodPost)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		adminError(w, http.StatusNotFound, "no control call %s %s (see README: Control API)", r.Method, r.URL.Path)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		adminError(w, http.StatusMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path)
	})
	return m.requireAdmin(r)
}

func (m *Mock) requireAdmin(next http.Handler) http.Handler {
	if m.adminTok == "" {
		return next
	}
	want := []byte("Bearer " + m.adminTok)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="crmmock admin"`)
			adminError(w, http.StatusUnauthorized, "the control API needs Authorization: Bearer <admin token>")
			return
		}
		next.ServeHTTP(w, r)
	})
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

func adminError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// readAdminJSON decodes a control body strictly; it answers 400 itself on failure.
func readAdminJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, adminBodyLimit))
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
	data, err := io.ReadAll(io.LimitReader(r.Body, adminBodyLimit+1))
	if err != nil {
		adminError(w, http.StatusBadRequest, "body: %v", err)
		return
	}
	if len(data) > adminBodyLimit {
		adminError(w, http.StatusRequestEntityTooLarge, "body: a scenario may be at most %d bytes", adminBodyLimit)
		return
	}
	sc, err := ParseScenario(data)
	if err != nil {
		adminError(w, http.StatusBadRequest, "scenario: %v", err)
		return
	}
	if err := m.SetScenario(sc); err != nil {
		adminError(w, http.StatusBadRequest, "scenario: %v", err)
		return
	}
	r2 := m.Version()
	writeJSON(w, http.StatusOK, map[string]any{"organisations": len(sc.Organisations), "methods": len(sc.Methods), "version": r2.Name})
}
