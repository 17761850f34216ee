// Package mocktest holds the helpers that tests outside mockserver share to stand up a
// mock (mockserver's own tests cannot import it: it imports mockserver). Only _test.go
// files import it, so no binary links it.
package mocktest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmmock/crmmock/mockserver"
)

// WebAPIOnly serves a mock of the release version with its Web API but no control API:
// a stand-in for a real installation. The server closes when t ends.
func WebAPIOnly(t testing.TB, version string) *httptest.Server {
	t.Helper()
	m, err := mockserver.New(mockserver.Options{Version: version})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/__admin") {
			http.NotFound(w, r)
			return
		}
		m.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}
