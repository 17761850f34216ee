package mockserver

import (
	"github.com/crmmock/crmmock/internal/journal"
	"testing"

	"github.com/stretchr/testify/require"
)

// Ensure a full token store evicts the least recently used token of its mock (a
// token used since the eviction hand passed keeps its place), that presenting the
// evicted token answers INVALID_TOKEN naming the bound, that /__admin/tokens counts
// it, and that the lint names it (token-evicted).
func TestMaxTokensEvictsLeastRecentlyUsed(t *testing.T) {
	for _, version := range []string{"R10", "R12"} {
		t.Run(version, func(t *testing.T) {
			h := start(t, Options{Version: version, MaxTokens: 3})
			t1, t2, t3 := h.login(), h.login(), h.login()
			require.Equal(t, "OK", h.code(h.use(t1)))
			require.Equal(t, "OK", h.code(h.use(t3)))
			t4 := h.login() // the fourth: t2, never used, is evicted

			r := h.use(t2)
			require.Equal(t, "INVALID_TOKEN", h.code(r))
			require.Equal(t, "evicted: token store full (--max-tokens 3)", *r.Status.Description)
			for _, tok := range []string{t1, t3, t4} {
				require.Equal(t, "OK", h.code(h.use(tok)))
			}
			l := h.TokensFiltered(TokenFilter{})
			require.Len(t, l.Tokens, 3)
			require.Equal(t, uint64(1), l.Evicted)

			rep := h.Lint()
			var ids []string
			for _, f := range rep.Findings {
				ids = append(ids, f.Rule)
				if f.Rule == "token-evicted" {
					require.Equal(t, t2, f.Token)
					require.Contains(t, f.Message, "--max-tokens 3")
				}
			}
			require.Contains(t, ids, "token-evicted")

			h.Reset()
			require.Equal(t, uint64(0), h.TokensFiltered(TokenFilter{}).Evicted)
		})
	}
}

// Ensure the process-wide budget is shared by the root and its sandboxes: past it the
// issuing sandbox evicts one of its own tokens, never the root's or another sandbox's,
// and a dropped sandbox gives its tokens back.
func TestTokenBudgetAcrossSandboxes(t *testing.T) {
	h := start(t, Options{Version: "R12", MaxTokens: -1, TokenBudget: 4})
	r1, r2 := h.login(), h.login()
	a := h.createSandbox(`{}`)
	a1, a2 := a.login(), a.login()
	a3 := a.login() // 5 held > 4: sandbox a evicts its own least recently used, a1
	require.Equal(t, "INVALID_TOKEN", a.use(a1))
	for _, tok := range []string{a2, a3} {
		require.Equal(t, "OK", a.use(tok))
	}
	for _, tok := range []string{r1, r2} {
		require.Equal(t, "OK", h.code(h.use(tok)))
	}
	b := h.createSandbox(`{}`)
	b1 := b.login() // the budget is full, but b holds no other token: it keeps this one
	require.Equal(t, "OK", b.use(b1))
	require.Equal(t, "OK", a.use(a2))

	require.True(t, h.DeleteSandbox(a.id)) // a's two tokens leave the budget
	r3 := h.login()
	for _, tok := range []string{r1, r2, r3} {
		require.Equal(t, "OK", h.code(h.use(tok)), "the root evicted a token while the budget had room")
	}
	require.Equal(t, uint64(0), h.TokensFiltered(TokenFilter{}).Evicted)
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

// Ensure an evicted opaque token of a scenario's own length (token.opaque_length) is
// still answered with the eviction's reason, not as never issued.
func TestEvictedTokenOfScenarioLength(t *testing.T) {
	sc := *DefaultScenario()
	sc.Token.OpaqueLength = 48
	sc.Limits.MaxTokens = 1
	h := start(t, Options{Version: "R10", Scenario: &sc})
	h.offContract = true // the contract's token pattern is the default shape
	first := h.login()
	require.Len(t, first, 48)
	h.login() // past limits.max_tokens 1: first is evicted
	r := h.use(first)
	require.Equal(t, "INVALID_TOKEN", h.code(r))
	require.Equal(t, "evicted: token store full (scenario limits.max_tokens 1)", *r.Status.Description)
}
