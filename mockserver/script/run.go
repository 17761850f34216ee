package script

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/crmmock/crmmock/mockserver"
)

// Options say where and how a script runs. The zero value runs every release the
// script lists on a fresh in-process mock.
type Options struct {
	// Version runs only this release (on a target without a control API: the release
	// the target is taken to be, for expect_by_release).
	Version string
	// Target is the root URL of a server to run against (e.g. http://127.0.0.1:8080 or
	// https://crm.example.com); empty: a fresh in-process mock per release.
	Target string
	// BasePath is the Web API prefix on the target; empty: /crmapi/rest/v2 (F1).
	BasePath string
	// AdminToken is sent as "Authorization: Bearer <token>" to the target's /__admin.
	AdminToken string
	// Client sends the requests to a target; nil: a client with a 30 s timeout.
	Client *http.Client
	// AllowSkips accepts skipped steps: without it a skipped step (a clock, release or
	// admin step a target cannot do, and the requests after it) fails the run, since
	// the expectations it carried went unchecked.
	AllowSkips bool
	// LookupEnv reads the environment for ${env.NAME}, and for ${NAME} on a target
	// without a control API (where the script's fixtures are not in force); nil:
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Status is a step's outcome.
type Status string

const (
	Passed  Status = "passed"
	Failed  Status = "failed"
	Skipped Status = "skipped"
)

// Failure is one expectation an answer did not meet.
type Failure struct {
	What string `json:"what"` // e.g. status.code, header Deprecation, jwt claim iat
	Want string `json:"want"`
	Got  string `json:"got"`
}

func (f Failure) String() string { return fmt.Sprintf("%s: want %s, got %s", f.What, f.Want, f.Got) }

// StepResult is what one step did.
type StepResult struct {
	Index  int    `json:"index"` // 1-based
	Name   string `json:"name"`
	Line   int    `json:"line"`
	Status Status `json:"status"`
	Reason string `json:"reason,omitempty"` // why it was skipped
	// Unchecked: the step was skipped and carried expectations that went unchecked.
	Unchecked bool          `json:"unchecked,omitempty"`
	Failures  []Failure     `json:"failures,omitempty"`
	Request   string        `json:"request,omitempty"`  // on failure: what was sent
	Response  string        `json:"response,omitempty"` // on failure: what came back
	Duration  time.Duration `json:"duration_ns"`
}

// Suite is one run of a script: one file on one release.
type Suite struct {
	File    string   `json:"file"`
	Release string   `json:"release"`
	Target  string   `json:"target"` // "in-process" or the target URL
	Notes   []string `json:"notes,omitempty"`
	Error   string   `json:"error,omitempty"` // the run could not start; counts as a failure
	// NotApplicable says why the script was not run on this target (it requires what
	// the target lacks): neither passed nor failed.
	NotApplicable string `json:"not_applicable,omitempty"`
	// AllowSkips: skipped steps do not fail this suite (Options.AllowSkips).
	AllowSkips bool          `json:"-"`
	Steps      []StepResult  `json:"steps"`
	Duration   time.Duration `json:"duration_ns"`
}

// Counts are the passed, failed and skipped steps (a suite that could not start is one
// failure).
func (s *Suite) Counts() (passed, failed, skipped int) {
	if s.Error != "" {
		failed++
	}
	for _, st := range s.Steps {
		switch st.Status {
		case Passed:
			passed++
		case Failed:
			failed++
		case Skipped:
			skipped++
		}
	}
	return
}

// Run runs a script: per release it lists (or Options.Version) on a fresh in-process
// mock, or against Options.Target.
func Run(ctx context.Context, s *Script, o Options) []Suite {
	suites := run(ctx, s, o)
	for i := range suites {
		suites[i].AllowSkips = o.AllowSkips
	}
	return suites
}

func run(ctx context.Context, s *Script, o Options) []Suite {
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.BasePath == "" {
		o.BasePath = "/crmapi/rest/v2"
	}
	o.BasePath = "/" + strings.Trim(o.BasePath, "/")
	releases := s.Releases
	if o.Version != "" {
		v, err := mockserver.ParseRelease(o.Version)
		if err != nil {
			return []Suite{{File: s.File, Release: o.Version, Error: err.Error()}}
		}
		if !s.appliesTo(v) {
			return []Suite{{File: s.File, Release: v.Name, Steps: []StepResult{},
				Notes: []string{fmt.Sprintf("not run: the script is for %s, not %s", strings.Join(s.Releases, ", "), v.Name)}}}
		}
		releases = []string{o.Version}
	}
	if o.Target == "" {
		out := make([]Suite, 0, len(releases))
		for _, rel := range releases {
			out = append(out, runInProcess(ctx, s, rel, o))
		}
		return out
	}
	return runTarget(ctx, s, releases, o)
}

func (s *Script) appliesTo(v mockserver.Release) bool {
	for _, r := range s.Releases {
		if mockserver.MustParseRelease(r).Profile.Name == v.Profile.Name {
			return true
		}
	}
	return false
}

func runInProcess(ctx context.Context, s *Script, rel string, o Options) Suite {
	suite := Suite{File: s.File, Release: rel, Target: "in-process"}
	srv, err := mockserver.NewServer(mockserver.Options{Version: rel, Scenario: s.Fixtures})
	if err != nil {
		suite.Error = err.Error()
		return suite
	}
	defer srv.Close()
	r := &runner{ctx: ctx, client: srv.Client(), root: srv.URL, base: srv.BasePath(), admin: true,
		release: mockserver.MustParseRelease(rel), env: o.LookupEnv}
	r.run(s, &suite)
	return suite
}

func runTarget(ctx context.Context, s *Script, releases []string, o Options) []Suite {
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	root := strings.TrimRight(o.Target, "/")
	r := &runner{ctx: ctx, client: client, root: root, base: o.BasePath, adminToken: o.AdminToken, env: o.LookupEnv}
	admin, err := r.probe()
	if err != nil {
		return []Suite{{File: s.File, Release: strings.Join(releases, ","), Target: root, Error: err.Error()}}
	}
	if !admin {
		rel := releases[len(releases)-1]
		for _, req := range s.Requires {
			if req == "mock-fixtures" || req == "control-api" {
				return []Suite{{File: s.File, Release: rel, Target: root, Steps: []StepResult{}, NotApplicable: fmt.Sprintf(
					"the script requires %s (%s) and the target has no control API to load them", req, Requirements[req])}}
			}
		}
		suite := Suite{File: s.File, Release: rel, Target: root, Notes: []string{fmt.Sprintf(
			"the target has no control API (/__admin): fixtures not loaded, clock, release and admin steps skipped; the target is taken to be %s (--version says which release it runs)", rel)}}
		r.release, r.plainEnv = mockserver.MustParseRelease(rel), true
		r.run(s, &suite)
		return []Suite{suite}
	}
	var out []Suite
	for _, rel := range releases {
		suite := Suite{File: s.File, Release: rel, Target: root}
		rr := *r
		rr.admin, rr.release, rr.vars, rr.unsaved, rr.tainted = true, mockserver.MustParseRelease(rel), nil, nil, ""
		if err := rr.setup(s, rel); err != nil {
			suite.Error = err.Error()
		} else {
			rr.run(s, &suite)
		}
		out = append(out, suite)
	}
	return out
}

// runner holds one suite's connection and saved values.
type runner struct {
	ctx        context.Context
	client     *http.Client
	root, base string
	adminToken string
	admin      bool // the target has a control API
	release    mockserver.Release
	env        func(string) (string, bool)
	plainEnv   bool // ${NAME} may come from the environment: the script's fixtures are not in force
	vars       map[string]any
	unsaved    map[string]string // name → why a save found nothing
	tainted    string            // why every later request is skipped
}

// probe tells whether the target has a control API.
func (r *runner) probe() (bool, error) {
	x, err := r.send(http.MethodGet, r.root+"/__admin/health", nil, nil, r.adminHeader())
	if err != nil {
		return false, fmt.Errorf("target %s: %v", r.root, err)
	}
	switch {
	case x.status == http.StatusUnauthorized && x.header.Get("WWW-Authenticate") != "":
		return false, fmt.Errorf("target %s: its control API answers 401: give the admin token (--admin-token)", r.root)
	case x.status == http.StatusOK:
		st, _ := lookup(x.json, "status")
		return st == "ok", nil
	}
	return false, nil
}

func (r *runner) adminHeader() http.Header {
	h := http.Header{}
	if r.adminToken != "" {
		h.Set("Authorization", "Bearer "+r.adminToken)
	}
	return h
}

// adminCall sends a control call and wants 200.
func (r *runner) adminCall(method, path string, body any) (*exchange, error) {
	var b []byte
	h := r.adminHeader()
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return nil, err
		}
		h.Set("Content-Type", "application/json")
	}
	x, err := r.send(method, r.root+"/__admin/"+path, nil, b, h)
	if err != nil {
		return nil, err
	}
	if x.status != http.StatusOK {
		return x, fmt.Errorf("%s /__admin/%s: HTTP %d %s", method, path, x.status, strings.TrimSpace(string(x.body)))
	}
	return x, nil
}

// setup gives a target with a control API the script's fixtures, a clean state, the
// release and the clock start.
func (r *runner) setup(s *Script, rel string) error {
	sc := *s.Fixtures
	sc.Version = ""
	if _, err := r.adminCall(http.MethodPut, "scenario", sc); err != nil {
		return err
	}
	if _, err := r.adminCall(http.MethodPost, "reset", nil); err != nil {
		return err
	}
	if _, err := r.adminCall(http.MethodPut, "version", map[string]string{"version": rel}); err != nil {
		return err
	}
	if sc.Clock.Start != "" {
		if _, err := r.adminCall(http.MethodPost, "clock/set", map[string]string{"now": sc.Clock.Start}); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) run(s *Script, suite *Suite) {
	start := time.Now()
	suite.Steps = make([]StepResult, 0, len(s.Steps))
	for i := range s.Steps {
		if !s.Steps[i].runsOn(r.release) {
			continue
		}
		t0 := time.Now()
		res := r.step(i, &s.Steps[i])
		res.Duration = time.Since(t0)
		suite.Steps = append(suite.Steps, res)
	}
	suite.Duration = time.Since(start)
}

// Title is the step's name, or a summary of what it does.
func (st *Step) Title() string {
	if st.Name != "" {
		return st.Name
	}
	switch {
	case st.Request != nil:
		return st.Request.Method + " " + st.Request.Action
	case st.Admin != nil:
		return st.Admin.Method + " /__admin/" + st.Admin.Path
	case st.Advance != "":
		return "advance the clock " + st.Advance
	case st.SetClock != "":
		return "set the clock to " + st.SetClock
	}
	return "switch the release to " + st.Release
}

func (r *runner) step(i int, st *Step) StepResult {
	res := StepResult{Index: i + 1, Name: st.Title(), Line: st.line, Status: Passed}
	skip := func(reason string) StepResult {
		res.Status, res.Reason = Skipped, reason
		res.Unchecked = st.checks()
		return res
	}
	fail := func(what, want, got string) StepResult {
		res.Status = Failed
		res.Failures = append(res.Failures, Failure{What: what, Want: want, Got: got})
		return res
	}
	// Clock and release steps: through the control API, or skipped, and then every
	// later request is skipped too (its answer could depend on the time or release).
	if st.Advance != "" || st.SetClock != "" || st.Release != "" {
		if !r.admin {
			r.taint(res)
			return skip("the target has no control API (/__admin)")
		}
		var x *exchange
		var err error
		switch {
		case st.Advance != "":
			x, err = r.adminCall(http.MethodPost, "clock/advance", map[string]string{"duration": st.Advance})
		case st.SetClock != "":
			x, err = r.adminCall(http.MethodPost, "clock/set", map[string]string{"now": st.SetClock})
		default:
			x, err = r.adminCall(http.MethodPut, "version", map[string]string{"version": st.Release})
			if err == nil {
				r.release = mockserver.MustParseRelease(st.Release)
			}
		}
		if x != nil && x.status == http.StatusConflict && st.Release == "" {
			r.taint(res)
			return skip("the target's clock is real and cannot be moved")
		}
		if err != nil {
			return fail("control call", "HTTP 200", err.Error())
		}
		return res
	}
	req := st.Request
	var target string
	if st.Admin != nil {
		if !r.admin {
			return skip("the target has no control API (/__admin)")
		}
		req = st.Admin
		target = r.root + "/__admin/" + strings.TrimPrefix(req.Path, "/")
	} else {
		if r.tainted != "" {
			return skip(r.tainted)
		}
		target = r.root + r.base + "/" + strings.TrimPrefix(req.Action, "/")
	}
	h, body, query, err := r.build(req, st.Admin != nil)
	if err != nil {
		return fail("request", "every ${name} defined", err.Error())
	}
	x, err := r.send(req.Method, target, query, body, h)
	if err != nil {
		res.Request = describeRequest(req.Method, target, query, body, h)
		return fail("answer", "an HTTP answer", err.Error())
	}
	e := st.forRelease(r.release)
	res.Failures = r.check(e, x)
	for _, name := range sortedKeys(st.Save) {
		path := st.Save[name]
		v, ok := lookup(x.json, path)
		if r.vars == nil {
			r.vars, r.unsaved = map[string]any{}, map[string]string{}
		}
		if !ok {
			delete(r.vars, name)
			r.unsaved[name] = fmt.Sprintf("step %d found no %s in its answer", res.Index, path)
			continue
		}
		r.vars[name] = v
		delete(r.unsaved, name)
	}
	if len(res.Failures) > 0 {
		res.Status = Failed
		res.Request = describeRequest(req.Method, x.url, nil, body, h)
		res.Response = x.describe()
	}
	return res
}

// checks tells whether the step carries expectations (which a skip leaves unchecked).
func (st *Step) checks() bool {
	return st.Expect != nil || len(st.ExpectByRelease) > 0
}

// taint skips every later request: its answer may depend on the skipped step.
func (r *runner) taint(res StepResult) {
	if r.tainted == "" {
		r.tainted = fmt.Sprintf("step %d (%s) was skipped and this answer may depend on it", res.Index, res.Name)
	}
}

// build makes the request's headers, body and query, with ${name} replaced.
func (r *runner) build(req *Request, admin bool) (http.Header, []byte, url.Values, error) {
	h := http.Header{}
	if admin {
		h = r.adminHeader()
	}
	var body []byte
	switch {
	case req.Body != nil:
		v, err := r.value(req.Body)
		if err != nil {
			return nil, nil, nil, err
		}
		if body, err = json.Marshal(v); err != nil {
			return nil, nil, nil, err
		}
		h.Set("Content-Type", "application/json")
	case req.RawBody != nil:
		s, err := r.str(*req.RawBody)
		if err != nil {
			return nil, nil, nil, err
		}
		body = []byte(s)
	}
	if req.Basic != nil {
		k, err := r.str(*req.Basic)
		if err != nil {
			return nil, nil, nil, err
		}
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(k+":")))
	}
	for _, k := range sortedKeys(req.Headers) {
		v, err := r.str(req.Headers[k])
		if err != nil {
			return nil, nil, nil, err
		}
		h.Set(k, v)
	}
	q := url.Values{}
	for _, k := range sortedKeys(req.Query) {
		v, err := r.str(req.Query[k])
		if err != nil {
			return nil, nil, nil, err
		}
		q.Set(k, v)
	}
	return h, body, q, nil
}

// exchange is one request and its answer.
type exchange struct {
	url    string
	status int
	header http.Header
	body   []byte
	json   any // the decoded body; nil when it is not JSON
}

func (r *runner) send(method, u string, q url.Values, body []byte, h http.Header) (*exchange, error) {
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(r.ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	x := &exchange{url: u, status: resp.StatusCode, header: resp.Header, body: b}
	if err := json.Unmarshal(b, &x.json); err != nil {
		x.json = nil
	}
	return x, nil
}

var secretField = regexp.MustCompile(`("(?:password|pass_code)"\s*:\s*)"(?:[^"\\]|\\.)*"`)

// describeRequest shows a request for a failure report, secrets masked.
func describeRequest(method, u string, q url.Values, body []byte, h http.Header) string {
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	if p, err := url.Parse(u); err == nil {
		u = p.RequestURI()
	}
	var b strings.Builder
	b.WriteString(method + " " + u)
	for _, k := range sortedKeys(h) {
		v := h.Get(k)
		if k == "Authorization" {
			scheme, _, _ := strings.Cut(v, " ")
			v = scheme + " …"
		}
		fmt.Fprintf(&b, "\n%s: %s", k, v)
	}
	if len(body) > 0 {
		b.WriteString("\n" + clip(secretField.ReplaceAllString(string(body), `$1"***"`), 600))
	}
	return b.String()
}

func (x *exchange) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", x.status)
	for _, k := range []string{"Content-Type", "Deprecation"} {
		if v := x.header.Get(k); v != "" {
			fmt.Fprintf(&b, "\n%s: %s", k, v)
		}
	}
	if len(x.body) > 0 {
		b.WriteString("\n" + clip(strings.TrimSpace(string(x.body)), 800))
	}
	return b.String()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + " …"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
