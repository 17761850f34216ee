package mockserver_test

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/crmmock/crmmock/mockserver"
)

// A Go suite's view of the lint: a client that keeps presenting a token after it was
// told TOKEN_EXPIRED (a retry loop instead of a new login) fails at warning or worse.
func ExampleMock_Lint() {
	srv, err := mockserver.NewServer(mockserver.Options{Version: "R10", Start: time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	resp, err := http.Post(srv.APIURL("authentication/token"), "application/json",
		strings.NewReader(`{"username":"mpadministrator","password":"1234","organisation":"CRMDEMO"}`))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	token := srv.Tokens()[0].Token
	_, _ = srv.Advance(time.Hour) // F6: one idle hour
	for range 2 {                 // told TOKEN_EXPIRED, then tries again
		resp, err := http.Get(srv.APIURL("contact_information/show") + "?token=" + token)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
	}
	rep := srv.Lint()
	for _, f := range rep.Findings {
		fmt.Println(f.Severity, f.Rule, f.Count)
	}
	fmt.Println("fails at warning:", rep.Fails(mockserver.LintWarning))
	// Output:
	// error expired-token-reused 1
	// fails at warning: true
}
