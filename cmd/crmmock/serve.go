package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/crmmock/crmmock/mockserver"
)

// serveConfig is the serve command's flags (each also CRMMOCK_<NAME>; the flag wins).
type serveConfig struct {
	addr, version, scenario, clock, start, basePath, errorStatus, adminToken, jwtSecret, logLevel string
	bodyLimit                                                                                     int64
	keepDead                                                                                      int
}

func (c *serveConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address; port 0 picks a free port")
	fs.StringVar(&c.version, "version", "", "CRM.COM release to emulate: pre-R10, R9, R10, R11, R12, R10.0.0 … (default R12, or the scenario's version)")
	fs.StringVar(&c.scenario, "scenario", "", "fixtures file (YAML or JSON); default: the built-in scenarios/default.yaml")
	fs.StringVar(&c.clock, "clock", "fake", "fake: time moves only through the control API; real: wall clock")
	fs.StringVar(&c.start, "start", "", "fake clock start, RFC 3339 (default: the scenario's clock.start, else now)")
	fs.StringVar(&c.basePath, "base-path", "/crmapi/rest/v2", "prefix of the Web API")
	fs.StringVar(&c.errorStatus, "error-status", "200", "200: API errors answer HTTP 200 with a non-OK status.code; mapped: 4xx/5xx")
	fs.StringVar(&c.adminToken, "admin-token", "", "when set, the control API needs Authorization: Bearer <token>")
	fs.StringVar(&c.jwtSecret, "jwt-secret", "", "HS256 secret for R12+ tokens (default: random per start)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.Int64Var(&c.bodyLimit, "body-limit", mockserver.DefaultBodyLimit, "largest request body in bytes")
	fs.IntVar(&c.keepDead, "keep-dead", mockserver.DefaultKeepDead, "dead (expired or released) tokens kept for the control API and the lint; older ones are dropped and counted (live tokens are always kept)")
}

// parseFlags reads flags over CRMMOCK_* environment variables.
func parseFlags(name string, args []string, stderr io.Writer, bind func(*flag.FlagSet)) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet("crmmock "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	bind(fs)
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		env := "CRMMOCK_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", env, v, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return fs, nil
}

// options turns the flags into mockserver options; errors name the flag.
func (c *serveConfig) options(logger *slog.Logger) (mockserver.Options, error) {
	o := mockserver.Options{Version: c.version, BasePath: c.basePath, AdminToken: c.adminToken, Logger: logger, BodyLimit: c.bodyLimit}
	if c.version != "" {
		if _, err := mockserver.ParseRelease(c.version); err != nil {
			return o, fmt.Errorf("--version: %v", err)
		}
	}
	if c.scenario != "" {
		data, err := os.ReadFile(c.scenario)
		if err != nil {
			return o, fmt.Errorf("--scenario: %v", err)
		}
		if o.Scenario, err = mockserver.ParseScenario(data); err != nil {
			return o, fmt.Errorf("--scenario %s: %v", c.scenario, err)
		}
	}
	switch c.clock {
	case "fake":
	case "real":
		o.RealClock = true
	default:
		return o, fmt.Errorf("--clock: %q: want fake or real", c.clock)
	}
	if c.start != "" {
		t, err := time.Parse(time.RFC3339, c.start)
		if err != nil {
			return o, fmt.Errorf("--start: %q is not RFC 3339 (e.g. 2024-01-01T09:00:00Z)", c.start)
		}
		o.Start = t
	}
	switch c.errorStatus {
	case "200":
	case "mapped":
		o.MappedErrors = true
	default:
		return o, fmt.Errorf("--error-status: %q: want 200 or mapped", c.errorStatus)
	}
	if c.bodyLimit <= 0 {
		return o, fmt.Errorf("--body-limit: %d: want a positive number of bytes", c.bodyLimit)
	}
	switch {
	case c.keepDead < 0:
		return o, fmt.Errorf("--keep-dead: %d: want 0 or more tokens", c.keepDead)
	case c.keepDead == 0:
		o.KeepDead = -1 // keep none
	default:
		o.KeepDead = c.keepDead
	}
	if c.jwtSecret != "" {
		o.JWTSecret = []byte(c.jwtSecret)
	}
	if !strings.HasPrefix(c.basePath, "/") {
		return o, fmt.Errorf("--base-path: %q must start with /", c.basePath)
	}
	return o, nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c serveConfig
	if _, err := parseFlags("serve", args, stderr, c.flags); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "crmmock: %v\n", err)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		fmt.Fprintf(stderr, "crmmock: --log-level: %q: want debug, info, warn or error\n", c.logLevel)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	opts, err := c.options(logger)
	if err != nil {
		fmt.Fprintf(stderr, "crmmock: %v\n", err)
		return 2
	}
	m, err := mockserver.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "crmmock: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		fmt.Fprintf(stderr, "crmmock: --addr: %v\n", err)
		return 2
	}
	srv := mockserver.NewHTTPServer(m, logger)
	fmt.Fprintf(stdout, "crmmock listening on http://%s\n", ln.Addr())
	rel := m.Version()
	logger.Info("serving", "version", rel.Name, "profile", rel.Profile.Name, "base_path", m.BasePath(), "clock", c.clock, "now", m.Now().Format(time.RFC3339))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		logger.Error("server stopped", "err", err)
		return 1
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}
