package mockserver

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Server is a Mock listening on a loopback port, for Go suites: the httptest.Server
// lifecycle (URL, Client, Close) with the Mock's controls (Advance, SetVersion, Tokens,
// Journal, …) on the same value.
type Server struct {
	*Mock
	*httptest.Server
}

// NewServer starts a Mock on 127.0.0.1 with a free port. Close it when done.
func NewServer(opts Options) (*Server, error) {
	m, err := New(opts)
	if err != nil {
		return nil, err
	}
	return &Server{Mock: m, Server: httptest.NewServer(m)}, nil
}

// Start is NewServer for a test: it fails tb on bad options and closes the server
// when the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := NewServer(opts)
	if err != nil {
		tb.Fatalf("crmmock: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close shuts the server down (as httptest.Server.Close: it waits for requests in
// flight) and drops the mock's sandboxes. It closes the Mock first, so a request held
// by a delay fault is answered at once instead of keeping Close waiting.
func (s *Server) Close() {
	s.Mock.Close()
	s.Server.Close()
	s.Mock.DeleteSandboxes()
}

// APIURL is the full URL of a Web API method, e.g. s.APIURL("authentication/token").
func (s *Server) APIURL(method string) string {
	return s.URL + s.BasePath() + "/" + method
}

// Handler is the Mock as an http.Handler (for wrapping in a custom server).
func (s *Server) Handler() http.Handler { return s.Mock }
