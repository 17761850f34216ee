package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/crmmock/crmmock/internal/probe"
)

// headerList is a repeatable --header 'K: V'.
type headerList []string

func (h *headerList) String() string { return strings.Join(*h, ", ") }
func (h *headerList) Set(v string) error {
	k, _, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("%q: want 'Name: value'", v)
	}
	*h = append(*h, v)
	return nil
}

// targetFlags are the flags probe and verify share (docs/probe.md): the target, how to reach it, the credentials and the plan's bounds.
type targetFlags struct {
	target, caCert, method string
	headers                headerList
	creds                  probe.Credentials
	maxRequests            int
	rate                   float64
	noLockoutRisk          bool
}

func (t *targetFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&t.target, "target", "", "the installation's Web API root (https://host/crmapi/rest/v2), a crmmock's root or a sandbox's base_url (required)")
	bindCredentials(fs, &t.creds, "")
	fs.StringVar(&t.method, "method", "", "a read-only GET method to try tokens on, as GET:resource/action")
	fs.StringVar(&t.caCert, "ca-cert", "", "PEM file of the CA that signed the target's certificate")
	fs.Var(&t.headers, "header", "'Name: value' sent with every request (repeatable; e.g. a gateway's key)")
	fs.IntVar(&t.maxRequests, "max-requests", probe.DefaultMaxRequests, "send at most this many requests")
	fs.Float64Var(&t.rate, "rate", probe.DefaultRate, "send at most this many requests per second")
	fs.BoolVar(&t.noLockoutRisk, "no-lockout-risk", false, "skip the one wrong-password login (its class is then assumed)")
}

var methodFlag = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:GET:)?([a-z][a-z0-9_]*(?:/[a-z][a-z0-9_]*)+)$`) })

// config checks the flags and turns them into a probe configuration; errors are usage
// errors naming the flag.
func (t *targetFlags) config(dryRun bool) (probe.Config, error) {
	c := &t.creds
	fillFromEnv(c)
	cfg := probe.Config{Creds: *c, MaxRequests: t.maxRequests, Rate: t.rate, NoLockoutRisk: t.noLockoutRisk}
	switch {
	case t.target == "" && !dryRun:
		return cfg, errors.New("--target is required: the installation's Web API root, e.g. https://crm.example.com/crmapi/rest/v2")
	case t.target != "":
		u, err := probe.TargetURL(t.target)
		if err != nil {
			return cfg, fmt.Errorf("--target: %v", err)
		}
		cfg.Target = u
	}
	user := c.User != "" || c.Password != "" || c.Organisation != ""
	if user && !c.HasUser() {
		return cfg, errors.New("a user login needs --user, --password and --organisation (or CRM_USERNAME, CRM_PASSWORD, CRM_ORGANISATION)")
	}
	if !user && c.Key == "" && !dryRun { // a dry run shows every step with its condition
		return cfg, errors.New("no credentials: give --user, --password, --organisation and/or --key (or the CRM_* variables)")
	}
	if t.method != "" {
		m, err := methodOf(t.method)
		if err != nil {
			return cfg, err
		}
		cfg.Method = m
	}
	if t.maxRequests < 1 {
		return cfg, fmt.Errorf("--max-requests %d: want 1 or more", t.maxRequests)
	}
	if t.rate <= 0 {
		return cfg, fmt.Errorf("--rate %g: want more than 0 requests per second", t.rate)
	}
	client, err := t.client()
	if err != nil {
		return cfg, err
	}
	cfg.Client = client
	cfg.Header = http.Header{}
	for _, h := range t.headers {
		k, v, _ := strings.Cut(h, ":")
		cfg.Header.Add(textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k)), strings.TrimSpace(v))
	}
	return cfg, nil
}

// methodOf is the resource/action a --method value names: a GET method, not one of
// authentication's.
func methodOf(method string) (string, error) {
	m := methodFlag().FindStringSubmatch(method)
	switch {
	case strings.HasPrefix(method, "POST:"):
		return "", fmt.Errorf("--method %q: only GET methods are tried (a probe changes nothing)", method)
	case m == nil:
		return "", fmt.Errorf("--method %q: want GET:resource/action, e.g. GET:contact_information/show", method)
	case strings.HasPrefix(m[1], "authentication/"):
		return "", fmt.Errorf("--method %q: authentication methods are already in the plan", method)
	}
	return m[1], nil
}

// client is the probe's HTTP client: --ca-cert's roots if given, redirects not followed.
func (t *targetFlags) client() (*http.Client, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if t.caCert != "" {
		pem, err := os.ReadFile(t.caCert)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-cert %s: no PEM certificate in it", t.caCert)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: transport, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

type probeFlags struct {
	targetFlags
	out             string
	dryRun          bool
	includeFixtures bool
}

func (p *probeFlags) flags(fs *flag.FlagSet) {
	p.bind(fs)
	fs.StringVar(&p.out, "out", "", "write the scenario to this file (default: stdout)")
	fs.BoolVar(&p.dryRun, "dry-run", false, "print the plan and send nothing")
	fs.BoolVar(&p.includeFixtures, "include-fixtures", false, "write --method's data as answered (default: only its shape)")
}

type verifyFlags struct {
	targetFlags
	scenario, format string
}

func (v *verifyFlags) flags(fs *flag.FlagSet) {
	v.bind(fs)
	fs.StringVar(&v.scenario, "scenario", "", "the scenario to load into the mock, e.g. one crmmock probe wrote (required)")
	fs.StringVar(&v.format, "format", "text", "report format: text or json")
}

func init() {
	register(&command{name: "probe", flags: new(probeFlags).flags, run: probeCommand})
	register(&command{name: "verify", flags: new(verifyFlags).flags, run: verifyCommand})
}

// probeCommand is `crmmock probe`: it learns how an installation answers and writes a
// scenario that makes the mock answer alike. Exit 0; 1 when the target is unreachable
// or not a CRM.COM Web API; 2 on bad usage.
func probeCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var p probeFlags
	fs := newFlagSet("probe", p.flags)
	if err := fs.Parse(args); err != nil {
		return usageError(stderr, "probe", err)
	}
	if err := strayArgs(fs.Args()); err != nil {
		return usageError(stderr, "probe", err)
	}
	cfg, err := p.config(p.dryRun)
	if err != nil {
		return usageError(stderr, "probe", err)
	}
	cfg.IncludeFixtures = p.includeFixtures
	if p.dryRun {
		target := cfg.Target
		if target == "" {
			target = "the target"
		}
		probe.WritePlan(stdout, cfg, target)
		return 0
	}
	res, err := probe.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "crmmock probe: %v\n", err)
		return 1
	}
	l := probe.Learn(res, cfg)
	probe.Report(stderr, res, l)
	if p.out != "" {
		if err := os.WriteFile(p.out, l.Scenario, 0o600); err != nil {
			fmt.Fprintf(stderr, "crmmock probe: --out: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "scenario written to %s\n", p.out)
		return 0
	}
	_, _ = stdout.Write(l.Scenario)
	return 0
}

// verifyCommand is `crmmock verify`: the probe's plan against the target and against an
// in-process mock loaded with --scenario; one line per difference. Exit 0: none; 1:
// some, or the target is unreachable; 2: bad usage or scenario.
func verifyCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var v verifyFlags
	fs := newFlagSet("verify", v.flags)
	if err := fs.Parse(args); err != nil {
		return usageError(stderr, "verify", err)
	}
	if err := strayArgs(fs.Args()); err != nil {
		return usageError(stderr, "verify", err)
	}
	cfg, err := v.config(false)
	if err != nil {
		return usageError(stderr, "verify", err)
	}
	write := map[string]func(io.Writer, *probe.Verification) error{"text": probe.WriteText, "json": probe.WriteJSON}[v.format]
	if write == nil {
		return usageError(stderr, "verify", fmt.Errorf("--format %q: want text or json", v.format))
	}
	if v.scenario == "" {
		return usageError(stderr, "verify", errors.New("--scenario is required: the scenario to compare the target with (crmmock probe writes one)"))
	}
	data, err := os.ReadFile(v.scenario)
	if err != nil {
		return usageError(stderr, "verify", fmt.Errorf("--scenario: %v", err))
	}
	sc, err := probe.LoadScenario(data, cfg.Creds)
	if err != nil {
		return usageError(stderr, "verify", fmt.Errorf("--scenario %s: %v", v.scenario, err))
	}
	res, err := probe.Verify(ctx, cfg, sc)
	if err != nil {
		fmt.Fprintf(stderr, "crmmock verify: %v\n", err)
		return 1
	}
	if err := write(stdout, res); err != nil {
		fmt.Fprintf(stderr, "crmmock verify: %v\n", err)
		return 1
	}
	if len(res.Differences) > 0 {
		return 1
	}
	return 0
}
