package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/crmmock/crmmock/testdata/standin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure a target that does not answer like a CRM.COM Web API stops the run at its
// first request with one clear line.
func TestRunRefusesNonCRM(t *testing.T) {
	notFound := httptest.NewServer(nil) // net/http's plain 404
	defer notFound.Close()
	html := httptest.NewServer(httpHandler(`<html><body>Welcome</body></html>`))
	defer html.Close()
	closed := httptest.NewServer(nil)
	closed.Close()
	for url, want := range map[string]string{
		notFound.URL: `answered HTTP 404 text/plain "404 page not found", not the JSON envelope`,
		html.URL:     `answered HTTP 200 text/html "<html><body>Welcome</body></html>", not the JSON envelope`,
		closed.URL:   "cannot reach " + closed.URL + "/crmapi/rest/v2",
	} {
		u, _ := TargetURL(url)
		res, err := Run(context.Background(), Config{Target: u, Creds: docCreds, Rate: -1})
		require.Error(t, err)
		assert.Contains(t, err.Error(), want)
		assert.NotContains(t, err.Error(), "\n")
		assert.Equal(t, 1, res.Requests)
	}
}

type httpHandler string

func (h httpHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(h))
}

// BenchmarkProbeStandin is the plan against the stand-in on loopback without a rate
// bound: the probe's own cost. At the default --rate 5 a run of n requests takes
// (n-1)/5 s more (21 requests with --method: 4 s).
func BenchmarkProbeStandin(b *testing.B) {
	ts := httptest.NewServer(standin.New(nil))
	defer ts.Close()
	cfg := Config{Target: ts.URL + standin.BasePath, Creds: standinCreds, Method: "contact_information/show", Rate: -1}
	for b.Loop() {
		res, err := Run(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		_ = Learn(res, cfg)
	}
}
