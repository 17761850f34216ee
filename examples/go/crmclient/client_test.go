package crmclient_test

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/crmmock/crmmock/examples/go/crmclient"
	"github.com/crmmock/crmmock/mockserver"
)

// Ensure the client logs in again after R10's idle hour (F6), once, and that the
// mock's client lint finds nothing wrong with its token handling.
func TestReloginAfterIdleExpiry(t *testing.T) {
	ctx := context.Background()
	s := mockserver.Start(t, mockserver.Options{Version: "R10", Start: time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)})
	c := &crmclient.Client{APIURL: s.URL + s.BasePath(), Username: "mpadministrator", Password: "1234", Organisation: "CRMDEMO", HTTP: s.Client()}

	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	first := c.Token
	show := url.Values{"number": {"CI000111"}}
	if err := c.Get(ctx, "contact_information/show", show, nil); err != nil {
		t.Fatal(err)
	}

	// F6: one hour of idle time. 61 minutes later the token is dead: the server answers
	// TOKEN_EXPIRED and the client recovers with exactly one new login.
	if _, err := s.Advance(61 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "contact_information/show", show, nil); err != nil {
		t.Fatal(err)
	}
	if c.Expired != 1 || c.Token == first {
		t.Fatalf("expired %d times, token renewed: %v; want once, true", c.Expired, c.Token != first)
	}
	var codes []string
	for _, e := range s.Journal() {
		codes = append(codes, e.Code)
	}
	if got, want := codes, []string{"OK", "OK", "TOKEN_EXPIRED", "OK", "OK"}; !slices.Equal(got, want) {
		t.Fatalf("journal codes %v, want %v", got, want)
	}
	if err := c.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if tok, _ := s.Token(first); tok.State != mockserver.StateExpired {
		t.Errorf("first token %s, want expired", tok.State)
	}

	// The mock's client lint: nothing wrong with this token handling.
	if report := s.Lint(); report.Summary["error"] != 0 {
		t.Errorf("lint errors: %+v", report.Findings)
	}
}
