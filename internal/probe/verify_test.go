package probe

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/crmmock/crmmock/mockserver"
	"github.com/crmmock/crmmock/testdata/standin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure verify compares answers without the moments in them: an installation that
// names when a token was released (as the mock does) verifies hours after its probe.
func TestVerifyIgnoresMomentsInTexts(t *testing.T) {
	srv := mockserver.Start(t, mockserver.Options{Version: "R10"})
	u, err := TargetURL(srv.URL)
	require.NoError(t, err)
	cfg := Config{Target: u, Creds: docCreds, Method: "contact_information/show", Rate: -1}
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	l := Learn(res, cfg)
	require.Contains(t, string(l.Scenario), `description: "token: released at 2`, "the mock names the moment of release")
	_, err = srv.Advance(3*time.Hour + 17*time.Second)
	require.NoError(t, err)
	sc, err := LoadScenario(l.Scenario, docCreds)
	require.NoError(t, err)
	v, err := Verify(context.Background(), cfg, sc)
	require.NoError(t, err)
	assert.Empty(t, v.Differences)
	assert.Equal(t, "token <time> (<time>)", timeless("token 2024-01-01T09:00:00Z (2024-01-01 11:00:00.5+02:00)"))
}

// BenchmarkVerifyStandin is verify (the plan against the stand-in and an in-process
// mock, then the comparison) without a rate bound.
func BenchmarkVerifyStandin(b *testing.B) {
	ts := httptest.NewServer(standin.New(nil))
	defer ts.Close()
	cfg := Config{Target: ts.URL + standin.BasePath, Creds: standinCreds, Method: "contact_information/show", Rate: -1}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	sc, err := LoadScenario(Learn(res, cfg).Scenario, standinCreds)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		v, err := Verify(context.Background(), cfg, sc)
		if err != nil || len(v.Differences) > 0 {
			b.Fatal(err, v.Differences)
		}
	}
}
