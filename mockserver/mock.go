package mockserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/crmmock/crmmock/internal/journal"
	"github.com/crmmock/crmmock/internal/tokens"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmmock/crmmock/internal/faults"
	"github.com/jonboulle/clockwork"
)

// DefaultVersion is the release emulated when neither options nor scenario name one.
const DefaultVersion = "R12"

// DefaultBodyLimit is the largest request body accepted (REQUEST_TOO_LARGE above it).
const DefaultBodyLimit = 1 << 20

// ErrRealClock is returned by clock moves on a mock that runs on the wall clock.
var ErrRealClock = errors.New("the mock runs on the real clock; it cannot be moved")

// Options configure a Mock. The zero value is the CLI's defaults: R12 (or the
// scenario's version), the built-in scenario, a fake clock, /crmapi/rest/v2.
type Options struct {
	// Version is the release to emulate (see ParseRelease); empty: the scenario's
	// version, else DefaultVersion.
	Version string
	// Scenario is the fixtures; nil: the built-in scenarios/default.yaml.
	Scenario *Scenario
	// Start is the fake clock's start; zero: the scenario's clock.start, else now
	// (UTC, whole seconds). Ignored when Clock is set.
	Start time.Time
	// Clock, when set, is the fake clock to use (a test may share it with other fakes).
	Clock *clockwork.FakeClock
	// RealClock runs the mock on the wall clock; the control API's clock moves answer 409.
	RealClock bool
	// BasePath prefixes the Web API; empty: /crmapi/rest/v2 (F1).
	BasePath string
	// MappedErrors answers API errors with 4xx/5xx statuses instead of HTTP 200
	// (--error-status mapped).
	MappedErrors bool
	// AdminToken, when set, is required as "Authorization: Bearer <token>" on /__admin.
	AdminToken string
	// JWTSecret signs R12+ tokens; empty: 32 random bytes.
	JWTSecret []byte
	// BodyLimit caps request bodies; zero: DefaultBodyLimit.
	BodyLimit int64
	// Logger receives the mock's logs; nil: discarded. At info: one line per Web API
	// request, clock moves, release switches, scenario swaps, resets; contract
	// violations at warn.
	Logger *slog.Logger

	// MaxSandboxes caps the sandboxes alive at once (NewSandbox answers
	// ErrTooManySandboxes beyond it); zero: DefaultMaxSandboxes; negative: none allowed.
	MaxSandboxes int
	// SandboxTTL drops a sandbox after this much wall time without a request; zero:
	// DefaultSandboxTTL; negative: never.
	SandboxTTL time.Duration
	// WallClock is the wall time of the documented real-time features (sandbox TTL,
	// fault delays); nil: the real clock. Tests pass a *clockwork.FakeClock.
	WallClock clockwork.Clock
	// KeepDead is how many dead (expired or released) tokens are kept for the control
	// API and the lint; older dead ones are dropped (and counted). Live tokens are
	// always kept. Zero: DefaultKeepDead; negative: none.
	KeepDead int
	// MaxTokens bounds the tokens the mock holds, and each of its sandboxes; past it,
	// an issue evicts the mock's least recently used token (a second-chance
	// approximation), which then answers INVALID_TOKEN "evicted: token store full".
	// Zero: DefaultMaxTokens; negative: no bound.
	MaxTokens int
	// TokenBudget bounds the tokens the mock and all its sandboxes hold together; past
	// it, the issuing mock evicts one of its own. Zero: DefaultTokenBudget; negative:
	// no budget (the 65 536 evicted tokens whose reason is remembered are still theirs
	// together).
	TokenBudget int
	// JournalBudget bounds, in bytes (an estimate erring high), the request journals of
	// the mock and all its sandboxes together; past it, the journal adding an entry drops
	// a quarter of its own oldest (keeping at least 100), and once that cannot make room
	// NewSandbox answers ErrTooManySandboxes naming it. Zero: DefaultJournalBudget;
	// negative: no budget.
	JournalBudget int64

	// contract, when set, replaces the process's contract (tests load edited copies
	// with loadContract to show that openapi.yaml alone decides availability).
	contract *apiContract
}

// Mock is the CRM.COM authentication Web API emulator: an http.Handler serving the Web
// API under its base path and the control API under /__admin. It is safe for
// concurrent use; every time it reads comes from its one clock.
type Mock struct {
	clock     clockwork.Clock
	fake      *clockwork.FakeClock // nil on the real clock
	clockMu   sync.Mutex           // serialises moves of the fake clock
	start     time.Time
	basePath  string
	mapped    bool
	adminTok  string
	secret    []byte
	bodyLimit int64
	log       *slog.Logger

	forcedVersion bool // Options.Version was given: a scenario's version does not replace it
	startRelease  Release
	snap          atomic.Pointer[snapshot] // the release and fixtures in force

	ctr     *apiContract // nil: the process's contract (loadProcessContract)
	otps    otpStore     // one-time passwords of generate_otp
	tokens  *store
	journal *journal.Journal
	faults  *faults.Set

	wall          clockwork.Clock // sandbox TTL and fault delays (real time, docs/faults-and-sandboxes.md)
	startScenario *Scenario       // the scenario given at New: a sandbox's default
	startWorld    *world          // startScenario compiled (read-only; shared with sandboxes)
	sandboxes     *sandboxSet     // nil in a sandbox: sandboxes do not nest

	closed    chan struct{} // closed by Close: fault delays end at once (see wait)
	closeOnce sync.Once
	rootDone  <-chan struct{} // in a sandbox, the root's closed (nil at the root)
}

// New builds a Mock. Errors name the bad option.
func New(opts Options) (*Mock, error) {
	PreloadContract() // built while the caller starts listening; ServeHTTP waits for it
	m, err := newMock(opts, nil)
	if err != nil {
		return nil, err
	}
	m.sandboxes = newSandboxSet(opts, m.wall)
	switch {
	case opts.TokenBudget == 0:
		m.tokens.Join(tokens.NewBudget(DefaultTokenBudget))
	case opts.TokenBudget > 0:
		m.tokens.Join(tokens.NewBudget(int64(opts.TokenBudget)))
	default: // no bound on the tokens held, but the evicted ones remembered are shared still
		m.tokens.Join(tokens.NewBudget(0))
	}
	switch {
	case opts.JournalBudget == 0:
		m.journal.Join(journal.NewBudget(DefaultJournalBudget))
	case opts.JournalBudget > 0:
		m.journal.Join(journal.NewBudget(opts.JournalBudget))
	}
	return m, nil
}

// newMock builds an instance; w, when set, is opts.Scenario already compiled.
func newMock(opts Options, w *world) (*Mock, error) {
	var err error
	sc := opts.Scenario
	if sc == nil {
		sc = DefaultScenario()
	}
	if w == nil {
		if w, err = compile(sc, nil); err != nil {
			return nil, fmt.Errorf("scenario: %w", err)
		}
	}
	m := &Mock{
		basePath:  strings.TrimRight(opts.BasePath, "/"),
		mapped:    opts.MappedErrors,
		adminTok:  opts.AdminToken,
		secret:    opts.JWTSecret,
		bodyLimit: opts.BodyLimit,
		log:       opts.Logger,
		journal:   journal.New(journal.DefaultSize),
		faults:    faults.New(),
		wall:      opts.WallClock,
		closed:    make(chan struct{}),

		startScenario: sc,
		startWorld:    w,
		ctr:           opts.contract,
	}
	if err := m.setDefaults(opts); err != nil {
		return nil, err
	}
	m.forcedVersion = opts.Version != ""
	rel, err := startRelease(opts.Version, w)
	if err != nil {
		return nil, err
	}
	m.startRelease = rel
	m.snap.Store(&snapshot{rel: rel, world: w, scenario: sc})
	if err := m.initClock(opts, w); err != nil {
		return nil, err
	}
	m.tokens = newStore(m.nowNano, m.secret)
	keepDead, maxTokens := DefaultKeepDead, 0
	switch {
	case opts.KeepDead < 0:
		keepDead = 0
	case opts.KeepDead > 0:
		keepDead = opts.KeepDead
	}
	switch {
	case opts.MaxTokens == 0:
		maxTokens = DefaultMaxTokens
	case opts.MaxTokens > 0:
		maxTokens = opts.MaxTokens
	}
	m.tokens.Configure(keepDead, maxTokens)
	m.tokens.SetScenarioMax(w.maxTokens)
	return m, nil
}

// startRelease is the release a mock starts in: the one asked for, else the
// scenario's version, else DefaultVersion.
func startRelease(version string, w *world) (Release, error) {
	if version == "" {
		version = w.version
	}
	if version == "" {
		version = DefaultVersion
	}
	rel, err := ParseRelease(version)
	if err != nil {
		return Release{}, fmt.Errorf("version: %w", err)
	}
	return rel, nil
}

// setDefaults fills in what Options left zero: the wall clock, base path, body
// limit, logger and JWT secret.
func (m *Mock) setDefaults(opts Options) error {
	if m.wall == nil {
		m.wall = clockwork.NewRealClock()
	}
	if opts.BasePath == "" {
		m.basePath = docBasePath
	} else if !strings.HasPrefix(m.basePath, "/") {
		return fmt.Errorf("base path %q must start with /", opts.BasePath)
	}
	if m.bodyLimit <= 0 {
		m.bodyLimit = DefaultBodyLimit
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if len(m.secret) == 0 {
		m.secret = make([]byte, 32)
		_, _ = rand.Read(m.secret)
	}
	return nil
}

// initClock sets the mock's clock: the real one, the caller's fake clock, or a fake
// clock of its own at Options.Start, else the scenario's clock.start, else now.
func (m *Mock) initClock(opts Options, w *world) error {
	switch {
	case opts.RealClock:
		m.clock = clockwork.NewRealClock()
	case opts.Clock != nil:
		m.fake = opts.Clock
	default:
		start := opts.Start
		if start.IsZero() {
			start = w.start
		}
		if start.IsZero() {
			start = time.Now().UTC().Truncate(time.Second) // the one wall-clock read: the default start
		}
		if err := clockInRange(start); err != nil {
			return fmt.Errorf("start: %w", err)
		}
		m.fake = clockwork.NewFakeClockAt(start.UTC())
	}
	if m.fake != nil {
		m.clock = m.fake
		m.start = m.fake.Now()
	}
	return nil
}

// Now is the mock's clock.
func (m *Mock) Now() time.Time { return m.clock.Now() }

// Clock is the mock's clock: a *clockwork.FakeClock unless the mock runs on the real one.
func (m *Mock) Clock() clockwork.Clock { return m.clock }

// FakeClock is the mock's fake clock, or nil on the real clock.
func (m *Mock) FakeClock() *clockwork.FakeClock { return m.fake }

// The range of the mock's own clock moves (start, Advance, SetNow): token times are
// Unix nanoseconds (an int64 holds the years 1678 to 2262) and JWT dates Unix
// seconds, so the clock stays from the epoch to 2200, where every expiry is exact.
var (
	clockMin = time.Unix(0, 0).UTC()
	clockMax = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// clockInRange refuses a moment outside [clockMin, clockMax).
func clockInRange(t time.Time) error {
	if t.Before(clockMin) || !t.Before(clockMax) {
		return fmt.Errorf("%s is outside the mock clock's range, %s to %s", t.UTC().Format(time.RFC3339Nano),
			clockMin.Format(time.RFC3339), clockMax.Format(time.RFC3339))
	}
	return nil
}

// Advance moves the fake clock forward by d (d must not be negative).
func (m *Mock) Advance(d time.Duration) (time.Time, error) {
	if m.fake == nil {
		return time.Time{}, ErrRealClock
	}
	if d < 0 {
		return time.Time{}, fmt.Errorf("duration %s is negative: the clock only advances (use clock/set to go back)", d)
	}
	m.clockMu.Lock()
	defer m.clockMu.Unlock()
	if err := clockInRange(m.fake.Now().Add(d)); err != nil {
		return time.Time{}, fmt.Errorf("duration %s: %w", d, err)
	}
	m.fake.Advance(d)
	now := m.fake.Now()
	if m.log.Enabled(context.Background(), slog.LevelInfo) { // Go suites advance in loops: no formatting when off
		m.log.Info("clock advanced", "by", d.String(), "now", now.UTC().Format(time.RFC3339Nano))
	}
	return now, nil
}

// SetNow sets the fake clock, forward or back.
func (m *Mock) SetNow(t time.Time) error {
	if m.fake == nil {
		return ErrRealClock
	}
	if err := clockInRange(t); err != nil {
		return fmt.Errorf("now: %w", err)
	}
	m.clockMu.Lock()
	defer m.clockMu.Unlock()
	m.fake.Advance(t.Sub(m.fake.Now())) // clockwork moves back on a negative duration
	m.log.Info("clock set", "now", m.fake.Now().UTC().Format(time.RFC3339Nano))
	return nil
}

// snapshot is what a Web API request is answered under: the release and the fixtures
// in force when it arrived, read with one atomic load and carried with its answer to
// the journal and the lint. A stored snapshot is never changed: a release switch, a
// scenario swap or a reset stores a new one (see swap).
type snapshot struct {
	rel      Release
	world    *world
	scenario *Scenario
}

// swap stores change(current) as the snapshot in force, atomically against other
// swaps, and returns it.
func (m *Mock) swap(change func(s snapshot) snapshot) *snapshot {
	for {
		old := m.snap.Load()
		s := change(*old)
		if m.snap.CompareAndSwap(old, &s) {
			return &s
		}
	}
}

// Version is the emulated release: a copy, so changing it changes nothing in the mock.
func (m *Mock) Version() Release { return m.snap.Load().rel }

// SetVersion switches the emulated release. Tokens already issued keep the rule of the
// release that issued them.
func (m *Mock) SetVersion(name string) (Release, error) {
	r, err := ParseRelease(name)
	if err != nil {
		return Release{}, err
	}
	m.swap(func(s snapshot) snapshot { s.rel = r; return s })
	m.log.Info("release switched", "version", r.Name, "profile", r.Profile.Name)
	return r, nil
}

// SetScenario replaces the fixtures. Tokens issued so far stay; a scenario version
// switches the release unless Options.Version was given.
func (m *Mock) SetScenario(sc *Scenario) error {
	w, err := compile(sc, nil)
	if err != nil {
		return err
	}
	m.install(sc, w)
	return nil
}

// install puts compiled fixtures in force.
func (m *Mock) install(sc *Scenario, w *world) {
	s := m.swap(func(s snapshot) snapshot {
		s.world, s.scenario = w, sc
		if w.version != "" && !m.forcedVersion {
			s.rel = MustParseRelease(w.version)
		}
		return s
	})
	m.tokens.SetScenarioMax(w.maxTokens)
	m.log.Info("scenario replaced", "organisations", len(sc.Organisations), "methods", len(sc.Methods), "version", s.rel.Name)
}

// Scenario is the fixtures in force.
func (m *Mock) Scenario() *Scenario { return m.snap.Load().scenario }

func (m *Mock) nowNano() int64 { return m.clock.Now().UnixNano() }

// Tokens lists the tokens issued since the last reset, in issue order: every live
// one, and the newest Options.KeepDead dead ones (see DroppedTokens).
func (m *Mock) Tokens() []Token { return m.tokens.List(TokenFilter{}).Tokens }

// DroppedTokens is how many dead tokens were dropped (beyond Options.KeepDead) since
// the last reset.
func (m *Mock) DroppedTokens() uint64 { return m.tokens.Dropped() }

// TokensFiltered lists the tokens f selects, in issue order, with every held token
// counted by state and the dropped count, all at one moment of the mock's clock. Only
// the listed JWTs are rebuilt: with many tokens held, a Limit keeps a listing cheap.
func (m *Mock) TokensFiltered(f TokenFilter) TokenList { return m.tokens.List(f) }

// Token looks one token up.
func (m *Mock) Token(value string) (Token, bool) { return m.tokens.Get(value) }

// TokenTimeline is a token's fields and events (issued, used, rejected, released,
// expired at its exact moment), in time order; false for a token the mock does not hold.
func (m *Mock) TokenTimeline(value string) (TokenTimeline, bool) { return m.tokens.Timeline(value) }

// ExpireToken makes a live token expire now: TOKEN_EXPIRED from then on. An expired
// token stays as it is; a released one is ErrTokenReleased; an unknown one ErrUnknownToken.
func (m *Mock) ExpireToken(value string) error {
	err := m.tokens.Expire(value)
	if err == nil {
		m.log.Info("token expired by the control API", "token", shortToken(value))
	}
	return err
}

// RevokeToken forgets a token, as a server restart would: INVALID_TOKEN from then on.
func (m *Mock) RevokeToken(value string) error {
	err := m.tokens.Revoke(value)
	if err == nil {
		m.log.Info("token revoked", "token", shortToken(value))
	}
	return err
}

// RevokeAllTokens forgets every token, as a server restart would.
func (m *Mock) RevokeAllTokens() {
	m.tokens.RevokeAll()
	m.log.Info("every token revoked")
}

// Journal is the requests received since the last reset (the newest 10 000).
func (m *Mock) Journal() []JournalEntry { return m.journalEntries(journal.Filter{}) }

// Violations is the journal's requests that broke the contract.
func (m *Mock) Violations() []JournalEntry { return m.journalEntries(journal.Filter{Violations: true}) }

// ClearJournal empties the request journal.
func (m *Mock) ClearJournal() { m.journal.Clear() }

// Close is the mock's shutdown signal: requests held by a delay fault, in it and in
// its sandboxes, end their delay at once and are answered as the fault would have
// answered after it (or dropped, for drop_connection), and later delays are skipped.
// A server shutting down calls it before (or while) it waits for requests in flight,
// which a delay of minutes would otherwise hold: Server.Close does, and so does
// crmmock serve before http.Server.Shutdown. The mock keeps answering requests;
// calling Close again does nothing.
func (m *Mock) Close() {
	m.closeOnce.Do(func() { close(m.closed) })
}

// Reset drops tokens, journal and faults, puts the clock back to its start and the
// release back to the start-up one. The fixtures stay, and so do sandboxes (each
// resets through its own control API).
func (m *Mock) Reset() {
	m.tokens.Reset()
	m.otps.reset()
	m.journal.Clear()
	m.faults.Clear()
	if m.fake != nil {
		m.clockMu.Lock()
		m.fake.Advance(m.start.Sub(m.fake.Now()))
		m.clockMu.Unlock()
	}
	r := m.startRelease
	m.swap(func(s snapshot) snapshot { s.rel = r; return s })
	m.log.Info("reset", "now", m.clock.Now().UTC().Format(time.RFC3339Nano), "version", r.Name)
}

// BasePath is the Web API prefix.
func (m *Mock) BasePath() string { return m.basePath }

// ServeHTTP routes /__admin to the control API and the base path to the Web API.
func (m *Mock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			m.log.Error("handler panic", "panic", v, "method", r.Method, "path", r.URL.Path)
			m.writeAnswer(w, r, "", answer{err: errorf(CodeInternal, "internal error: %v", v)}, m.snap.Load())
		}
	}()
	if _, err := loadProcessContract(); err != nil && m.ctr == nil { // nothing is answered before the contract is ready
		m.writeAnswer(w, r, "", answer{err: errorf(CodeInternal, "%v", err)}, m.snap.Load())
		return
	}
	p := r.URL.Path
	switch {
	case p == "/__admin" || strings.HasPrefix(p, "/__admin/"):
		m.serveAdmin(w, r)
	case strings.HasPrefix(p, m.basePath+"/"):
		m.serveAPI(w, r, p[len(m.basePath):])
	case m.sandboxes != nil && strings.HasPrefix(p, sandboxPrefix):
		m.serveSandbox(w, r)
	default:
		m.writeAnswer(w, r, "", answer{err: &apiError{Code: CodeInvalidRequest, HTTP: http.StatusNotFound, Violation: true,
			Description: fmt.Sprintf("path %s is outside the Web API base path %s", p, m.basePath)}}, m.snap.Load())
	}
}
