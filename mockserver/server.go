package mockserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is a Mock listening on a loopback port, for Go suites: httptest.Server's
// lifecycle (URL, Client, Close) with the Mock's controls (Advance, SetVersion, Tokens,
// Journal, …) on the same value. It does not use net/http/httptest, so a program that
// starts one does not link the testing packages.
type Server struct {
	*Mock

	// URL is the server's root, http://127.0.0.1:PORT, without a trailing slash.
	URL string

	ln        net.Listener
	srv       *http.Server
	client    *http.Client
	closeOnce sync.Once
	grace     time.Duration // how long Close waits for requests in flight (closeGrace)
}

// closeGrace is how long Server.Close waits for requests in flight before it closes
// their connections: the binary's shutdown grace. A request whose body never ends (a
// client stalled mid-body, its connection left open) would otherwise hold Close, and
// the test that deferred it, forever.
const closeGrace = 10 * time.Second

// NewServer starts a Mock on 127.0.0.1 with a free port. Close it when done.
func NewServer(opts Options) (*Server, error) {
	m, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("crmmock: listen on a loopback port: %w", err)
	}
	s := &Server{
		Mock:   m,
		URL:    "http://" + ln.Addr().String(),
		ln:     ln,
		srv:    &http.Server{Handler: m},
		client: &http.Client{Transport: &http.Transport{}},
		grace:  closeGrace,
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// TB is the part of testing.TB that Start uses (a *testing.T or *testing.B is one).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Start is NewServer for a test: it fails tb on bad options and closes the server
// when the test ends.
func Start(tb TB, opts Options) *Server {
	tb.Helper()
	s, err := NewServer(opts)
	if err != nil {
		tb.Fatalf("crmmock: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Addr is the address the server listens on (127.0.0.1:PORT).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Client is an HTTP client for the server; Close closes its idle connections.
func (s *Server) Client() *http.Client { return s.client }

// Close shuts the server down (as httptest.Server.Close: it waits for requests in
// flight, here for at most 10 s, then closes their connections) and drops the
// mock's sandboxes. It closes the Mock first, so a request held by a delay fault is
// answered at once instead of keeping Close waiting. Calling it again does nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.Mock.Close()
		ctx, cancel := context.WithTimeout(context.Background(), s.grace)
		defer cancel()
		if s.srv.Shutdown(ctx) != nil { // stops listening, waits for requests in flight
			_ = s.srv.Close() // one outlasted the grace (a body still arriving): cut it off
		}
		s.client.CloseIdleConnections()
		s.Mock.DeleteSandboxes()
	})
}

// APIURL is the full URL of a Web API method, e.g. s.APIURL("authentication/token").
func (s *Server) APIURL(method string) string {
	return s.URL + s.BasePath() + "/" + method
}

// Handler is the Mock as an http.Handler (for wrapping in a custom server).
func (s *Server) Handler() http.Handler { return s.Mock }
