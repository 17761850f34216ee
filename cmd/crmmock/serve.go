package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmmock/crmmock/mockserver"
)

// serveConfig is the serve command's flags (each also CRMMOCK_<NAME>; the flag wins).
type serveConfig struct {
	addr, version, scenario, clock, start, basePath, errorStatus, adminToken, jwtSecret, logLevel string
	lintReport                                                                                    string
	bodyLimit, journalBudget                                                                      int64
	maxSandboxes                                                                                  int
	sandboxTTL                                                                                    time.Duration
	keepDead, maxTokens, tokenBudget                                                              int

	flagSources // which flags came from the environment
}

func init() {
	register(&command{name: "serve", flags: new(serveConfig).flags, run: serve})
}

func (c *serveConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address; port 0 picks a free port")
	releaseFlag(fs, &c.version, "CRM.COM release to emulate: R4 to R18 as R<n>, R<n>.<m> or R<n>.<m>.<p> (R16.2 = R16.2.0; later ones as R18), pre-R10 = R9 (default R12, or the scenario's version); --version VALUE and CRMMOCK_VERSION work too")
	fs.StringVar(&c.scenario, "scenario", "", "fixtures file (YAML or JSON, at most 1 MiB); default: the built-in scenarios/default.yaml")
	fs.StringVar(&c.clock, "clock", "fake", "fake: time moves only through the control API; real: wall clock")
	fs.StringVar(&c.start, "start", "", "fake clock start, RFC 3339 (default: the scenario's clock.start, else now)")
	fs.StringVar(&c.basePath, "base-path", "/crmapi/rest/v2", "prefix of the Web API")
	fs.StringVar(&c.errorStatus, "error-status", "200", "200: API errors answer HTTP 200 with a non-OK status.code; mapped: 4xx/5xx")
	fs.StringVar(&c.adminToken, "admin-token", "", "when set, the control API needs Authorization: Bearer <token> (GET /__admin/health stays open)")
	fs.StringVar(&c.jwtSecret, "jwt-secret", "", "HS256 secret for R12+ tokens (default: random per start)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.lintReport, "lint-report", "", "write the client-lint report as JSON to this file at shutdown")
	fs.Int64Var(&c.bodyLimit, "body-limit", mockserver.DefaultBodyLimit, "largest Web API request body in bytes")
	fs.IntVar(&c.maxSandboxes, "max-sandboxes", mockserver.DefaultMaxSandboxes, "most sandboxes alive at once (POST /__admin/sandboxes answers 429 beyond); 0: none")
	fs.DurationVar(&c.sandboxTTL, "sandbox-ttl", mockserver.DefaultSandboxTTL, "drop a sandbox after this much wall time without a request; 0: never")
	fs.IntVar(&c.keepDead, "keep-dead", mockserver.DefaultKeepDead, "dead (expired or released) tokens kept for the control API and the lint; older ones are dropped and counted (live tokens are always kept)")
	fs.IntVar(&c.maxTokens, "max-tokens", mockserver.DefaultMaxTokens, "most tokens one mock (the root, each sandbox) holds; past it an issue evicts its least recently used token; 0: no bound")
	fs.Int64Var(&c.journalBudget, "journal-budget", mockserver.DefaultJournalBudget, "bytes the request journals of the root and all sandboxes hold together (an estimate); past it a journal drops its oldest entries, and a full budget refuses new sandboxes (429); 0: no budget")
	fs.IntVar(&c.tokenBudget, "token-budget", mockserver.DefaultTokenBudget, "most tokens the root and all sandboxes hold together; past it the issuing mock evicts one of its own; 0: no budget")
}

// envName is the environment variable of a flag: CRMMOCK_<NAME>.
func envName(flagName string) string {
	return "CRMMOCK_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseEnvFlags parses the command line, refusing stray arguments, then sets each flag
// the command line left unset from its CRMMOCK_<NAME> variable (the flag wins). It
// returns which flags came from which variable, so later errors can name it.
func parseEnvFlags(fs *flag.FlagSet, args []string) (flagSources, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := strayArgs(fs.Args()); err != nil {
		return nil, err
	}
	from, err := aliasesGiven(fs)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[canonical(f.Name)] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) { // in name order: CRMMOCK_RELEASE before CRMMOCK_VERSION
		name := canonical(f.Name)
		if set[name] || envErr != nil {
			return
		}
		env := envName(f.Name)
		if v, ok := os.LookupEnv(env); ok {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", env, v, err)
				return
			}
			from[name], set[name] = env, true
		}
	})
	return from, envErr
}

// flagSources maps a flag's name to where its value came from when that is not
// --name: its environment variable, or the alias it was given as.
type flagSources map[string]string

// src names where a flag's value came from: its environment variable or alias, else --flag.
func (f flagSources) src(flagName string) string {
	if from, ok := f[flagName]; ok {
		return from
	}
	return "--" + flagName
}

// options turns the flags into mockserver options; errors name the flag.
func (c *serveConfig) options(logger *slog.Logger) (mockserver.Options, error) {
	o := mockserver.Options{Version: c.version, BasePath: c.basePath, AdminToken: c.adminToken, Logger: logger, BodyLimit: c.bodyLimit}
	if c.version != "" {
		if _, err := mockserver.ParseRelease(c.version); err != nil {
			return o, fmt.Errorf("%s: %v", c.src("release"), err)
		}
	}
	if c.scenario != "" {
		data, err := os.ReadFile(c.scenario)
		if err != nil {
			return o, fmt.Errorf("%s: %v", c.src("scenario"), err)
		}
		if o.Scenario, err = mockserver.ParseScenarioEnv(data, os.LookupEnv); err != nil {
			return o, fmt.Errorf("%s %s: %v", c.src("scenario"), c.scenario, err)
		}
	}
	switch c.clock {
	case "fake":
	case "real":
		o.RealClock = true
	default:
		return o, fmt.Errorf("%s: %q: want fake or real", c.src("clock"), c.clock)
	}
	if c.start != "" {
		t, err := time.Parse(time.RFC3339, c.start)
		if err != nil {
			return o, fmt.Errorf("%s: %q is not RFC 3339 (e.g. 2024-01-01T09:00:00Z)", c.src("start"), c.start)
		}
		o.Start = t
	}
	switch c.errorStatus {
	case "200":
	case "mapped":
		o.MappedErrors = true
	default:
		return o, fmt.Errorf("%s: %q: want 200 or mapped", c.src("error-status"), c.errorStatus)
	}
	if c.bodyLimit <= 0 {
		return o, fmt.Errorf("%s: %d: want a positive number of bytes", c.src("body-limit"), c.bodyLimit)
	}
	if err := c.bounds(&o); err != nil {
		return o, err
	}
	if c.jwtSecret != "" {
		o.JWTSecret = []byte(c.jwtSecret)
	}
	if !strings.HasPrefix(c.basePath, "/") {
		return o, fmt.Errorf("%s: %q must start with /", c.src("base-path"), c.basePath)
	}
	return o, nil
}

// bounds sets o's bounds from their flags: dead tokens kept, tokens, token budget,
// journal budget, sandboxes and their TTL. A flag's 0 means none (or no bound), which
// Options spells -1; a negative flag is an error naming it.
func (c *serveConfig) bounds(o *mockserver.Options) error {
	for _, err := range []error{ // the first bad flag is the one-line error
		bound(c, "keep-dead", c.keepDead, &o.KeepDead, ": want 0 or more tokens"),
		bound(c, "max-tokens", c.maxTokens, &o.MaxTokens, " is negative (0: no bound)"),
		bound(c, "token-budget", c.tokenBudget, &o.TokenBudget, " is negative (0: no bound)"),
		bound(c, "journal-budget", c.journalBudget, &o.JournalBudget, " is negative (0: no budget)"),
		bound(c, "max-sandboxes", c.maxSandboxes, &o.MaxSandboxes, " is negative (0: no sandboxes)"),
		bound(c, "sandbox-ttl", c.sandboxTTL, &o.SandboxTTL, " is negative (0: never)"),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// bound sets *opt from a flag's value v: 0 becomes -1 (none), a positive value stays,
// a negative one is an error naming the flag (or its CRMMOCK_ variable), the value and
// then negative.
func bound[T int | int64 | time.Duration](c *serveConfig, name string, v T, opt *T, negative string) error {
	switch {
	case v < 0:
		return fmt.Errorf("%s: %v%s", c.src(name), v, negative)
	case v == 0:
		*opt = -1
	default:
		*opt = v
	}
	return nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	mockserver.PreloadContract() // the contract is built on the other core while flags, scenario and socket are set up
	var c serveConfig
	var err error
	if c.flagSources, err = parseEnvFlags(newFlagSet("serve", c.flags), args); err != nil {
		return usageError(stderr, "serve", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		fmt.Fprintf(stderr, "crmmock: %s: %q: want debug, info, warn or error\n", c.src("log-level"), c.logLevel)
		return 2
	}
	logOut := newLogWriter(stderr)
	defer logOut.Close() // every line is out before serve returns
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
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
	if c.lintReport != "" {
		if st, err := os.Stat(filepath.Dir(c.lintReport)); err != nil || !st.IsDir() {
			fmt.Fprintf(stderr, "crmmock: %s: %s: no such directory\n", c.src("lint-report"), filepath.Dir(c.lintReport))
			return 2
		}
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		fmt.Fprintf(stderr, "crmmock: %s: %v\n", c.src("addr"), err)
		return 2
	}
	srv := mockserver.NewHTTPServer(m, logger)
	fmt.Fprintf(stdout, "crmmock listening on http://%s\n", listenURLHost(c.addr, ln.Addr()))
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
	return shutdown(m, srv, logger, c.lintReport)
}

// shutdown stops a server once asked to: requests held by faults answered at once, the
// others given shutdownGrace; then the lint report, if asked for, is written.
func shutdown(m *mockserver.Mock, srv *http.Server, logger *slog.Logger, lintReport string) int {
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	code := 0
	m.Close()                                  // requests held by delay faults are answered now, not after the grace
	if err := srv.Shutdown(sctx); err != nil { // a request outlasted the grace (e.g. a body still arriving)
		logger.Error("shutdown", "err", err)
		code = 1
	}
	if lintReport != "" { // written either way: the journal so far is the run's evidence
		if err := writeLintReport(lintReport, m.Lint()); err != nil {
			logger.Error("lint report", "err", err)
			return 1
		}
		logger.Info("lint report written", "file", lintReport)
	}
	return code
}

// shutdownGrace is how long a shutdown waits for requests in flight (tests shorten it).
var shutdownGrace = 10 * time.Second

// writeLintReport writes the report as JSON (serve --lint-report), whole or not at all.
func writeLintReport(path string, r mockserver.LintReport) error {
	body, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(body, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// listenURLHost is HOST:PORT for the listening line: the host as --addr asked for it
// (0.0.0.0 stays 0.0.0.0, not the [::] the listener reports) and the real port (for :0).
func listenURLHost(asked string, got net.Addr) string {
	host, _, err := net.SplitHostPort(asked)
	_, port, err2 := net.SplitHostPort(got.String())
	if err != nil || err2 != nil || host == "" {
		return got.String()
	}
	return net.JoinHostPort(host, port)
}
