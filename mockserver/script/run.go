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
	"sync"
	"time"

	"github.com/crmmock/crmmock/internal/wire"
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
	// Parallel is how many scripts RunAll runs at once (0 or 1: one after another).
	// In-process each suite has its own mock anyway; against a target each suite runs
	// in its own sandbox, or one after another when the target has no sandbox API.
	Parallel int
	// Installation, with a Target, translates the scripts' expected codes, HTTP statuses
	// of errors, JWT lifetime and oun into the target's (see NewInstallation).
	Installation *Installation
	// InRoot runs the scripts in the root mock of a target with a control API, as
	// before sandboxes: each suite loads its fixtures there, resets it and sets its
	// release and clock, so the target's own clock, release, tokens and fixtures are
	// gone afterwards. Without it a target with the sandbox API (a crmmock) keeps its
	// root as it was: each suite runs in a sandbox of its own (POST /__admin/sandboxes
	// with the script's fixtures, release and clock start; deleted after), one after
	// another or with Parallel. A target with a control API but no sandbox API is run
	// in its root either way, and each suite notes it.
	InRoot bool
	// LookupEnv reads the environment for ${env.NAME}, and for ${NAME} on a target
	// without a control API (where the script's fixtures are not in force); nil:
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)

	sandboxed bool // run each suite in its own sandbox of the target
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
	Facts   []string `json:"facts,omitempty"` // the facts the script checks (F6 …)
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
		suites[i].AllowSkips, suites[i].Facts = o.AllowSkips, s.Facts
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
	_, ok := matchRelease(s.Releases, v)
	return ok
}

// everything is what an in-process mock offers: every requirement.
var everything = map[string]bool{"lint": true, "faults": true, "sandboxes": true}

func runInProcess(ctx context.Context, s *Script, rel string, o Options) Suite {
	suite := Suite{File: s.File, Release: rel, Target: "in-process"}
	srv, err := mockserver.NewServer(mockserver.Options{Version: rel, Scenario: s.Fixtures})
	if err != nil {
		suite.Error = err.Error()
		return suite
	}
	defer srv.Close()
	r := &runner{ctx: ctx, client: srv.Client(), root: srv.URL, admin: true, caps: everything, fixtures: s.Fixtures,
		main: &endpoint{api: srv.URL + srv.BasePath(), adm: srv.URL + "/__admin", release: mockserver.MustParseRelease(rel)},
		env:  o.LookupEnv}
	r.run(s, &suite)
	return suite
}

// target is what a probe of a target found.
type target struct {
	admin bool            // it has the mock's control API
	caps  map[string]bool // lint, faults, sandboxes
}

// probe tells whether the target has a control API, and which of the lint, fault and
// sandbox APIs.
func (r *runner) probe() (target, error) {
	var t target
	x, err := r.send(http.MethodGet, r.root+"/__admin/health", nil, nil, r.adminHeader())
	if err != nil {
		return t, fmt.Errorf("target %s: %v", r.root, err)
	}
	switch {
	case x.status == http.StatusUnauthorized && x.header.Get("WWW-Authenticate") != "":
		return t, fmt.Errorf("target %s: its control API answers 401: give the admin token (--admin-token)", r.root)
	case x.status == http.StatusOK:
		st, _ := lookup(x.json, "status")
		t.admin = st == "ok"
	}
	if !t.admin {
		return t, nil
	}
	// /__admin/health stays open under --admin-token: ask a guarded call.
	c, err := r.send(http.MethodGet, r.root+"/__admin/clock", nil, nil, r.adminHeader())
	if err != nil {
		return t, fmt.Errorf("target %s: %v", r.root, err)
	}
	if c.status == http.StatusUnauthorized && c.header.Get("WWW-Authenticate") != "" {
		return t, fmt.Errorf("target %s: its control API answers 401: give the admin token (--admin-token)", r.root)
	}
	t.caps = map[string]bool{}
	for name, path := range map[string]string{"lint": "lint", "faults": "faults", "sandboxes": "sandboxes"} {
		x, err := r.send(http.MethodGet, r.root+"/__admin/"+path, nil, nil, r.adminHeader())
		t.caps[name] = err == nil && x.status == http.StatusOK
	}
	return t, nil
}

// lacks says why a target cannot run the script, or "".
func (s *Script) lacks(t target) string {
	for _, req := range s.Requires {
		switch {
		case !t.admin && req == "mock-fixtures":
			return fmt.Sprintf("the script requires %s (%s) and the target has no control API to load them", req, Requirements[req])
		case !t.admin:
			return fmt.Sprintf("the script requires %s (%s) and the target has no control API", req, Requirements[req])
		case req != "mock-fixtures" && req != "control-api" && !t.caps[req]:
			return fmt.Sprintf("the script requires %s (%s) and the target does not offer it", req, Requirements[req])
		}
	}
	return ""
}

// runTarget runs a script against a server at o.Target: once, as the release it is
// taken to be, when it has no control API; else once per release.
func runTarget(ctx context.Context, s *Script, releases []string, o Options) []Suite {
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	root := strings.TrimRight(o.Target, "/")
	r := &runner{ctx: ctx, client: client, root: root, adminToken: o.AdminToken, env: o.LookupEnv, fixtures: s.Fixtures, inst: o.Installation}
	t, err := r.probe()
	if err != nil {
		return []Suite{{File: s.File, Release: strings.Join(releases, ","), Target: root, Error: err.Error()}}
	}
	if !t.admin {
		return []Suite{r.runPlain(s, t, releases[len(releases)-1], o)}
	}
	var out []Suite
	for _, rel := range releases {
		out = append(out, r.runRelease(s, t, rel, o))
	}
	return out
}

// runPlain runs a script against a target without a control API, taken to run rel.
func (r *runner) runPlain(s *Script, t target, rel string, o Options) Suite {
	if why := s.lacks(t); why != "" {
		return Suite{File: s.File, Release: rel, Target: r.root, Steps: []StepResult{}, NotApplicable: why}
	}
	suite := Suite{File: s.File, Release: rel, Target: r.root, Notes: []string{fmt.Sprintf(
		"the target has no control API (/__admin): fixtures not loaded, clock, release and admin steps skipped; the target is taken to be %s (--release says which release it runs)", rel)}}
	r.main = &endpoint{api: r.root + o.BasePath, adm: r.root + "/__admin", release: mockserver.MustParseRelease(rel)}
	r.plainEnv, r.obtained = true, map[string]bool{}
	r.run(s, &suite)
	if note := r.releaseObtained(rel); note != "" {
		suite.Notes = append(suite.Notes, note)
	}
	return suite
}

// runRelease runs a script as rel on a target with a control API: in a sandbox of its
// own when the target offers them (and --in-root is not given), else in its root.
func (r *runner) runRelease(s *Script, t target, rel string, o Options) Suite {
	root := r.root
	suite := Suite{File: s.File, Release: rel, Target: root}
	if why := s.lacks(t); why != "" {
		suite.Steps, suite.NotApplicable = []StepResult{}, why
		return suite
	}
	rr := *r
	rr.admin, rr.caps = true, t.caps
	ep := &endpoint{api: root + o.BasePath, adm: root + "/__admin", release: mockserver.MustParseRelease(rel)}
	var err error
	switch {
	case o.sandboxed || (!o.InRoot && t.caps["sandboxes"]):
		if ep, err = rr.newSandbox(rel, ""); err != nil {
			err = fmt.Errorf("%v (the script runs in a sandbox of its own, to keep the target's state; --in-root runs it in the target's root instead, replacing its fixtures, tokens, release and clock)", err)
		}
	default:
		if !o.InRoot {
			suite.Notes = append(suite.Notes, "the target has no sandbox API (POST /__admin/sandboxes): the script ran in its root, replacing its fixtures, tokens, release and clock")
		}
		err = rr.setup(ep, s, rel)
	}
	if err != nil {
		suite.Error = err.Error()
	} else {
		rr.main = ep
		rr.run(s, &suite)
		if ep.id != "" {
			rr.dropSandbox(ep, &suite)
		}
	}
	return suite
}

// endpoint is a mock the steps talk to: the script's own, or a sandbox.
type endpoint struct {
	api     string // the Web API's base URL, base path included
	adm     string // the control API's URL (…/__admin)
	release mockserver.Release
	id      string // the sandbox id; empty for a mock that is no sandbox
}

// runner holds one suite's connection and saved values.
type runner struct {
	ctx        context.Context
	client     *http.Client
	root       string // the server's root URL (sandboxes are created there)
	adminToken string
	admin      bool            // the target has a control API
	caps       map[string]bool // lint, faults, sandboxes
	fixtures   *mockserver.Scenario
	main       *endpoint
	sandboxes  map[string]*endpoint // by the name sandbox steps give them
	env        func(string) (string, bool)
	plainEnv   bool // ${NAME} may come from the environment: the script's fixtures are not in force
	vars       map[string]any
	unsaved    map[string]string // name → why a save found nothing
	tainted    string            // why every later request is skipped
	inst       *Installation     // a real target's names for the catalogue's, or nil
	// obtained holds the tokens a login gave on a target without control API (a real
	// installation), to release when the script ends; nil elsewhere.
	obtained map[string]bool
	order    []string // obtained, in order
}

// releaseObtained releases, on a real installation of R10 or later (the learned
// scenario's release, else the one the script is taken to run), every token the script
// obtained there, so a run leaves no live session behind. It says how many.
func (r *runner) releaseObtained(rel string) string {
	if len(r.order) == 0 {
		return ""
	}
	if r.inst != nil && r.inst.Release != "" {
		rel = r.inst.Release
	}
	if v, err := mockserver.ParseRelease(rel); err != nil || v.Major < 10 {
		return ""
	}
	released := 0
	for _, tok := range r.order {
		body, _ := json.Marshal(map[string]string{"token": tok})
		x, err := r.send(http.MethodPost, r.main.api+"/authentication/token/release", nil, body,
			http.Header{"Content-Type": {"application/json"}})
		if err == nil {
			if code, _ := lookup(x.json, "status.code"); code == wire.CodeOK {
				released++
			}
		}
	}
	return fmt.Sprintf("released %d of the %d tokens the script obtained on the target (the others were released or dead already)", released, len(r.order))
}

func (r *runner) adminHeader() http.Header {
	h := http.Header{}
	if r.adminToken != "" {
		h.Set("Authorization", "Bearer "+r.adminToken)
	}
	return h
}

// adminCall sends a control call to a URL and wants a 2xx answer.
func (r *runner) adminCall(method, u string, body any) (*exchange, error) {
	var b []byte
	h := r.adminHeader()
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return nil, err
		}
		h.Set("Content-Type", "application/json")
	}
	x, err := r.send(method, u, nil, b, h)
	if err != nil {
		return nil, err
	}
	if x.status/100 != 2 {
		path := u
		if p, err := url.Parse(u); err == nil {
			path = p.Path
		}
		return x, fmt.Errorf("%s %s: HTTP %d %s", method, clip(path, 120), x.status, clip(strings.TrimSpace(string(x.body)), 300))
	}
	return x, nil
}

// setup gives a target with a control API the script's fixtures, a clean state, the
// release and the clock start.
func (r *runner) setup(ep *endpoint, s *Script, rel string) error {
	sc := *s.Fixtures
	sc.Version = ""
	if _, err := r.adminCall(http.MethodPut, ep.adm+"/scenario", sc); err != nil {
		return err
	}
	if _, err := r.adminCall(http.MethodPost, ep.adm+"/reset", nil); err != nil {
		return err
	}
	if _, err := r.adminCall(http.MethodPut, ep.adm+"/version", map[string]string{"version": rel}); err != nil {
		return err
	}
	if sc.Clock.Start != "" {
		if _, err := r.adminCall(http.MethodPost, ep.adm+"/clock/set", map[string]string{"now": sc.Clock.Start}); err != nil {
			return err
		}
	}
	return nil
}

// newSandbox creates a sandbox with the script's fixtures (POST /__admin/sandboxes).
func (r *runner) newSandbox(rel, start string) (*endpoint, error) {
	sc := *r.fixtures
	sc.Version = ""
	if start == "" {
		start = sc.Clock.Start
	}
	body := map[string]any{"version": rel, "scenario": sc}
	if start != "" {
		body["start"] = start
	}
	x, err := r.adminCall(http.MethodPost, r.root+"/__admin/sandboxes", body)
	if err != nil {
		return nil, fmt.Errorf("creating a sandbox: %v", err)
	}
	var got struct {
		ID       string `json:"id"`
		BaseURL  string `json:"base_url"`
		AdminURL string `json:"admin_url"`
	}
	if err := json.Unmarshal(x.body, &got); err != nil || got.ID == "" || got.BaseURL == "" || got.AdminURL == "" {
		return nil, fmt.Errorf("creating a sandbox: the answer lacks id, base_url or admin_url: %s", clip(string(x.body), 300))
	}
	return &endpoint{api: strings.TrimRight(got.BaseURL, "/"), adm: strings.TrimRight(got.AdminURL, "/"),
		release: mockserver.MustParseRelease(rel), id: got.ID}, nil
}

// dropSandbox deletes a sandbox; a failure is a note (the target drops idle sandboxes
// by itself). It is sent also when the run was cancelled (Ctrl-C), within
// dropTimeout: a cancelled run must not leave its sandboxes on the target.
func (r *runner) dropSandbox(ep *endpoint, suite *Suite) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), dropTimeout)
	defer cancel()
	rr := *r
	rr.ctx = ctx
	if _, err := rr.adminCall(http.MethodDelete, r.root+"/__admin/sandboxes/"+url.PathEscape(ep.id), nil); err != nil {
		suite.Notes = append(suite.Notes, fmt.Sprintf("sandbox %s was not deleted: %v", ep.id, err))
	}
}

// dropTimeout bounds the deletion of a sandbox once the run is over or cancelled.
const dropTimeout = 10 * time.Second

func (r *runner) run(s *Script, suite *Suite) {
	start := time.Now()
	suite.Steps = make([]StepResult, 0, len(s.Steps))
	for i := range s.Steps {
		if !s.Steps[i].runsOn(r.main.release) {
			continue
		}
		t0 := time.Now()
		res := r.step(i, &s.Steps[i])
		res.Duration = time.Since(t0)
		suite.Steps = append(suite.Steps, res)
	}
	for _, name := range sortedKeys(r.sandboxes) {
		r.dropSandbox(r.sandboxes[name], suite)
	}
	suite.Duration = time.Since(start)
}

// Title is the step's name, or a summary of what it does.
func (st *Step) Title() string {
	if st.Name != "" {
		return st.Name
	}
	in := ""
	if st.In != "" {
		in = " in sandbox " + st.In
	}
	switch {
	case st.Request != nil:
		return st.Request.Method + " " + st.Request.Action + in
	case st.Admin != nil:
		return st.Admin.Method + " /__admin/" + st.Admin.Path + in
	case st.Advance != "":
		return "advance the clock " + st.Advance + in
	case st.SetClock != "":
		return "set the clock to " + st.SetClock + in
	case st.Lint != nil:
		return st.Lint.title() + in
	case st.Fault != nil:
		return st.Fault.title() + in
	case st.ClearFaults == "all":
		return "clear every fault" + in
	case st.ClearFaults != "":
		return "clear fault " + st.ClearFaults + in
	case st.ExpireToken != "":
		return "expire token " + st.ExpireToken + in
	case st.RevokeToken == "all":
		return "revoke every token" + in
	case st.RevokeToken != "":
		return "revoke token " + st.RevokeToken + in
	case st.Sandbox != nil:
		return "create sandbox " + st.Sandbox.Name
	}
	return "switch the release to " + st.Release + in
}

func (l *LintExpect) title() string {
	var parts []string
	if len(l.Fired) > 0 {
		parts = append(parts, strings.Join(l.Fired, ", ")+" fired")
	}
	if len(l.NotFired) > 0 {
		parts = append(parts, strings.Join(l.NotFired, ", ")+" did not fire")
	}
	if len(l.None) > 0 {
		other := ""
		if len(l.Fired) > 0 {
			other = "other "
		}
		parts = append(parts, "no "+other+strings.Join(l.None, " or ")+" finding")
	}
	if len(parts) == 0 {
		return "the lint report"
	}
	return "lint: " + strings.Join(parts, "; ")
}

func (f *Fault) title() string {
	var what string
	switch {
	case f.DropConnection:
		what = "drop the connection"
	case f.Answer != nil && f.Answer.Code != "":
		what = "answer " + f.Answer.Code
	default:
		what = "answer INTERNAL_ERROR"
	}
	if f.Delay != "" {
		if f.DropConnection || f.Answer != nil {
			what = "after " + f.Delay + ", " + what
		} else {
			what = "delay " + f.Delay
		}
	}
	times := "once"
	if f.Times != nil {
		switch *f.Times {
		case 0:
			times = "until cleared"
		case 1:
		default:
			times = fmt.Sprintf("%d times", *f.Times)
		}
	}
	if f.After != nil && *f.After > 0 {
		times += fmt.Sprintf(", after %d", *f.After)
	}
	return fmt.Sprintf("fault on %s: %s %s", f.Operation, what, times)
}

// stateStep tells whether a step changes the mock's state through the control API
// (so that a skip of it makes later answers unreliable).
func (st *Step) stateStep() bool {
	return st.Advance != "" || st.SetClock != "" || st.Release != "" || st.Fault != nil ||
		st.ClearFaults != "" || st.ExpireToken != "" || st.RevokeToken != "" || st.Sandbox != nil
}

// step runs one step and says how it went.
func (r *runner) step(i int, st *Step) StepResult {
	res := StepResult{Index: i + 1, Name: st.Title(), Line: st.line, Status: Passed}
	ep := r.main
	if st.In != "" {
		if ep = r.sandboxes[st.In]; ep == nil {
			return failed(res, "sandbox "+st.In, "created by an earlier step", "no such sandbox (its step failed)")
		}
	}
	switch {
	case st.stateStep():
		return r.stateChange(st, ep, res)
	case st.Lint != nil:
		return r.lintStep(st, ep, res)
	default:
		return r.requestStep(st, ep, res)
	}
}

// skipped is res skipped for reason, with its expectations unchecked.
func skipped(res StepResult, st *Step, reason string) StepResult {
	res.Status, res.Reason = Skipped, reason
	res.Unchecked = st.checks()
	return res
}

// failed is res failed, with one more failure.
func failed(res StepResult, what, want, got string) StepResult {
	res.Status = Failed
	res.Failures = append(res.Failures, Failure{What: what, Want: want, Got: got})
	return res
}

// stateChange does a step that changes the mock's state: through the control API, or
// skipped, and then every later request is skipped too (its answer could depend on it).
func (r *runner) stateChange(st *Step, ep *endpoint, res StepResult) StepResult {
	if !r.admin {
		r.taint(res)
		return skipped(res, st, "the target has no control API (/__admin)")
	}
	x, err := r.control(st, ep)
	if x != nil && x.status == http.StatusConflict && (st.Advance != "" || st.SetClock != "") {
		r.taint(res)
		return skipped(res, st, "the target's clock is real and cannot be moved")
	}
	if err != nil {
		return failed(res, "control call", "HTTP 2xx", err.Error())
	}
	r.save(st, res.Index, x)
	return res
}

// lintStep reads the lint report and checks it.
func (r *runner) lintStep(st *Step, ep *endpoint, res StepResult) StepResult {
	if !r.admin {
		return skipped(res, st, "the target has no control API (/__admin)")
	}
	x, err := r.adminCall(http.MethodGet, ep.adm+"/lint", nil)
	if err != nil {
		return failed(res, "lint report", "HTTP 200", err.Error())
	}
	res.Failures = append(checkLint(st.Lint, x), r.check(st.forRelease(ep.release), x)...)
	r.save(st, res.Index, x)
	if len(res.Failures) > 0 {
		res.Status = Failed
		res.Request = "GET " + pathOf(x.url)
		res.Response = describeLint(x)
	}
	return res
}

// requestStep sends a Web API or admin request and checks its answer.
func (r *runner) requestStep(st *Step, ep *endpoint, res StepResult) StepResult {
	req := st.Request
	var target string
	if st.Admin != nil {
		if !r.admin {
			return skipped(res, st, "the target has no control API (/__admin)")
		}
		req = st.Admin
		target = ep.adm + "/" + strings.TrimPrefix(req.Path, "/")
	} else {
		if r.tainted != "" {
			return skipped(res, st, r.tainted)
		}
		target = ep.api + "/" + strings.TrimPrefix(req.Action, "/")
	}
	h, body, query, err := r.build(req, st.Admin != nil)
	if err != nil {
		return failed(res, "request", "every ${name} defined", err.Error())
	}
	e := st.forRelease(ep.release)
	t0 := time.Now()
	x, err := r.send(req.Method, target, query, body, h)
	took := time.Since(t0)
	switch {
	case err != nil && e.Dropped && r.ctx.Err() == nil:
		return res // the connection closed without an answer, as expected
	case err != nil:
		res.Request = describeRequest(req.Method, target, query, body, h)
		return failed(res, "answer", "an HTTP answer", err.Error())
	case e.Dropped:
		res.Request = describeRequest(req.Method, x.url, nil, body, h)
		res.Response = x.describe()
		return failed(res, "answer", "none: the connection closed without an answer", fmt.Sprintf("HTTP %d", x.status))
	}
	res.Failures = r.check(e, x)
	if e.TookAtLeast != "" {
		if min, _ := time.ParseDuration(e.TookAtLeast); took < min {
			res.Failures = append(res.Failures, Failure{What: "time to answer", Want: "at least " + e.TookAtLeast, Got: took.Round(time.Millisecond).String()})
		}
	}
	r.save(st, res.Index, x)
	if len(res.Failures) > 0 {
		res.Status = Failed
		res.Request = describeRequest(req.Method, x.url, nil, body, h)
		res.Response = x.describe()
	}
	return res
}

// control does a step that changes a mock's state through its control API.
func (r *runner) control(st *Step, ep *endpoint) (*exchange, error) {
	switch {
	case st.Advance != "":
		return r.adminCall(http.MethodPost, ep.adm+"/clock/advance", map[string]string{"duration": st.Advance})
	case st.SetClock != "":
		return r.adminCall(http.MethodPost, ep.adm+"/clock/set", map[string]string{"now": st.SetClock})
	case st.Release != "":
		x, err := r.adminCall(http.MethodPut, ep.adm+"/version", map[string]string{"version": st.Release})
		if err == nil {
			ep.release = mockserver.MustParseRelease(st.Release)
		}
		return x, err
	case st.Fault != nil:
		return r.addFault(st, ep)
	case st.ClearFaults == "all":
		return r.adminCall(http.MethodDelete, ep.adm+"/faults", nil)
	case st.ClearFaults != "":
		id, err := r.str(st.ClearFaults)
		if err != nil {
			return nil, err
		}
		return r.adminCall(http.MethodDelete, ep.adm+"/faults/"+url.PathEscape(id), nil)
	case st.ExpireToken != "":
		tok, err := r.str(st.ExpireToken)
		if err != nil {
			return nil, err
		}
		return r.adminCall(http.MethodPost, ep.adm+"/tokens/"+url.PathEscape(tok)+"/expire", nil)
	case st.RevokeToken == "all":
		return r.adminCall(http.MethodPost, ep.adm+"/tokens/revoke", nil)
	case st.RevokeToken != "":
		tok, err := r.str(st.RevokeToken)
		if err != nil {
			return nil, err
		}
		return r.adminCall(http.MethodPost, ep.adm+"/tokens/"+url.PathEscape(tok)+"/revoke", nil)
	case st.Sandbox != nil:
		return r.createSandbox(st)
	}
	return nil, fmt.Errorf("step %d does nothing", st.index)
}

// addFault posts a fault step's fault, ${name} replaced, and checks the answer has an id.
func (r *runner) addFault(st *Step, ep *endpoint) (*exchange, error) {
	b, err := json.Marshal(st.Fault)
	if err != nil {
		return nil, err
	}
	var body any
	_ = json.Unmarshal(b, &body)
	if body, err = r.value(body); err != nil {
		return nil, err
	}
	x, err := r.adminCall(http.MethodPost, ep.adm+"/faults", body)
	if err == nil {
		if id, ok := lookup(x.json, "id"); !ok || id == "" {
			return x, fmt.Errorf("POST /__admin/faults: the answer has no id: %s", clip(string(x.body), 300))
		}
	}
	return x, err
}

// createSandbox creates a sandbox step's sandbox and names it for in: and ${name}.
func (r *runner) createSandbox(st *Step) (*exchange, error) {
	rel := st.Sandbox.Version
	if rel == "" {
		rel = r.main.release.Name
	}
	sb, err := r.newSandbox(rel, st.Sandbox.Start)
	if err != nil {
		return nil, err
	}
	if r.sandboxes == nil {
		r.sandboxes = map[string]*endpoint{}
	}
	r.sandboxes[st.Sandbox.Name] = sb
	r.setVar(st.Sandbox.Name, sb.id)
	return &exchange{status: http.StatusCreated, json: map[string]any{"id": sb.id, "base_url": sb.api, "admin_url": sb.adm}}, nil
}

// save keeps the values a step's save names.
func (r *runner) save(st *Step, index int, x *exchange) {
	if x == nil {
		return
	}
	for _, name := range sortedKeys(st.Save) {
		path := st.Save[name]
		v, ok := lookup(x.json, path)
		if !ok {
			if r.unsaved == nil {
				r.unsaved = map[string]string{}
			}
			delete(r.vars, name)
			r.unsaved[name] = fmt.Sprintf("step %d found no %s in its answer", index, path)
			continue
		}
		r.setVar(name, v)
	}
}

func (r *runner) setVar(name string, v any) {
	if r.vars == nil {
		r.vars = map[string]any{}
	}
	r.vars[name] = v
	delete(r.unsaved, name)
}

// checks tells whether the step carries expectations (which a skip leaves unchecked).
func (st *Step) checks() bool {
	return st.Expect != nil || len(st.ExpectByRelease) > 0 || st.Lint != nil
}

// taint skips every later request: its answer may depend on the skipped step.
func (r *runner) taint(res StepResult) {
	if r.tainted == "" {
		r.tainted = fmt.Sprintf("step %d (%s) was skipped and this answer may depend on it", res.Index, res.Name)
	}
}

func pathOf(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.RequestURI()
	}
	return u
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
	if r.obtained != nil && strings.HasSuffix(u, "/token") { // a login on a real installation
		if tok, ok := lookup(x.json, "data.token"); ok {
			if s, _ := tok.(string); s != "" && !r.obtained[s] {
				r.obtained[s] = true
				r.order = append(r.order, s)
			}
		}
	}
	return x, nil
}

var secretField = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`("(?:password|pass_code)"\s*:\s*)"(?:[^"\\]|\\.)*"`) })

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
		b.WriteString("\n" + clip(secretField().ReplaceAllString(string(body), `$1"***"`), 600))
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
