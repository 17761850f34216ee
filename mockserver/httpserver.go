package mockserver

import (
	"log/slog"
	"net/http"
	"time"
)

// The limits of NewHTTPServer: a slow or hostile client cannot hold the server.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	// DefaultMaxHeaderBytes caps the request line and headers (net/http answers 431
	// above it, plus its own 4 KiB of slack).
	DefaultMaxHeaderBytes = 64 << 10
)

// NewHTTPServer wraps h (usually a *Mock) in the http.Server the crmmock command
// serves with: read-header, read, write and idle timeouts and a header size cap.
// net/http's own errors go to logger at warn level (nil: discarded). The fields may
// be changed before the server starts.
func NewHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		ReadTimeout:       DefaultReadTimeout,
		WriteTimeout:      DefaultWriteTimeout,
		IdleTimeout:       DefaultIdleTimeout,
		MaxHeaderBytes:    DefaultMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
