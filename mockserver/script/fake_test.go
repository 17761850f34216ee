// The package's one set of test helpers: fakeControl (a crmmock target's control API, recorded), runOn, report and the login step.

package script_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmmock/crmmock/mockserver"
	"github.com/crmmock/crmmock/mockserver/script"
)

// fakeControl stands for a crmmock whose lint, fault and sandbox APIs (docs/lint.md, docs/faults-and-sandboxes.md)
// are the engine's counterpart: a real mock serves the Web API and the control API of
// docs/control-api.md; the fake answers GET /__admin/lint with a canned report, keeps faults and applies
// the first one that matches an operation (answer, delay, drop), records token
// expire/revoke calls, and serves sandboxes as further real mocks.
type fakeControl struct {
	t   *testing.T
	srv *httptest.Server
	m   *mockserver.Mock

	mu        sync.Mutex
	lint      string // the body of GET /__admin/lint; "" answers 404
	noFaults  bool   // /__admin/faults answers 404
	faults    []fakeFault
	nextID    int
	calls     []string // lint, fault and sandbox control calls, as "METHOD path"
	sandboxes map[string]*mockserver.Mock
	created   int
	noSandbox bool
}

type fakeFault struct {
	ID        string `json:"id"`
	Operation string `json:"operation"`
	Times     *int   `json:"times"`
	Answer    *struct {
		Code string `json:"code"`
	} `json:"answer"`
	Delay          string `json:"delay"`
	DropConnection bool   `json:"drop_connection"`
	fired          int
}

func newFakeControl(t *testing.T, version string) *fakeControl {
	t.Helper()
	m, err := mockserver.New(mockserver.Options{Version: version})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeControl{t: t, m: m, sandboxes: map[string]*mockserver.Mock{}}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeControl) record(r *http.Request) {
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
}

func (f *fakeControl) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeControl) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/sandboxes/"):
		id, rest, _ := strings.Cut(strings.TrimPrefix(p, "/sandboxes/"), "/")
		f.mu.Lock()
		child := f.sandboxes[id]
		f.mu.Unlock()
		if child == nil {
			http.NotFound(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + rest
		child.ServeHTTP(w, r2)
	case p == "/__admin/lint" && r.Method == http.MethodGet:
		f.mu.Lock()
		body := f.lint
		f.mu.Unlock()
		if body == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	case p == "/__admin/faults" && f.noFaults:
		http.NotFound(w, r)
	case p == "/__admin/faults" && r.Method == http.MethodPost:
		f.record(r)
		var ft fakeFault
		if err := json.NewDecoder(r.Body).Decode(&ft); err != nil || ft.Operation == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "operation: missing"})
			return
		}
		f.mu.Lock()
		f.nextID++
		ft.ID = fmt.Sprintf("f%d", f.nextID)
		f.faults = append(f.faults, ft)
		f.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]string{"id": ft.ID})
	case p == "/__admin/faults" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"faults": []any{}})
	case strings.HasPrefix(p, "/__admin/faults") && r.Method == http.MethodDelete:
		f.record(r)
		id := strings.TrimPrefix(strings.TrimPrefix(p, "/__admin/faults"), "/")
		f.mu.Lock()
		kept := f.faults[:0]
		for _, ft := range f.faults {
			if id != "" && ft.ID != id {
				kept = append(kept, ft)
			}
		}
		f.faults = kept
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{})
	case strings.HasPrefix(p, "/__admin/tokens/") && r.Method == http.MethodPost:
		f.record(r)
		writeJSON(w, http.StatusOK, map[string]any{})
	case p == "/__admin/sandboxes" && f.noSandbox:
		http.NotFound(w, r)
	case p == "/__admin/sandboxes" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"sandboxes": []any{}})
	case p == "/__admin/sandboxes" && r.Method == http.MethodPost:
		f.record(r)
		var body struct {
			Version  string               `json:"version"`
			Start    string               `json:"start"`
			Scenario *mockserver.Scenario `json:"scenario"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		o := mockserver.Options{Version: body.Version, Scenario: body.Scenario}
		if body.Start != "" {
			o.Start, _ = time.Parse(time.RFC3339, body.Start)
		}
		child, err := mockserver.New(o)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		f.mu.Lock()
		f.created++
		id := fmt.Sprintf("sb%d", f.created)
		f.sandboxes[id] = child
		f.mu.Unlock()
		base := "http://" + r.Host + "/sandboxes/" + id
		writeJSON(w, http.StatusCreated, map[string]string{"id": id, "base_url": base + child.BasePath(), "admin_url": base + "/__admin"})
	case strings.HasPrefix(p, "/__admin/sandboxes/") && r.Method == http.MethodDelete:
		f.record(r)
		id := strings.TrimPrefix(p, "/__admin/sandboxes/")
		f.mu.Lock()
		_, ok := f.sandboxes[id]
		delete(f.sandboxes, id)
		f.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no sandbox " + id})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{})
	case strings.HasPrefix(p, f.m.BasePath()+"/") && f.fault(w, r):
	default:
		f.m.ServeHTTP(w, r)
	}
}

// fault applies the first fault on the request's operation; true when it answered.
func (f *fakeControl) fault(w http.ResponseWriter, r *http.Request) bool {
	op := strings.TrimPrefix(r.URL.Path, f.m.BasePath()+"/")
	f.mu.Lock()
	var hit *fakeFault
	for i := range f.faults {
		ft := &f.faults[i]
		times := 1
		if ft.Times != nil {
			times = *ft.Times
		}
		if (ft.Operation == op || ft.Operation == "*") && (times == 0 || ft.fired < times) {
			ft.fired++
			c := *ft
			hit = &c
			break
		}
	}
	f.mu.Unlock()
	if hit == nil {
		return false
	}
	if hit.Delay != "" {
		d, _ := time.ParseDuration(hit.Delay)
		time.Sleep(d)
	}
	if hit.DropConnection {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return true
	}
	if hit.Answer == nil && hit.Delay != "" {
		return false // a delay only: the mock answers
	}
	code := "INTERNAL_ERROR"
	if hit.Answer != nil && hit.Answer.Code != "" {
		code = hit.Answer.Code
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": map[string]string{"code": code, "message": "injected", "description": "fault " + hit.ID}, "data": nil})
	return true
}

// runOn runs a script in the fake target's root (InRoot), where the fake's lint, faults
// and token calls are.
func runOn(t *testing.T, f *fakeControl, src string) []script.StepResult {
	t.Helper()
	s := mustParse(t, src)
	suites := script.Run(context.Background(), s, script.Options{Target: f.srv.URL, InRoot: true})
	if len(suites) != 1 || suites[0].Error != "" || suites[0].NotApplicable != "" {
		t.Fatalf("got suites %+v, want one that ran", suites)
	}
	return suites[0].Steps
}

func report(suites []script.Suite) string {
	var b bytes.Buffer
	_ = script.WriteText(&b, suites)
	return b.String()
}

const login = `{method: POST, action: authentication/token, body: {username: mpadministrator, password: "1234", organisation: CRMDEMO}}`
