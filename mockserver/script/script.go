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
	"strings"
	"time"

	"github.com/crmmock/crmmock/mockserver"
)

// Script is a parsed, checked scenario script.
type Script struct {
	// File is where the script was read from (its name in reports).
	File string
	// Description says what the script checks; Facts names the CRMCOM-FACTS it covers.
	Description string
	Facts       []string
	// Releases are the releases the script runs on, as written (e.g. pre-R10, R10, R12).
	Releases []string
	// Requires names what the script needs of a target beyond its Web API (see
	// Requirements); on a target that lacks it the script is not applicable.
	Requires []string
	// Steps run in order.
	Steps []Step
	// Fixtures is the scenario the mock is given: the script's own fixture keys, or
	// the built-in default scenario when it declares no organisations.
	Fixtures *mockserver.Scenario
}

// file is the YAML document: the scenario keys of INTERFACE §4 inline, plus the
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
// Release.
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
	// Expect is checked on the answer of Request or Admin.
	Expect *Expect `yaml:"expect,omitempty" json:"expect,omitempty"`
	// ExpectByRelease adds to and overrides Expect, key by key, on the releases whose
	// profile matches the key's (pre-R10 = R9 and older, R10 = R10/R11, R12 = R12+).
	ExpectByRelease map[string]*Expect `yaml:"expect_by_release,omitempty" json:"expect_by_release,omitempty"`
	// Save keeps values of the answer for later steps as ${name}: name → JSON path.
	// A path the answer lacks leaves the name unset (a later use fails, saying why).
	Save map[string]string `yaml:"save,omitempty" json:"save,omitempty"`
	// Releases, when given, limits the step to the releases whose profile matches one
	// of these; on other releases it is left out of the run and the report.
	Releases []string `yaml:"releases,omitempty" json:"releases,omitempty"`

	line    int            // where the step starts in the file
	index   int            // 1-based position in the script
	byLine  map[string]int // expect_by_release key → line
	profile map[string]string
	advance time.Duration
	setTo   time.Time
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
}

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
	varRef   = regexp.MustCompile(`\$\{([^}]*)\}`)
	factName = regexp.MustCompile(`^F[0-9]+$`)
)

// Parse reads and checks a script. Errors name the line ("line N: …").
func Parse(data []byte) (*Script, error) {
	var f file
	root, err := mockserver.DecodeStrict(data, &f)
	if err != nil {
		return nil, err
	}
	at := func(path ...any) int { return mockserver.LineOf(root, path...) }
	errAt := func(line int, format string, args ...any) error {
		return fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
	}
	if f.Version != "" {
		return nil, errAt(at("version"), "version: a script lists the releases it runs on under releases:")
	}
	if len(f.Releases) == 0 {
		return nil, errAt(at("releases"), "releases: list the releases the script applies to (e.g. [pre-R10, R10, R12])")
	}
	for i, r := range f.Releases {
		if _, err := mockserver.ParseRelease(r); err != nil {
			return nil, errAt(at("releases", i), "releases: %v", err)
		}
	}
	if len(f.Steps) == 0 {
		return nil, errAt(at("steps"), "steps: a script needs at least one step")
	}
	for _, fact := range f.Facts {
		if !factName.MatchString(fact) {
			return nil, errAt(at("facts"), "facts: %q: want fact numbers like F6 (see CRMCOM-FACTS)", fact)
		}
	}
	sc := f.Scenario
	if len(sc.Organisations) == 0 {
		def := mockserver.DefaultScenario()
		sc.Organisations = def.Organisations
		if len(sc.Methods) == 0 {
			sc.Methods = def.Methods
		}
	}
	if err := mockserver.CheckScenario(&sc, root); err != nil {
		return nil, err
	}
	for i, req := range f.Requires {
		if Requirements[req] == "" {
			return nil, errAt(at("requires", i), "requires: %q: want %s", req, strings.Join(sortedKeys(Requirements), ", "))
		}
	}
	s := &Script{Description: strings.TrimSpace(f.Description), Facts: f.Facts, Releases: f.Releases,
		Requires: f.Requires, Steps: f.Steps, Fixtures: &sc}
	for i := range s.Steps {
		st := &s.Steps[i]
		st.line, st.index = at("steps", i), i+1
		if err := st.check(func(path ...any) int { return at(append([]any{"steps", i}, path...)...) }); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (st *Step) check(at func(path ...any) int) error {
	errAt := func(line int, format string, args ...any) error {
		return fmt.Errorf("line %d: step %d: %s", line, st.index, fmt.Sprintf(format, args...))
	}
	kinds := 0
	for _, set := range []bool{st.Request != nil, st.Admin != nil, st.Advance != "", st.SetClock != "", st.Release != ""} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return errAt(at(), "a step does exactly one of request, admin, advance, set_clock, release")
	}
	hasAnswer := st.Request != nil || st.Admin != nil
	if !hasAnswer && (st.Expect != nil || st.ExpectByRelease != nil || st.Save != nil) {
		return errAt(at(), "expect, expect_by_release and save go with a request or admin step")
	}
	switch {
	case st.Advance != "":
		d, err := time.ParseDuration(st.Advance)
		if err != nil || d < 0 {
			return errAt(at("advance"), "advance: %q is not a positive Go duration (e.g. 59m59s, 1h, 30m)", st.Advance)
		}
		st.advance = d
	case st.SetClock != "":
		t, err := time.Parse(time.RFC3339, st.SetClock)
		if err != nil {
			return errAt(at("set_clock"), "set_clock: %q is not RFC 3339 (e.g. 2024-01-01T09:00:00Z)", st.SetClock)
		}
		st.setTo = t
	case st.Release != "":
		if _, err := mockserver.ParseRelease(st.Release); err != nil {
			return errAt(at("release"), "release: %v", err)
		}
	case st.Request != nil:
		r := st.Request
		if r.Action == "" || r.Path != "" {
			return errAt(at("request"), "request: give the Web API method as action (e.g. action: authentication/token); path is for admin steps")
		}
		if err := r.checkMethod(); err != nil {
			return errAt(at("request", "method"), "request: %v", err)
		}
	case st.Admin != nil:
		r := st.Admin
		if r.Path == "" || r.Action != "" {
			return errAt(at("admin"), "admin: give the control call as path (e.g. path: violations)")
		}
		if err := r.checkMethod(); err != nil {
			return errAt(at("admin", "method"), "admin: %v", err)
		}
	}
	if r := st.req(); r != nil && r.Body != nil && r.RawBody != nil {
		return errAt(at(), "body and raw_body exclude each other")
	}
	for i, name := range st.Releases {
		if _, err := mockserver.ParseRelease(name); err != nil {
			return errAt(at("releases", i), "releases: %v", err)
		}
	}
	st.profile = map[string]string{}
	st.byLine = map[string]int{}
	for name := range st.ExpectByRelease {
		rel, err := mockserver.ParseRelease(name)
		if err != nil {
			return errAt(at("expect_by_release", name), "expect_by_release: %v", err)
		}
		for other, p := range st.profile {
			if p == rel.Profile.Name {
				return errAt(at("expect_by_release", name), "expect_by_release: %s and %s are the same profile (%s)", other, name, p)
			}
		}
		st.profile[name] = rel.Profile.Name
		st.byLine[name] = at("expect_by_release", name)
	}
	for _, e := range st.expects() {
		if err := e.checkRegexps(); err != nil {
			return errAt(at("expect"), "%v", err)
		}
	}
	for name := range st.Save {
		if name == "" || strings.ContainsAny(name, "${}.: ") {
			return errAt(at("save"), "save: %q is not a usable name", name)
		}
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
	for _, name := range st.Releases {
		if mockserver.MustParseRelease(name).Profile.Name == rel.Profile.Name {
			return true
		}
	}
	return false
}

// forRelease is the step's expectation on a release: Expect with the matching
// expect_by_release entry laid over it, key by key.
func (st *Step) forRelease(rel mockserver.Release) *Expect {
	var over *Expect
	for name, p := range st.profile {
		if p == rel.Profile.Name {
			over = st.ExpectByRelease[name]
		}
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
