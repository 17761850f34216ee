// Package crmmock starts crmmock, the mock of CRM.COM's authentication Web API, in a
// container for a test, with testcontainers-go, and drives its control API.
//
//	import crmmock "github.com/crmmock/crmmock/testcontainers"
//
//	ctr, err := crmmock.Run(ctx, "crmmock:dev", crmmock.WithRelease("R10"))
//	testcontainers.CleanupContainer(t, ctr)
//	base, _ := ctr.BaseURL(ctx) // http://HOST:PORT/crmapi/rest/v2: point the client here
//	_ = ctr.Advance(ctx, 61*time.Minute)
//	report, _ := ctr.Lint(ctx)
//
// It is a module of its own, so Docker's dependencies stay out of crmmock's main module.
// The image is built from the repository with `make image` (tag crmmock:dev).
package crmmock

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

const (
	// Port is the container port crmmock listens on (the image's CRMMOCK_ADDR).
	Port = "8080/tcp"
	// BasePath is the Web API's prefix (the mock's default --base-path).
	BasePath = "/crmapi/rest/v2"
	// scenarioPath is where WithScenario and WithScenarioFile put the fixtures (the
	// image's /scenarios folder: a scratch image has no /tmp).
	scenarioPath = "/scenarios/testcontainers.yaml"
)

// Container is a running crmmock container.
type Container struct {
	testcontainers.Container
	adminToken string
}

// options are the crmmock settings of Run, turned into serve flags.
type options struct {
	release, start, adminToken string
	scenario                   *testcontainers.ContainerFile
}

// Option is a crmmock setting for Run. Run also takes any testcontainers-go
// customizer (testcontainers.WithEnv, WithCmdArgs, …), applied after these.
type Option func(*options) error

// Customize does nothing: Run reads an Option before building the request.
func (Option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

// WithRelease sets the CRM.COM release to emulate (R10, R12, pre-R10, R16.2, …).
func WithRelease(release string) Option {
	return func(o *options) error { o.release = release; return nil }
}

// WithClockStart starts the mock's fake clock at t (whole seconds, UTC).
func WithClockStart(t time.Time) Option {
	return func(o *options) error { o.start = t.UTC().Format(time.RFC3339); return nil }
}

// WithAdminToken makes the control API require `Authorization: Bearer token`; the
// Container's helpers send it.
func WithAdminToken(token string) Option {
	return func(o *options) error { o.adminToken = token; return nil }
}

// WithScenario loads the fixtures from a scenario file's text (YAML or JSON).
func WithScenario(scenario []byte) Option {
	return func(o *options) error {
		o.scenario = &testcontainers.ContainerFile{Reader: bytes.NewReader(scenario), ContainerFilePath: scenarioPath, FileMode: 0o644}
		return nil
	}
}

// WithScenarioFile loads the fixtures from a scenario file on the host.
func WithScenarioFile(path string) Option {
	return func(o *options) error {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("scenario file: %w", err)
		}
		o.scenario = &testcontainers.ContainerFile{HostFilePath: path, ContainerFilePath: scenarioPath, FileMode: 0o644}
		return nil
	}
}

// Run starts image (built with `make image`: crmmock:dev) with the given options and
// waits until GET /__admin/health answers 200 through the mapped port. The caller
// terminates the container (testcontainers.CleanupContainer(t, ctr) in a test); on an
// error after the container was created, the returned Container is not nil.
func Run(ctx context.Context, image string, opts ...testcontainers.ContainerCustomizer) (*Container, error) {
	var o options
	for _, opt := range opts {
		if opt, ok := opt.(Option); ok {
			if err := opt(&o); err != nil {
				return nil, err
			}
		}
	}
	cmd := []string{"serve"}
	if o.release != "" {
		cmd = append(cmd, "--version", o.release)
	}
	if o.start != "" {
		cmd = append(cmd, "--start", o.start)
	}
	if o.adminToken != "" {
		cmd = append(cmd, "--admin-token", o.adminToken)
	}
	all := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(Port),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/__admin/health").WithPort(Port).
			WithStartupTimeout(60 * time.Second).WithPollInterval(50 * time.Millisecond)),
	}
	if o.scenario != nil {
		cmd = append(cmd, "--scenario", scenarioPath)
		all = append(all, testcontainers.WithFiles(*o.scenario))
	}
	all = append(all, testcontainers.WithCmd(cmd...))
	all = append(all, opts...)

	ctr, err := testcontainers.Run(ctx, image, all...)
	var c *Container
	if ctr != nil {
		c = &Container{Container: ctr, adminToken: o.adminToken}
	}
	if err != nil {
		return c, fmt.Errorf("run crmmock: %w", err)
	}
	return c, nil
}

// URL is the mock's root on the host, http://HOST:PORT.
func (c *Container) URL(ctx context.Context) (string, error) {
	return c.PortEndpoint(ctx, Port, "http")
}

// BaseURL is the Web API's base on the host, http://HOST:PORT/crmapi/rest/v2.
func (c *Container) BaseURL(ctx context.Context) (string, error) {
	url, err := c.URL(ctx)
	return url + BasePath, err
}

// AdminURL is the control API's root on the host, http://HOST:PORT/__admin.
func (c *Container) AdminURL(ctx context.Context) (string, error) {
	url, err := c.URL(ctx)
	return url + "/__admin", err
}

func (c *Container) admin(ctx context.Context) (admin, error) {
	url, err := c.AdminURL(ctx)
	return admin{url: url, token: c.adminToken}, err
}

// Advance moves the mock's fake clock forward by d.
func (c *Container) Advance(ctx context.Context, d time.Duration) error {
	a, err := c.admin(ctx)
	if err != nil {
		return err
	}
	return a.advance(ctx, d)
}

// Now is the mock's clock.
func (c *Container) Now(ctx context.Context) (time.Time, error) {
	a, err := c.admin(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return a.now(ctx)
}

// Lint is the mock's client lint report since the last reset (GET /__admin/lint).
func (c *Container) Lint(ctx context.Context) (*LintReport, error) {
	a, err := c.admin(ctx)
	if err != nil {
		return nil, err
	}
	return a.lint(ctx)
}

// Reset drops tokens, journal and faults and puts the clock and the release back to
// their start (POST /__admin/reset); fixtures and sandboxes stay.
func (c *Container) Reset(ctx context.Context) error {
	a, err := c.admin(ctx)
	if err != nil {
		return err
	}
	return a.call(ctx, http.MethodPost, "/reset", nil, nil)
}

// SandboxOptions are a new sandbox's settings; each empty one takes the mock's start-up
// value.
type SandboxOptions struct {
	Release  string
	Start    time.Time
	Scenario string // a scenario file's text (YAML or JSON)
}

// Sandbox is an isolated mock inside the container, with its own clock, release,
// fixtures, tokens, journal and lint, served under /sandboxes/{id}/ on the same port.
type Sandbox struct {
	ID       string `json:"id"`
	BaseURL  string `json:"base_url"`  // the sandbox's Web API base: point a client here
	AdminURL string `json:"admin_url"` // the sandbox's control API
	Release  string `json:"version"`
	token    string
}

// NewSandbox creates a sandbox (POST /__admin/sandboxes).
func (c *Container) NewSandbox(ctx context.Context, so SandboxOptions) (*Sandbox, error) {
	a, err := c.admin(ctx)
	if err != nil {
		return nil, err
	}
	body := map[string]string{}
	if so.Release != "" {
		body["version"] = so.Release
	}
	if !so.Start.IsZero() {
		body["start"] = so.Start.UTC().Format(time.RFC3339)
	}
	if so.Scenario != "" {
		body["scenario"] = so.Scenario
	}
	sb := &Sandbox{token: c.adminToken}
	if err := a.call(ctx, http.MethodPost, "/sandboxes", body, sb); err != nil {
		return nil, err
	}
	return sb, nil
}

func (s *Sandbox) admin() admin { return admin{url: s.AdminURL, token: s.token} }

// Advance moves the sandbox's clock forward by d (the others' stay).
func (s *Sandbox) Advance(ctx context.Context, d time.Duration) error {
	return s.admin().advance(ctx, d)
}

// Now is the sandbox's clock.
func (s *Sandbox) Now(ctx context.Context) (time.Time, error) { return s.admin().now(ctx) }

// Lint is the sandbox's client lint report.
func (s *Sandbox) Lint(ctx context.Context) (*LintReport, error) { return s.admin().lint(ctx) }

// LintReport is the answer of GET /__admin/lint (docs/lint.md lists the rules).
type LintReport struct {
	Findings []Finding `json:"findings"`
	Summary  struct {
		Error   int `json:"error"`
		Warning int `json:"warning"`
		Info    int `json:"info"`
	} `json:"summary"`
}

// Finding is one lint rule's finding.
type Finding struct {
	Rule     string    `json:"rule"`
	Severity string    `json:"severity"` // error, warning, info
	Message  string    `json:"message"`
	Count    int       `json:"count"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
	Requests []int     `json:"requests"` // journal ids
	Token    string    `json:"token,omitempty"`
}

// admin is a control API root (the mock's or a sandbox's) and its bearer token.
type admin struct{ url, token string }

func (a admin) advance(ctx context.Context, d time.Duration) error {
	return a.call(ctx, http.MethodPost, "/clock/advance", map[string]string{"duration": d.String()}, nil)
}

func (a admin) now(ctx context.Context) (time.Time, error) {
	var v struct {
		Now time.Time `json:"now"`
	}
	err := a.call(ctx, http.MethodGet, "/clock", nil, &v)
	return v.Now, err
}

func (a admin) lint(ctx context.Context) (*LintReport, error) {
	var r LintReport
	if err := a.call(ctx, http.MethodGet, "/lint", nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// call sends one control request with a JSON body (when not nil) and decodes a 2xx
// answer into out (when not nil); any other answer is an error with its {"error"} text.
func (a admin) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.url+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}
