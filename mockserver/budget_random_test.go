// Cross-cutting suite (keeps its name): random operations on a root and its sandboxes, checking the process-wide budgets (tokens, journals) account for them.

package mockserver

import (
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
)

// budgetHarness drives a root and its sandboxes in process (ServeHTTP, no network).
type budgetHarness struct {
	t    *testing.T
	root *Mock
	mu   sync.Mutex
	ids  []string            // sandboxes believed alive (some may be gone: TTL, delete)
	toks map[string][]string // prefix ("" for the root) → tokens issued there
}

func (b *budgetHarness) serve(method, path, body string) (string, string) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	b.root.ServeHTTP(rec, req)
	var env struct {
		Status struct{ Code string }
		Data   struct{ Token string }
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &env)
	return env.Status.Code, env.Data.Token
}

func (b *budgetHarness) pick(r *rand.Rand) (prefix string, sb *Sandbox, m *Mock) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ids) == 0 || r.IntN(3) == 0 {
		return "", nil, b.root
	}
	id := b.ids[r.IntN(len(b.ids))]
	s, ok := b.root.Sandbox(id)
	if !ok {
		return sandboxPrefix + id, nil, nil // gone: requests to it answer 404, as for a client that kept its URL
	}
	return sandboxPrefix + id, s, s.mock
}

func (b *budgetHarness) token(r *rand.Rand, prefix string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	ts := b.toks[prefix]
	if len(ts) == 0 {
		return "none"
	}
	return ts[r.IntN(len(ts))]
}

func (b *budgetHarness) step(r *rand.Rand) {
	prefix, sb, m := b.pick(r)
	base := prefix + docBasePath
	switch op := r.IntN(100); {
	case op < 40:
		if _, tok := b.serve("POST", base+"/authentication/token", `{"username":"`+docUser+`","password":"`+docPass+`","organisation":"`+docOrg+`"}`); tok != "" {
			b.mu.Lock()
			if ts := b.toks[prefix]; len(ts) > 200 {
				ts[r.IntN(len(ts))] = tok
			} else {
				b.toks[prefix] = append(ts, tok)
			}
			b.mu.Unlock()
		}
	case op < 65:
		b.serve("GET", base+"/contact_information/show?token="+b.token(r, prefix), "")
	case op < 70:
		b.serve("POST", base+"/authentication/token/release", `{"token":"`+b.token(r, prefix)+`"}`)
	case m == nil:
	case op < 73:
		_ = m.RevokeToken(b.token(r, prefix))
	case op < 75:
		_ = m.ExpireToken(b.token(r, prefix))
	case op < 76:
		m.RevokeAllTokens()
	case op < 77:
		m.Reset()
	case op < 80:
		_, _ = m.Advance(time.Duration(r.IntN(90)) * time.Minute) // dead tokens, swept
	case op < 82:
		sc := *DefaultScenario()        // read-only: a copy with its own limits
		sc.Limits.MaxTokens = r.IntN(6) // 0: none of its own
		require.NoError(b.t, m.SetScenario(&sc))
	case op < 83:
		m.ClearJournal()
	case op < 88 && sb == nil: // at the root: a sandbox more
		if s, err := b.root.NewSandbox(SandboxOptions{}); err == nil {
			b.mu.Lock()
			b.ids = append(b.ids, s.ID)
			b.mu.Unlock()
		}
	case op < 92 && sb != nil:
		b.root.DeleteSandbox(sb.ID)
	}
}

// check compares the shared budgets with what the live mocks hold.
func (b *budgetHarness) check() {
	b.t.Helper()
	mocks := []*Mock{b.root}
	for _, s := range b.root.Sandboxes() {
		mocks = append(mocks, s.mock)
	}
	var held int64
	var bytes int64
	for _, m := range mocks {
		held += int64(m.tokens.Held())
		_, counted, sum, _ := m.journal.Stats()
		require.Equal(b.t, sum, counted, "a journal's bytes differ from its entries' cost")
		bytes += counted
	}
	require.Equal(b.t, held, b.root.tokens.Budget().Held(), "the token budget differs from the tokens held")
	require.Equal(b.t, bytes, b.root.journal.Budget().Used(), "the journal budget differs from the journals' cost")
	require.GreaterOrEqual(b.t, held, int64(0))
}

// Ensure the process-wide token budget and journal budget always equal what the root
// and its live sandboxes hold, whatever mix of logins, uses, releases, revokes,
// resets, clock moves (sweeps), scenario limits, journal clears, sandbox creations and
// deletions (also while requests to the sandbox are in flight, and by the TTL) ran, at
// once from several goroutines.
func TestBudgetsAccountRandomOperations(t *testing.T) {
	wall := clockwork.NewFakeClock()
	root, err := New(Options{Version: "R12", MaxTokens: 20, TokenBudget: 60, KeepDead: 3, JournalBudget: 96 << 10,
		MaxSandboxes: 6, SandboxTTL: time.Minute, WallClock: wall, Start: t0})
	require.NoError(t, err)
	b := &budgetHarness{t: t, root: root, toks: map[string][]string{}}
	for round := range 6 {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(round), uint64(g)))
				for range 800 {
					b.step(r)
				}
			}()
		}
		wg.Add(1)
		go func() { // the TTL drops idle sandboxes meanwhile
			defer wg.Done()
			for range 20 {
				wall.Advance(20 * time.Second)
				root.Sandboxes()
			}
		}()
		wg.Wait()
		b.check()
	}
	root.DeleteSandboxes()
	root.Reset()
	require.Equal(t, int64(0), root.tokens.Budget().Held())
	require.Equal(t, int64(0), root.journal.Budget().Used())
}
