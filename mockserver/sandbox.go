package mockserver

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/jonboulle/clockwork"
)

// Sandboxes (docs/faults-and-sandboxes.md): isolated mocks on the root's port. A sandbox is a *Mock
// made by newMock (the process-wide contract and control router, its own clock,
// release, fixtures, tokens, JWT secret, journal and faults), kept in the root's
// sandboxSet and served by the root's ServeHTTP under /sandboxes/{id}/ with the
// prefix stripped: one code path serves the root and every sandbox.

const (
	// DefaultMaxSandboxes is the default of Options.MaxSandboxes (--max-sandboxes).
	DefaultMaxSandboxes = 256
	// DefaultSandboxTTL is the default of Options.SandboxTTL (--sandbox-ttl).
	DefaultSandboxTTL = time.Hour

	sandboxPrefix = "/sandboxes/"
)

// Instance is what one mock instance offers, the root or a sandbox: its clock,
// release, fixtures, tokens, journal, lint and faults, and its Web API and control
// API as an http.Handler. A *Mock is one, and also manages sandboxes; a Sandbox is
// one and does not.
type Instance interface {
	http.Handler
	Now() time.Time
	Clock() clockwork.Clock
	FakeClock() *clockwork.FakeClock
	Advance(d time.Duration) (time.Time, error)
	SetNow(t time.Time) error
	Version() Release
	SetVersion(name string) (Release, error)
	Scenario() *Scenario
	SetScenario(sc *Scenario) error
	BasePath() string
	Reset()
	Close()

	Tokens() []Token
	TokensFiltered(f TokenFilter) TokenList
	Token(value string) (Token, bool)
	TokenTimeline(value string) (TokenTimeline, bool)
	DroppedTokens() uint64
	ExpireToken(value string) error
	RevokeToken(value string) error
	RevokeAllTokens()
	Journal() []JournalEntry
	Violations() []JournalEntry
	ClearJournal()
	Lint() LintReport

	AddFault(spec FaultSpec) (Fault, error)
	Faults() []Fault
	DeleteFault(id string) bool
	ClearFaults()
}

var _ Instance = (*Mock)(nil)

var (
	// ErrTooManySandboxes: the limit of Options.MaxSandboxes is reached (HTTP 429).
	ErrTooManySandboxes = errors.New("too many sandboxes")
	// ErrSandboxNesting: a sandbox cannot hold sandboxes.
	ErrSandboxNesting = errors.New("sandboxes do not nest: create sandboxes at the root's /__admin/sandboxes")
)

// SandboxOptions configure a sandbox; zero fields take the root's start-up values.
type SandboxOptions struct {
	// Version is the release to emulate; empty: the version Scenario names, else the
	// root's start-up release.
	Version string
	// Start is the sandbox's fake clock start; zero: the scenario's clock.start when
	// Scenario has one, else the root's start.
	Start time.Time
	// Scenario is the sandbox's fixtures; nil: the root's start-up scenario.
	Scenario *Scenario
}

// Sandbox is an isolated mock served under the root's /sandboxes/{ID}/: the controls
// of one instance (Instance), without the root's sandbox management (sandboxes do
// not nest).
type Sandbox struct {
	Instance
	ID string

	mock *Mock // the instance itself

	created  time.Time    // wall clock
	lastUsed atomic.Int64 // wall clock, Unix nanoseconds: the TTL counts from here
	inflight atomic.Int64 // requests being served: a sandbox serving one is not idle
}

// Prefix is the sandbox's path prefix on the root's server: /sandboxes/{ID}.
func (sb *Sandbox) Prefix() string { return strings.TrimSuffix(sandboxPrefix, "/") + "/" + sb.ID }

// BaseURL is the sandbox's Web API base for a root URL such as http://127.0.0.1:8080.
func (sb *Sandbox) BaseURL(root string) string {
	return strings.TrimRight(root, "/") + sb.Prefix() + sb.BasePath()
}

// AdminURL is the sandbox's control API for a root URL such as http://127.0.0.1:8080.
func (sb *Sandbox) AdminURL(root string) string {
	return strings.TrimRight(root, "/") + sb.Prefix() + "/__admin"
}

// sandboxSet is the root's sandboxes. A request to a sandbox costs a map lookup under
// a read lock and one atomic store; idle sandboxes are dropped by one wall-clock timer
// (armed only while sandboxes exist) and, lazily, by any lookup that finds one past
// its TTL, so no goroutine waits for them and no request scans the set.
type sandboxSet struct {
	wall clockwork.Clock
	max  int
	ttl  time.Duration // <= 0: never expire

	mu    sync.RWMutex
	byID  map[string]*Sandbox
	timer clockwork.Timer // the sweep; nil while the set is empty
}

func newSandboxSet(opts Options, wall clockwork.Clock) *sandboxSet {
	s := &sandboxSet{wall: wall, max: opts.MaxSandboxes, ttl: opts.SandboxTTL, byID: map[string]*Sandbox{}}
	switch {
	case s.max == 0:
		s.max = DefaultMaxSandboxes
	case s.max < 0:
		s.max = 0
	}
	if s.ttl == 0 {
		s.ttl = DefaultSandboxTTL
	}
	return s
}

func (s *sandboxSet) expired(sb *Sandbox, now int64) bool {
	return s.ttl > 0 && sb.inflight.Load() == 0 && now-sb.lastUsed.Load() >= int64(s.ttl)
}

// get finds a live sandbox and marks it used.
func (s *sandboxSet) get(id string) *Sandbox {
	now := s.wall.Now().UnixNano()
	s.mu.RLock()
	sb := s.byID[id]
	s.mu.RUnlock()
	if sb == nil {
		return nil
	}
	if s.expired(sb, now) {
		s.mu.Lock()
		if s.byID[id] == sb && s.expired(sb, now) {
			s.removeLocked(sb, "idle for --sandbox-ttl")
		}
		s.mu.Unlock()
		return nil
	}
	sb.lastUsed.Store(now)
	return sb
}

// add stores a new sandbox unless the limit is reached.
func (s *sandboxSet) add(sb *Sandbox) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= s.max {
		s.sweepLocked(s.wall.Now().UnixNano()) // at the limit only: idle ones the timer has not reached yet make room
	}
	if len(s.byID) >= s.max {
		return fmt.Errorf("%w: the limit of %d (--max-sandboxes) is reached; delete one (DELETE /__admin/sandboxes/{id})", ErrTooManySandboxes, s.max)
	}
	if _, dup := s.byID[sb.ID]; dup { // 2^-48 per pair; still, never replace one
		return errors.New("sandbox id collision; try again")
	}
	s.byID[sb.ID] = sb
	if s.timer == nil && s.ttl > 0 {
		s.timer = s.wall.AfterFunc(s.ttl, s.sweep)
	}
	return nil
}

func (s *sandboxSet) remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sb, ok := s.byID[id]
	if ok {
		s.removeLocked(sb, "deleted")
	}
	return ok
}

func (s *sandboxSet) removeLocked(sb *Sandbox, why string) {
	delete(s.byID, sb.ID)
	sb.Close()             // a request still held in one of its delays is answered now
	sb.mock.tokens.Close() // its tokens and journal leave the process-wide budgets
	sb.mock.journal.Close()
	sb.mock.faults.Close()
	sb.mock.log.Info("sandbox dropped", "reason", why)
	if len(s.byID) == 0 && s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// list is the live sandboxes, oldest first.
func (s *sandboxSet) list() []*Sandbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(s.wall.Now().UnixNano())
	out := make([]*Sandbox, 0, len(s.byID))
	for _, sb := range s.byID {
		out = append(out, sb)
	}
	slices.SortFunc(out, func(a, b *Sandbox) int { return a.created.Compare(b.created) })
	return out
}

// sweep is the timer's: drop idle sandboxes, then wake again at the next expiry.
func (s *sandboxSet) sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.wall.Now().UnixNano()
	next := s.sweepLocked(now)
	if len(s.byID) == 0 {
		return // removeLocked stopped the timer
	}
	if s.timer == nil {
		s.timer = s.wall.AfterFunc(time.Duration(next-now), s.sweep)
	} else {
		s.timer.Reset(time.Duration(next - now))
	}
}

// sweepLocked drops idle sandboxes and returns the earliest expiry of the rest.
func (s *sandboxSet) sweepLocked(now int64) (next int64) {
	if s.ttl <= 0 {
		return 0
	}
	for _, sb := range s.byID {
		if s.expired(sb, now) {
			s.removeLocked(sb, "idle for --sandbox-ttl")
			continue
		}
		at := sb.lastUsed.Load() + int64(s.ttl)
		if at <= now { // in flight: idle no sooner than a TTL after it ends (look again then, or in 1 s)
			at = now + int64(max(s.ttl, time.Second))
		}
		if next == 0 || at < next {
			next = at
		}
	}
	return next
}

// NewSandbox creates an isolated mock served under the root's /sandboxes/{id}/.
func (m *Mock) NewSandbox(o SandboxOptions) (*Sandbox, error) {
	if m.sandboxes == nil {
		return nil, ErrSandboxNesting
	}
	if b := m.journal.Budget(); b.Full() {
		return nil, fmt.Errorf("%w: the journals' memory budget of %d bytes (--journal-budget) is spent; delete a sandbox or clear journals (DELETE /__admin/requests)", ErrTooManySandboxes, b.Limit())
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])

	keepDead, maxTokens := m.tokens.Limits()
	opts := Options{
		Version: o.Version, Start: o.Start, Scenario: o.Scenario,
		RealClock: m.fake == nil, BasePath: m.basePath, MappedErrors: m.mapped, AdminToken: m.adminTok,
		BodyLimit: m.bodyLimit, Logger: m.log.With("sandbox", id), WallClock: m.wall, KeepDead: keepDead,
		contract:  m.ctr,
		MaxTokens: maxTokens,
	}
	if opts.MaxTokens == 0 {
		opts.MaxTokens = -1 // the root has no bound
	}
	if opts.KeepDead == 0 {
		opts.KeepDead = -1 // the root keeps none
	}
	var w *world // the root's start-up fixtures, compiled once, are shared read-only
	if opts.Scenario == nil {
		opts.Scenario, w = m.startScenario, m.startWorld
	}
	inherited := opts.Version == "" && (o.Scenario == nil || o.Scenario.Version == "")
	if inherited {
		opts.Version = m.startRelease.Name
	}
	if opts.Start.IsZero() && (o.Scenario == nil || o.Scenario.Clock.Start == "") {
		opts.Start = m.start
	}
	child, err := newMock(opts, w)
	if err != nil {
		return nil, err
	}
	child.forcedVersion = o.Version != "" || inherited && m.forcedVersion // as the root: a scenario's version switches unless forced
	// The root's Close ends the sandbox's delays too.
	child.rootDone = m.closed
	child.tokens.Join(m.tokens.Budget()) // one budget for the root and its sandboxes
	child.journal.Join(m.journal.Budget())
	child.faults.Share(m.faults) // MaxFaults counts the root's and its sandboxes' faults together
	now := m.wall.Now()
	sb := &Sandbox{Instance: child, ID: id, mock: child, created: now}
	sb.lastUsed.Store(now.UnixNano())
	if err := m.sandboxes.add(sb); err != nil {
		return nil, err
	}
	rel := child.Version()
	child.log.Info("sandbox created", "version", rel.Name, "now", child.Now().Format(time.RFC3339))
	return sb, nil
}

// Sandbox finds a live sandbox by id (and counts the call as a use).
func (m *Mock) Sandbox(id string) (*Sandbox, bool) {
	if m.sandboxes == nil {
		return nil, false
	}
	sb := m.sandboxes.get(id)
	return sb, sb != nil
}

// Sandboxes lists the live sandboxes, oldest first.
func (m *Mock) Sandboxes() []*Sandbox {
	if m.sandboxes == nil {
		return nil
	}
	return m.sandboxes.list()
}

// DeleteSandbox drops a sandbox; false when there is none with that id.
func (m *Mock) DeleteSandbox(id string) bool {
	return m.sandboxes != nil && m.sandboxes.remove(id)
}

// DeleteSandboxes drops every sandbox (and stops the TTL timer); it returns how many.
// Server.Close calls it.
func (m *Mock) DeleteSandboxes() int {
	if m.sandboxes == nil {
		return 0
	}
	s := m.sandboxes
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.byID)
	for _, sb := range s.byID {
		s.removeLocked(sb, "deleted")
	}
	return n
}

// serveSandbox hands /sandboxes/{id}/rest to the sandbox as /rest.
func (m *Mock) serveSandbox(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path[len(sandboxPrefix):]
	id, rest, _ := strings.Cut(p, "/")
	rest = "/" + rest
	sb := m.sandboxes.get(id)
	if sb == nil {
		if rest == "/__admin" || strings.HasPrefix(rest, "/__admin/") {
			if m.adminAllowed(w, r) {
				adminError(w, http.StatusNotFound, "no sandbox %q (deleted, idle longer than --sandbox-ttl, or never created; GET /__admin/sandboxes lists them)", clip(id))
			}
			return
		}
		m.writeAnswer(w, r, "", answer{err: &apiError{Code: CodeInvalidRequest, HTTP: http.StatusNotFound,
			Description: fmt.Sprintf("no sandbox %q (deleted, idle longer than --sandbox-ttl, or never created)", clip(id))}}, m.snap.Load())
		return
	}
	r2 := new(http.Request) // a shallow copy with its own URL, as http.StripPrefix makes
	*r2 = *r
	u := *r.URL
	u.Path = rest
	u.RawPath = ""
	if raw, ok := strings.CutPrefix(r.URL.RawPath, sandboxPrefix+id); ok && raw != "" {
		u.RawPath = raw
	}
	r2.URL = &u
	sb.inflight.Add(1)
	defer func() { // the TTL counts from the end of the request; then it may be idle
		sb.lastUsed.Store(m.sandboxes.wall.Now().UnixNano())
		sb.inflight.Add(-1)
	}()
	sb.mock.ServeHTTP(w, r2)
}

// Control API: /__admin/sandboxes (the root only).

type sandboxInfo struct {
	ID            string    `json:"id"`
	BaseURL       string    `json:"base_url"`
	AdminURL      string    `json:"admin_url"`
	Version       string    `json:"version"`
	Now           time.Time `json:"now"`             // the sandbox's mock clock
	CreatedAt     time.Time `json:"created_at"`      // wall clock
	LastRequestAt time.Time `json:"last_request_at"` // wall clock: --sandbox-ttl counts from here
	Tokens        int       `json:"tokens"`          // issued since its last reset
	Faults        int       `json:"faults"`          // faults set in it
}

// rootURL is the scheme and host the client reached the server by.
func rootURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); host == "" && ok {
		host = addr.String() // HTTP/1.0 without Host: the address the request came in on
	}
	return scheme + "://" + host
}

func (sb *Sandbox) info(root string) sandboxInfo {
	return sandboxInfo{
		ID: sb.ID, BaseURL: sb.BaseURL(root), AdminURL: sb.AdminURL(root), Version: sb.Version().Name,
		Now: sb.Now().UTC(), CreatedAt: sb.created.UTC(), LastRequestAt: time.Unix(0, sb.lastUsed.Load()).UTC(),
		Tokens: sb.mock.tokens.Held(), Faults: sb.mock.faults.Len(),
	}
}

func (m *Mock) postSandbox(w http.ResponseWriter, r *http.Request) {
	if m.sandboxes == nil {
		adminError(w, http.StatusNotFound, "%v", ErrSandboxNesting)
		return
	}
	body, ok := readAdminBody(w, r, adminBodyLimit, "a sandbox request")
	if !ok {
		return
	}
	o, err := sandboxRequest(body)
	if err != nil {
		adminError(w, http.StatusBadRequest, "%v", err)
		return
	}
	sb, err := m.NewSandbox(o)
	switch {
	case errors.Is(err, ErrTooManySandboxes):
		adminError(w, http.StatusTooManyRequests, "%v", err)
		return
	case err != nil:
		adminError(w, http.StatusBadRequest, "%v", err)
		return
	}
	root := rootURL(r)
	writeJSON(w, http.StatusCreated, sb.info(root))
}

// sandboxRequest reads the options of POST /__admin/sandboxes: {"version", "start",
// "scenario"}, each optional (an empty body takes every default).
func sandboxRequest(body []byte) (SandboxOptions, error) {
	var req struct {
		Version  string          `json:"version"`
		Start    string          `json:"start"`
		Scenario json.RawMessage `json:"scenario"`
	}
	var o SandboxOptions
	if len(bytes.TrimSpace(body)) > 0 { // an empty body takes every default
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return o, fmt.Errorf("body: %v (want {\"version\", \"start\", \"scenario\"}, each optional)", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	if req.Version != "" {
		if _, err := ParseRelease(req.Version); err != nil {
			return o, fmt.Errorf("version: %v", err)
		}
		o.Version = req.Version
	}
	if req.Start != "" {
		t, err := time.Parse(time.RFC3339Nano, req.Start)
		if err != nil {
			return o, fmt.Errorf("start: %q is not RFC 3339 (e.g. 2024-01-01T09:00:00Z)", req.Start)
		}
		o.Start = t
	}
	sc, err := sandboxScenario(req.Scenario)
	if err != nil {
		return o, err
	}
	o.Scenario = sc
	return o, nil
}

// sandboxScenario reads a sandbox request's scenario: YAML or JSON text in a string, or
// an object; nil when absent or null.
func sandboxScenario(scenario json.RawMessage) (*Scenario, error) {
	raw := strings.TrimSpace(string(scenario))
	if raw == "" || raw == "null" {
		return nil, nil
	}
	text := []byte(raw) // an object: JSON is YAML, so lines count from its opening brace
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(scenario, &s); err != nil {
			return nil, fmt.Errorf("scenario: %v", err)
		}
		text = []byte(s)
	case '{':
	default:
		return nil, errors.New("scenario: want the scenario as YAML or JSON text (a string) or as an object")
	}
	sc, err := ParseScenario(text)
	if err != nil {
		return nil, fmt.Errorf("scenario: %v", err)
	}
	return sc, nil
}

func (m *Mock) getSandboxes(w http.ResponseWriter, r *http.Request) {
	if m.sandboxes == nil {
		adminError(w, http.StatusNotFound, "%v", ErrSandboxNesting)
		return
	}
	root := rootURL(r)
	out := []sandboxInfo{}
	for _, sb := range m.Sandboxes() {
		out = append(out, sb.info(root))
	}
	writeJSON(w, http.StatusOK, map[string]any{"sandboxes": out})
}

func (m *Mock) deleteSandbox(w http.ResponseWriter, r *http.Request) {
	if m.sandboxes == nil {
		adminError(w, http.StatusNotFound, "%v", ErrSandboxNesting)
		return
	}
	id := mux.Vars(r)["id"]
	if !m.DeleteSandbox(id) {
		adminError(w, http.StatusNotFound, "no sandbox %q (GET /__admin/sandboxes lists them)", clip(id))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"deleted": id})
}
