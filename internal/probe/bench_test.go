package probe

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/crmmock/crmmock/testdata/standin"
)

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
