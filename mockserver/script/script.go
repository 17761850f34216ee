// Package script runs scenario scripts: a scenario's fixtures plus the releases it
// applies to and steps (requests with expectations, clock moves, release switches).
// A script runs against a fresh in-process mock per release, or against any server
// (Options.Target), so one file checks both the mock and a real CRM.COM installation.
// The format is described in docs/scripts.md; the command is `crmmock run`.
package script

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crmmock/crmmock/internal/lint"
	"github.com/crmmock/crmmock/mockserver"

	yamlscenario "github.com/crmmock/crmmock/internal/scenario"
)

// Script is a parsed, checked scenario script.
type Script struct {
	// File is where the script was read from (its name in reports).
	File string
	// Description says what the script checks; Facts names the facts (docs/crmcom-facts.md) it covers.
	Description string
	Facts       []string
	// Releases are the releases the script runs on, as written (e.g. pre-R10, R10, R12).
	Releases []string
	// Requires names what the script needs of a target beyond its Web API (see
	// Requirements): the requires: list, then what its steps imply (lint, faults,
	// sandboxes). On a target that lacks one the script is not applicable.
	Requires []string
	// Steps run in order.
	Steps []Step
	// Fixtures is the scenario the mock is given: the script's own fixture keys, or
	// the built-in default scenario when it declares no organisations.
	Fixtures *mockserver.Scenario
}

// file is the YAML document: the scenario keys of docs/scenarios.md inline, plus the
// script's own.
type file struct {
	Description         string   `yaml:"description,omitempty"`
	Facts               []string `yaml:"facts,omitempty"`
	Releases            []string `yaml:"releases"`
	Requires            []string `yaml:"requires,omitempty"`
	Steps               []Step   `yaml:"steps"`
	mockserver.Scenario `yaml:",inline"`
}

// Step is one thing a script does: exactly one of Request, Admin, Advance, SetClock,
// Release, Lint, Fault, ClearFaults, ExpireToken, RevokeToken, Sandbox.
type Step struct {
	// Name is the step's line in the report; default: a summary of what it does.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Request sends a Web API request (action below the base path).
	Request *Request `yaml:"request,omitempty" json:"request,omitempty"`
	// Admin sends a control API request (path below /__admin); skipped on a target
	// without a control API.
	Admin *Request `yaml:"admin,omitempty" json:"admin,omitempty"`
	// Advance moves the clock forward (Go duration: 59m59s, 1h, 30m).
	Advance string `yaml:"advance,omitempty" json:"advance,omitempty"`
	// SetClock sets the clock (RFC 3339).
	SetClock string `yaml:"set_clock,omitempty" json:"set_clock,omitempty"`
	// Release switches the emulated release at run time.
	Release string `yaml:"release,omitempty" json:"release,omitempty"`
	// Lint reads the mock's client lint (GET /__admin/lint) and checks which rules
	// fired.
	Lint *LintExpect `yaml:"lint,omitempty" json:"lint,omitempty"`
	// Fault adds a fault (POST /__admin/faults); save: {name: id} keeps its id.
	Fault *Fault `yaml:"fault,omitempty" json:"fault,omitempty"`
	// ClearFaults deletes a fault by id (DELETE /__admin/faults/{id}), or every fault
	// with "all" (DELETE /__admin/faults).
	ClearFaults string `yaml:"clear_faults,omitempty" json:"clear_faults,omitempty"`
	// ExpireToken makes a token expire now (POST /__admin/tokens/{token}/expire):
	// TOKEN_EXPIRED from then on.
	ExpireToken string `yaml:"expire_token,omitempty" json:"expire_token,omitempty"`
	// RevokeToken makes the mock forget a token (POST /__admin/tokens/{token}/revoke),
	// as after a server restart: INVALID_TOKEN from then on; "all" forgets every token
	// (POST /__admin/tokens/revoke).
	RevokeToken string `yaml:"revoke_token,omitempty" json:"revoke_token,omitempty"`
	// Sandbox creates an isolated mock (POST /__admin/sandboxes) that later steps use
	// with in: NAME; it is deleted when the run ends.
	Sandbox *SandboxSpec `yaml:"sandbox,omitempty" json:"sandbox,omitempty"`
	// In runs the step in the sandbox an earlier sandbox step created under this name.
	In string `yaml:"in,omitempty" json:"in,omitempty"`
	// Expect is checked on the answer of Request or Admin.
	Expect *Expect `yaml:"expect,omitempty" json:"expect,omitempty"`
	// ExpectByRelease adds to and overrides Expect, key by key, on the releases the key
	// covers (see matchRelease: pre-R10 = R9 and older, R10 = R10/R11, R12 = R12 and
	// later until a later key of the same profile, e.g. R15).
	ExpectByRelease map[string]*Expect `yaml:"expect_by_release,omitempty" json:"expect_by_release,omitempty"`
	// Save keeps values of the answer for later steps as ${name}: name → JSON path.
	// A path the answer lacks leaves the name unset (a later use fails, saying why).
	Save map[string]string `yaml:"save,omitempty" json:"save,omitempty"`
	// Releases, when given, limits the step to the releases these cover (as
	// ExpectByRelease's keys); on other releases it is left out of the run and the report.
	Releases []string `yaml:"releases,omitempty" json:"releases,omitempty"`

	line     int               // where the step starts in the file
	index    int               // 1-based position in the script
	byLine   map[string]int    // expect_by_release key → line
	profile  map[string]string // expect_by_release key → its profile
	advance  time.Duration
	setTo    time.Time
	required string // what the step needs of a target (a Requirements key), if anything
}

// LintExpect is what the mock's client lint (docs/lint.md) must show.
type LintExpect struct {
	// Fired: rules (by id, e.g. truncated-token) with at least one finding.
	Fired []string `yaml:"fired,omitempty" json:"fired,omitempty"`
	// NotFired: rules with no finding.
	NotFired []string `yaml:"not_fired,omitempty" json:"not_fired,omitempty"`
	// None: severities (error, warning, info) with no finding, apart from the rules
	// listed in Fired: none: [error, warning] is "a well-behaved client".
	None []string `yaml:"none,omitempty" json:"none,omitempty"`
}

// Fault is the body of POST /__admin/faults (docs/faults-and-sandboxes.md).
type Fault struct {
	// Operation: authentication/token, authentication/web_api_key/token,
	// authentication/token/release, <resource>/<action>, or * for every method.
	Operation string `yaml:"operation" json:"operation"`
	// Match narrows the fault to a user, a key or a token.
	Match *FaultMatch `yaml:"match,omitempty" json:"match,omitempty"`
	// After lets this many matching requests through first (default 0).
	After *int `yaml:"after,omitempty" json:"after,omitempty"`
	// Times is how often it fires (default 1; 0: until cleared).
	Times *int `yaml:"times,omitempty" json:"times,omitempty"`
	// Answer is the envelope it answers with (default INTERNAL_ERROR).
	Answer *FaultAnswer `yaml:"answer,omitempty" json:"answer,omitempty"`
	// Delay is real time to wait before answering (e.g. 2s).
	Delay string `yaml:"delay,omitempty" json:"delay,omitempty"`
	// DropConnection closes the connection without an answer.
	DropConnection bool `yaml:"drop_connection,omitempty" json:"drop_connection,omitempty"`
}

// FaultMatch narrows a fault to a user, a key or a token: the control API's own type.
type FaultMatch = mockserver.FaultMatch

// FaultAnswer is what a fault answers: the control API's own type.
type FaultAnswer = mockserver.FaultAnswer

// SandboxSpec creates a sandbox (docs/faults-and-sandboxes.md) with the script's fixtures.
type SandboxSpec struct {
	// Name is how later steps refer to it (in: NAME); ${NAME} is its id.
	Name string `yaml:"name" json:"name"`
	// Version is its release; default: the release of the run.
	Version string `yaml:"version,omitempty" json:"version,omitempty"`
	// Start is its clock's start (RFC 3339); default: the script's clock.start.
	Start string `yaml:"start,omitempty" json:"start,omitempty"`
}

// Request is an HTTP request of a step.
type Request struct {
	// Method is GET or POST (default: POST with a body, else GET).
	Method string `yaml:"method,omitempty" json:"method,omitempty"`
	// Action is the Web API method below the base path, e.g. authentication/token.
	Action string `yaml:"action,omitempty" json:"action,omitempty"`
	// Path is the control API call below /__admin, e.g. violations (admin steps only).
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Query parameters (e.g. token on GET, F5).
	Query map[string]string `yaml:"query,omitempty" json:"query,omitempty"`
	// Body is sent as JSON (Content-Type: application/json).
	Body any `yaml:"body,omitempty" json:"body,omitempty"`
	// RawBody is sent as it is (for broken JSON); Content-Type as in Headers.
	RawBody *string `yaml:"raw_body,omitempty" json:"raw_body,omitempty"`
	// Basic is a Web API key, sent as HTTP Basic username with an empty password (F7).
	Basic *string `yaml:"basic,omitempty" json:"basic,omitempty"`
	// Headers are extra request headers.
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
}

// Expect is what an answer must show. Every field is optional.
type Expect struct {
	// HTTP is the HTTP status.
	HTTP int `yaml:"http,omitempty" json:"http,omitempty"`
	// Code is the envelope's status.code.
	Code string `yaml:"code,omitempty" json:"code,omitempty"`
	// JSON: JSON path (data.token, violations.0.code, violations.# for a length) →
	// the value, compared as JSON ("1" and 1 differ; null is JSON null).
	JSON map[string]any `yaml:"json,omitempty" json:"json,omitempty"`
	// Match: JSON path → regular expression the value (a string, else its JSON) matches.
	Match map[string]string `yaml:"match,omitempty" json:"match,omitempty"`
	// Types: JSON path → the JSON type of the value there (string, number, boolean,
	// object, array, null).
	Types map[string]string `yaml:"types,omitempty" json:"types,omitempty"`
	// Token is a regular expression data.token matches.
	Token string `yaml:"token,omitempty" json:"token,omitempty"`
	// Headers: header → value; null means the header must be absent.
	Headers map[string]*string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// JWT decodes a token (not verifying its signature) and checks it.
	JWT *JWTExpect `yaml:"jwt,omitempty" json:"jwt,omitempty"`
	// Dropped: the server closed the connection without an HTTP answer (a fault's
	// drop_connection).
	Dropped bool `yaml:"dropped,omitempty" json:"dropped,omitempty"`
	// TookAtLeast: the answer came no sooner than this (Go duration; a fault's delay).
	TookAtLeast string `yaml:"took_at_least,omitempty" json:"took_at_least,omitempty"`
}

// JWTExpect checks a decoded JWT.
type JWTExpect struct {
	// Of is the JSON path of the token in the answer; default data.token.
	Of string `yaml:"of,omitempty" json:"of,omitempty"`
	// Header: header field → value (e.g. typ: JWT, alg: HS256).
	Header map[string]any `yaml:"header,omitempty" json:"header,omitempty"`
	// Claims: claim → value, compared as JSON ("1704099600" is a string claim).
	Claims map[string]any `yaml:"claims,omitempty" json:"claims,omitempty"`
	// Match: claim → regular expression.
	Match map[string]string `yaml:"match,omitempty" json:"match,omitempty"`
	// Types: claim → JSON type (e.g. iat: string, F10).
	Types map[string]string `yaml:"types,omitempty" json:"types,omitempty"`
	// Lifetime is exp - iat in seconds (strings or numbers alike).
	Lifetime *int64 `yaml:"lifetime,omitempty" json:"lifetime,omitempty"`
}

// Requirements are the values of a script's requires: what a target must offer beyond
// the Web API, each with what it means. In-process every requirement is met; on a
// target that lacks one the script is reported as not applicable (neither passed nor
// failed) instead of failing on data the target does not have.
var Requirements = map[string]string{
	// The script checks data only its own fixtures give: its organisations, users and
	// units, methods answers, errors renamings, jwt options (numeric dates).
	"mock-fixtures": "the script's own fixtures and data",
	// The script is about the mock itself (its journal, tokens or violations).
	"control-api": "the mock's control API",
	// Implied by lint steps.
	"lint": "the mock's client lint, GET /__admin/lint",
	// Implied by fault, clear_faults, expire_token and revoke_token steps.
	"faults": "the mock's faults, /__admin/faults and /__admin/tokens/{token}/expire|revoke",
	// Implied by sandbox steps.
	"sandboxes": "the mock's sandboxes, POST /__admin/sandboxes",
}

// LintRules are the rule ids of the client lint (docs/lint.md), in its order.
var LintRules = func() []string {
	ids := make([]string, len(lint.Rules))
	for i, r := range lint.Rules {
		ids[i] = r.ID
	}
	return ids
}()

var severities = func() []string {
	out := make([]string, len(lint.Severities))
	for i, s := range lint.Severities {
		out[i] = string(s)
	}
	return out
}()

// FaultKinds name the client-visible faults of docs/faults-and-sandboxes.md (for the catalogue):
// an error answer, a delay, a dropped connection, an expired token, a revoked token.
var FaultKinds = []string{"answer", "delay", "drop_connection", "expire_token", "revoke_token"}

// Load reads and checks a script file.
func Load(path string) (*Script, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.File = path
	return s, nil
}

var (
	varRef   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\$\{([^}]*)\}`) })
	factName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^F[0-9]+$`) })
)

// Parse reads and checks a script. Errors name the line ("line N: …").
func Parse(data []byte) (*Script, error) {
	var f file
	root, err := yamlscenario.DecodeStrict(data, &f)
	if err != nil {
		return nil, err
	}
	at := func(path ...any) int { return yamlscenario.LineOf(root, path...) }
	if err := f.checkHeader(at); err != nil {
		return nil, err
	}
	sc := f.Scenario
	if len(sc.Organisations) == 0 {
		def := mockserver.DefaultScenario()
		sc.Organisations = def.Organisations
		if len(sc.Methods) == 0 {
			sc.Methods = def.Methods
		}
	}
	if err := yamlscenario.Check(&sc, root); err != nil {
		return nil, err
	}
	if err := f.checkRequires(at); err != nil {
		return nil, err
	}
	s := &Script{Description: strings.TrimSpace(f.Description), Facts: f.Facts, Releases: f.Releases,
		Requires: slices.Clone(f.Requires), Steps: f.Steps, Fixtures: &sc}
	if err := s.checkSteps(at); err != nil {
		return nil, err
	}
	return s, nil
}

// checkHeader checks a script's top: no version:, known releases, at least one step,
// fact numbers.
func (f *file) checkHeader(at func(path ...any) int) error {
	if f.Version != "" {
		return lineErr(at("version"), "version: a script lists the releases it runs on under releases:")
	}
	if len(f.Releases) == 0 {
		return lineErr(at("releases"), "releases: list the releases the script applies to (e.g. [pre-R10, R10, R12])")
	}
	for i, r := range f.Releases {
		if _, err := mockserver.ParseRelease(r); err != nil {
			return lineErr(at("releases", i), "releases: %v", err)
		}
	}
	if len(f.Steps) == 0 {
		return lineErr(at("steps"), "steps: a script needs at least one step")
	}
	for _, fact := range f.Facts {
		if !factName().MatchString(fact) {
			return lineErr(at("facts"), "facts: %q: want fact numbers like F6 (see docs/crmcom-facts.md)", fact)
		}
	}
	return nil
}

// checkRequires checks that a script requires only what Requirements lists.
func (f *file) checkRequires(at func(path ...any) int) error {
	for i, req := range f.Requires {
		if Requirements[req] == "" {
			return lineErr(at("requires", i), "requires: %q: want %s", req, strings.Join(sortedKeys(Requirements), ", "))
		}
	}
	return nil
}

// lineErr is an error at a script line.
func lineErr(line int, format string, args ...any) error {
	return fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
}

// checkSteps checks each step, that in: names an earlier sandbox and no sandbox name is
// taken twice, and adds each step's requirement to the script's.
func (s *Script) checkSteps(at func(path ...any) int) error {
	sandboxes := map[string]bool{}
	for i := range s.Steps {
		st := &s.Steps[i]
		st.line, st.index = at("steps", i), i+1
		if err := st.check(func(path ...any) int { return at(append([]any{"steps", i}, path...)...) }); err != nil {
			return err
		}
		if st.In != "" && !sandboxes[st.In] {
			return fmt.Errorf("line %d: step %d: in: %q: no earlier sandbox step creates a sandbox of that name", at("steps", i, "in"), st.index, st.In)
		}
		if st.Sandbox != nil {
			if sandboxes[st.Sandbox.Name] {
				return fmt.Errorf("line %d: step %d: sandbox: the name %q is taken by an earlier sandbox step", at("steps", i, "sandbox"), st.index, st.Sandbox.Name)
			}
			sandboxes[st.Sandbox.Name] = true
		}
		if st.required != "" && !slices.Contains(s.Requires, st.required) {
			s.Requires = append(s.Requires, st.required)
		}
	}
	return nil
}

// check checks one step where Parse found it, and fills what running it needs.
func (st *Step) check(at func(path ...any) int) error {
	if err := st.checkShape(at); err != nil {
		return err
	}
	if err := st.checkKind(at); err != nil {
		return err
	}
	if r := st.req(); r != nil && r.Body != nil && r.RawBody != nil {
		return st.errAt(at(), "body and raw_body exclude each other")
	}
	for i, name := range st.Releases {
		if _, err := mockserver.ParseRelease(name); err != nil {
			return st.errAt(at("releases", i), "releases: %v", err)
		}
	}
	if err := st.checkByRelease(at); err != nil {
		return err
	}
	for _, e := range st.expects() {
		if err := e.checkRegexps(); err != nil {
			return st.errAt(at("expect"), "%v", err)
		}
		if (e.Dropped || e.TookAtLeast != "") && st.Request == nil {
			return st.errAt(at("expect"), "dropped and took_at_least go with a request step")
		}
		if e.TookAtLeast != "" {
			if d, err := time.ParseDuration(e.TookAtLeast); err != nil || d < 0 {
				return st.errAt(at("expect"), "took_at_least: %q is not a positive Go duration (e.g. 200ms)", e.TookAtLeast)
			}
		}
	}
	for name := range st.Save {
		if name == "" || strings.ContainsAny(name, "${}.: ") {
			return st.errAt(at("save"), "save: %q is not a usable name", name)
		}
	}
	return nil
}

// errAt is a step's error at a script line.
func (st *Step) errAt(line int, format string, args ...any) error {
	return fmt.Errorf("line %d: step %d: %s", line, st.index, fmt.Sprintf(format, args...))
}

// checkShape checks that a step does exactly one thing, and that expect and save go
// with a step that has an answer.
func (st *Step) checkShape(at func(path ...any) int) error {
	kinds := 0
	for _, set := range []bool{st.Request != nil, st.Admin != nil, st.Advance != "", st.SetClock != "", st.Release != "",
		st.Lint != nil, st.Fault != nil, st.ClearFaults != "", st.ExpireToken != "", st.RevokeToken != "", st.Sandbox != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return st.errAt(at(), "a step does exactly one of request, admin, advance, set_clock, release, lint, fault, clear_faults, expire_token, revoke_token, sandbox")
	}
	hasAnswer := st.Request != nil || st.Admin != nil || st.Lint != nil
	if !hasAnswer && (st.Expect != nil || st.ExpectByRelease != nil) {
		return st.errAt(at(), "expect and expect_by_release go with a request, admin or lint step")
	}
	if st.Save != nil && !hasAnswer && st.Fault == nil && st.Sandbox == nil {
		return st.errAt(at("save"), "save goes with a request, admin, lint, fault or sandbox step")
	}
	return nil
}

// checkKind checks the fields of the one thing the step does, and notes the
// requirement it needs.
func (st *Step) checkKind(at func(path ...any) int) error {
	switch {
	case st.Advance != "":
		d, err := time.ParseDuration(st.Advance)
		if err != nil || d < 0 {
			return st.errAt(at("advance"), "advance: %q is not a positive Go duration (e.g. 59m59s, 1h, 30m)", st.Advance)
		}
		st.advance = d
	case st.SetClock != "":
		t, err := time.Parse(time.RFC3339, st.SetClock)
		if err != nil {
			return st.errAt(at("set_clock"), "set_clock: %q is not RFC 3339 (e.g. 2024-01-01T09:00:00Z)", st.SetClock)
		}
		st.setTo = t
	case st.Release != "":
		if _, err := mockserver.ParseRelease(st.Release); err != nil {
			return st.errAt(at("release"), "release: %v", err)
		}
	case st.Request != nil:
		r := st.Request
		if r.Action == "" || r.Path != "" {
			return st.errAt(at("request"), "request: give the Web API method as action (e.g. action: authentication/token); path is for admin steps")
		}
		if err := r.checkMethod(); err != nil {
			return st.errAt(at("request", "method"), "request: %v", err)
		}
	case st.Admin != nil:
		r := st.Admin
		if r.Path == "" || r.Action != "" {
			return st.errAt(at("admin"), "admin: give the control call as path (e.g. path: violations)")
		}
		if err := r.checkMethod(); err != nil {
			return st.errAt(at("admin", "method"), "admin: %v", err)
		}
	case st.Lint != nil:
		st.required = "lint"
		if err := st.Lint.check(); err != nil {
			return st.errAt(at("lint"), "lint: %v", err)
		}
		if len(st.Lint.Fired)+len(st.Lint.NotFired)+len(st.Lint.None) == 0 && st.Expect == nil && st.ExpectByRelease == nil {
			return st.errAt(at("lint"), "lint: say what the report must show: fired, not_fired or none (or an expect)")
		}
	case st.Fault != nil:
		st.required = "faults"
		if line, err := st.Fault.check(at); err != nil {
			return st.errAt(line, "fault: %v", err)
		}
	case st.ClearFaults != "", st.ExpireToken != "", st.RevokeToken != "":
		st.required = "faults"
	case st.Sandbox != nil:
		st.required = "sandboxes"
		return st.checkSandbox(at)
	}
	return nil
}

// checkSandbox checks a sandbox step: a usable name, a known version, an RFC 3339 start,
// and not inside another sandbox.
func (st *Step) checkSandbox(at func(path ...any) int) error {
	sb := st.Sandbox
	if sb.Name == "" || strings.ContainsAny(sb.Name, "${}.: ") {
		return st.errAt(at("sandbox"), "sandbox: give it a name later steps use with in: (letters, digits, - and _)")
	}
	if sb.Version != "" {
		if _, err := mockserver.ParseRelease(sb.Version); err != nil {
			return st.errAt(at("sandbox", "version"), "sandbox: version: %v", err)
		}
	}
	if sb.Start != "" {
		if _, err := time.Parse(time.RFC3339, sb.Start); err != nil {
			return st.errAt(at("sandbox", "start"), "sandbox: start: %q is not RFC 3339", sb.Start)
		}
	}
	if st.In != "" {
		return st.errAt(at("in"), "in: a sandbox is created by the script's own mock, not inside another sandbox")
	}
	return nil
}

// checkByRelease checks expect_by_release: known releases, no release twice; it notes
// each release's profile and line.
func (st *Step) checkByRelease(at func(path ...any) int) error {
	st.profile = map[string]string{}
	st.byLine = map[string]int{}
	for name := range st.ExpectByRelease {
		rel, err := mockserver.ParseRelease(name)
		if err != nil {
			return st.errAt(at("expect_by_release", name), "expect_by_release: %v", err)
		}
		for other := range st.profile {
			if o := mockserver.MustParseRelease(other); o.AtLeast(rel) && rel.AtLeast(o) {
				return st.errAt(at("expect_by_release", name), "expect_by_release: %s and %s are the same release", other, name)
			}
		}
		st.profile[name] = rel.Profile.Name
		st.byLine[name] = at("expect_by_release", name)
	}
	return nil
}

func (r *Request) checkMethod() error {
	r.Method = strings.ToUpper(r.Method)
	if r.Method == "" {
		r.Method = "GET"
		if r.Body != nil || r.RawBody != nil {
			r.Method = "POST"
		}
	}
	switch r.Method {
	case "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS":
		return nil
	}
	return fmt.Errorf("method %q is not an HTTP method", r.Method)
}

func (st *Step) req() *Request {
	if st.Request != nil {
		return st.Request
	}
	return st.Admin
}

func (st *Step) expects() []*Expect {
	var out []*Expect
	if st.Expect != nil {
		out = append(out, st.Expect)
	}
	for _, e := range st.ExpectByRelease {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

func (e *Expect) checkRegexps() error {
	check := func(where, re string) error {
		if strings.Contains(re, "${") {
			return nil // compiled after substitution
		}
		if _, err := regexp.Compile(re); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		return nil
	}
	if e.Token != "" {
		if err := check("token", e.Token); err != nil {
			return err
		}
	}
	for p, re := range e.Match {
		if err := check("match "+p, re); err != nil {
			return err
		}
	}
	types := e.Types
	if e.JWT != nil {
		types = mergeMap(types, e.JWT.Types)
	}
	for p, ty := range types {
		if !knownType[ty] {
			return fmt.Errorf("types %s: %q: want string, number, boolean, object, array or null", p, ty)
		}
	}
	if e.JWT != nil {
		for c, re := range e.JWT.Match {
			if err := check("jwt match "+c, re); err != nil {
				return err
			}
		}
	}
	return nil
}

// runsOn tells whether the step belongs to a run on rel.
func (st *Step) runsOn(rel mockserver.Release) bool {
	if len(st.Releases) == 0 {
		return true
	}
	_, ok := matchRelease(st.Releases, rel)
	return ok
}

// matchRelease is the listed release a run on rel follows: among those of rel's profile
// (token rules), the latest at or before rel; `pre-R10` (an alias of R9) also covers
// every release before it. So `R12` covers every release from R12 until a later one
// listed (`R15`), and a release before every listed one is covered by none.
func matchRelease(names []string, rel mockserver.Release) (string, bool) {
	var best, alias string
	var bestRel mockserver.Release
	for _, name := range names {
		l := mockserver.MustParseRelease(name)
		if l.Profile.Name != rel.Profile.Name {
			continue
		}
		if l.Name == "pre-R10" {
			alias = name
		}
		if rel.AtLeast(l) && (best == "" || l.AtLeast(bestRel)) {
			best, bestRel = name, l
		}
	}
	if best == "" {
		best = alias
	}
	return best, best != ""
}

// forRelease is the step's expectation on a release: Expect with the matching
// expect_by_release entry laid over it, key by key.
func (st *Step) forRelease(rel mockserver.Release) *Expect {
	var over *Expect
	names := make([]string, 0, len(st.ExpectByRelease))
	for name := range st.ExpectByRelease {
		names = append(names, name)
	}
	if name, ok := matchRelease(names, rel); ok {
		over = st.ExpectByRelease[name]
	}
	base := st.Expect
	if base == nil {
		base = &Expect{}
	}
	if over == nil {
		return base
	}
	e := *base
	if over.HTTP != 0 {
		e.HTTP = over.HTTP
	}
	if over.Code != "" {
		e.Code = over.Code
	}
	if over.Token != "" {
		e.Token = over.Token
	}
	e.JSON = mergeMap(base.JSON, over.JSON)
	e.Match = mergeMap(base.Match, over.Match)
	e.Types = mergeMap(base.Types, over.Types)
	e.Headers = mergeMap(base.Headers, over.Headers)
	if over.JWT != nil {
		e.JWT = over.JWT
	}
	if over.Dropped {
		e.Dropped = true
	}
	if over.TookAtLeast != "" {
		e.TookAtLeast = over.TookAtLeast
	}
	return &e
}

var knownType = map[string]bool{"string": true, "number": true, "boolean": true, "object": true, "array": true, "null": true}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func mergeMap[V any](a, b map[string]V) map[string]V {
	if len(b) == 0 {
		return a
	}
	out := make(map[string]V, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func (l *LintExpect) check() error {
	for _, list := range [][]string{l.Fired, l.NotFired} {
		for _, id := range list {
			if !slices.Contains(LintRules, id) {
				return fmt.Errorf("%q is not a lint rule (want one of %s)", id, strings.Join(LintRules, ", "))
			}
		}
	}
	for _, id := range l.Fired {
		if slices.Contains(l.NotFired, id) {
			return fmt.Errorf("%s is both fired and not_fired", id)
		}
	}
	for _, sev := range l.None {
		if !slices.Contains(severities, sev) {
			return fmt.Errorf("none: %q is not a severity (want error, warning or info)", sev)
		}
	}
	return nil
}

var operationName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(\*|[a-z0-9_]+(/[a-z0-9_]+)+)$`) })

// check checks a fault's fields (the server checks them again); it returns the line.
func (f *Fault) check(at func(path ...any) int) (int, error) {
	switch {
	case f.Operation == "":
		return at("fault"), fmt.Errorf("operation: give the Web API method it hits (e.g. authentication/token, or * for every method)")
	case !operationName().MatchString(f.Operation):
		return at("fault", "operation"), fmt.Errorf("operation: %q: want a Web API method such as authentication/token or contact_information/show, or *", f.Operation)
	case f.After != nil && *f.After < 0:
		return at("fault", "after"), fmt.Errorf("after: %d: want 0 or more", *f.After)
	case f.Times != nil && *f.Times < 0:
		return at("fault", "times"), fmt.Errorf("times: %d: want 0 (until cleared) or more", *f.Times)
	}
	if f.Delay != "" {
		if d, err := time.ParseDuration(f.Delay); err != nil || d < 0 {
			return at("fault", "delay"), fmt.Errorf("delay: %q is not a positive Go duration (e.g. 500ms, 2s)", f.Delay)
		}
	}
	if a := f.Answer; a != nil {
		if a.Code == string(mockserver.CodeOK) { // any other code, a real installation's too (F21)
			return at("fault", "answer", "code"), fmt.Errorf("answer: code: %q is the success code; a fault answers an error (e.g. INTERNAL_ERROR, or COM.CRM.EXCEPTION.…)", a.Code)
		}
		if a.HTTPStatus != 0 && (a.HTTPStatus < 200 || a.HTTPStatus > 599) {
			return at("fault", "answer", "http_status"), fmt.Errorf("answer: http_status: %d is not an HTTP status", a.HTTPStatus)
		}
		if f.DropConnection {
			return at("fault", "drop_connection"), fmt.Errorf("drop_connection: a dropped connection has no answer; leave one of them out")
		}
	}
	return 0, nil
}
