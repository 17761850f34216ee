// Cross-cutting suite (keeps its name): the attack suite on the token bound (huge garbage tokens among evicted ones, eviction under use, a listing whose client left).

package mockserver

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/crmmock/crmmock/internal/testutil"
	"github.com/crmmock/crmmock/internal/tokens"
	"github.com/stretchr/testify/require"
)

// Ensure a 1 MiB garbage token (no JWT shape, not 32 characters: never an issued
// token) costs no copy of itself when the mock looks for it among evicted tokens,
// before or after an eviction happened: it is answered INVALID_TOKEN as before the
// token bound existed.
func TestEvictedLookupOfHugeGarbageToken(t *testing.T) {
	m, err := New(Options{Version: "R10", MaxTokens: 1, Start: t0})
	require.NoError(t, err)
	garbage := strings.Repeat("A", 1<<20)
	check := func() {
		if a := m.checkToken(garbage, tokens.Use); a.err == nil || a.err.Code != CodeInvalidToken {
			t.Fatalf("answered %v", a.err)
		}
	}
	require.Less(t, testutil.AllocatedBy(20, check), uint64(64<<10), "a 1 MiB garbage token was copied")
	issueN(t, m, 3) // two evicted: the evicted set is in use
	require.Equal(t, uint64(2), m.TokensFiltered(TokenFilter{}).Evicted)
	require.Less(t, testutil.AllocatedBy(20, check), uint64(64<<10), "a 1 MiB garbage token was copied")
}

// BenchmarkEvictAllUsed: an issue (and a use of the new token) into a full store of
// 100 000 tokens, every one of them used since the eviction hand last passed, and each
// new one used at once: a login flood whose every token is used. The hand clears the
// marks in one pass and then evicts as it goes, so an issue costs about what it costs
// below the bound (compare BenchmarkEvictAllUsed/below), never a walk of the store.
func BenchmarkEvictAllUsed(b *testing.B) {
	const held = 100_000
	for _, c := range []struct {
		name string
		max  int
	}{{"below", -1}, {"full", held}} {
		b.Run(c.name, func(b *testing.B) {
			m, err := New(Options{Version: "R10", MaxTokens: c.max, TokenBudget: -1, JWTSecret: []byte(fixedSecret), Start: t0})
			if err != nil {
				b.Fatal(err)
			}
			snap := m.snap.Load()
			wd, rel := snap.world, &snap.rel
			u := wd.orgs[docOrg].users[docUser]
			now := m.Now()
			issueUse := func() {
				a := m.issue(nil, u, u.defaultUnit, rel, wd, now)
				if a.err != nil {
					b.Fatal(a.err)
				}
				if r := m.checkToken(a.issued, tokens.Use); r.err != nil {
					b.Fatal(r.err)
				}
			}
			for range held {
				issueUse()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				issueUse()
			}
		})
	}
}

type failingWriter struct{ writes int }

func (w *failingWriter) Write(p []byte) (int, error) { w.writes++; return 0, errGone }

var errGone = errors.New("client gone")

// Ensure a listing (GET /__admin/tokens) whose client went away stops building tokens
// at the first failed write: 5 000 JWTs are not rebuilt and marshalled for nobody, and
// the error is returned.
func TestTokenStreamStopsWhenClientGone(t *testing.T) {
	m := newTestMock(t, "R12")
	issueN(t, m, 5000)
	var w failingWriter
	per := testutil.AllocatedBy(3, func() {
		w = failingWriter{}
		if err := m.tokens.Stream(TokenFilter{}, &w); !errors.Is(err, errGone) {
			t.Fatalf("stream: %v", err)
		}
	})
	require.Equal(t, 1, w.writes)
	full := testutil.AllocatedBy(3, func() { _ = m.tokens.Stream(TokenFilter{}, io.Discard) })
	require.Less(t, per, full/4, "the listing went on building tokens after the client was gone")
}
