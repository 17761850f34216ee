package script_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/crmmock/crmmock/internal/testutil/mocktest"
	"github.com/crmmock/crmmock/mockserver"
	"github.com/crmmock/crmmock/mockserver/script"
	"github.com/crmmock/crmmock/mockserver/script/scripttest"
)

var shipped = filepath.Join("..", "..", "scenarios", "scripts", "*.yaml")

// Ensure every shipped script passes on every release it lists (the catalogue).
func TestCatalogue(t *testing.T) {
	files, err := filepath.Glob(shipped)
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped scripts at %s (%v)", shipped, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			scripttest.RunFile(t, f)
		})
	}
}

// Ensure the catalogue names every fact the mock models: F2, F5–F10, F12, F15–F21.
func TestCatalogueCoversFacts(t *testing.T) {
	files, _ := filepath.Glob(shipped)
	covered := map[string]bool{}
	for _, f := range files {
		s, err := script.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if s.Description == "" || len(s.Facts) == 0 {
			t.Errorf("%s: a shipped script needs a description and facts", f)
		}
		for _, fact := range s.Facts {
			covered[fact] = true
		}
	}
	for _, want := range []string{"F2", "F5", "F6", "F7", "F8", "F9", "F10", "F12", "F15", "F16", "F17", "F18", "F19", "F20", "F21"} {
		if !covered[want] {
			t.Errorf("no shipped script names fact %s", want)
		}
	}
}

// Ensure the catalogue has, for every lint rule of docs/lint.md, a script whose lint
// step expects it fired, and for every fault kind of docs/faults-and-sandboxes.md a script that makes it and
// checks what the client sees.
func TestCatalogueCoversRulesAndFaults(t *testing.T) {
	files, _ := filepath.Glob(shipped)
	fired := map[string]string{}
	faults := map[string]string{}
	for _, f := range files {
		s, err := script.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		for _, st := range s.Steps {
			switch {
			case st.Lint != nil:
				for _, id := range st.Lint.Fired {
					fired[id] = name
				}
			case st.Fault != nil && st.Fault.DropConnection:
				faults["drop_connection"] = name
			case st.Fault != nil && st.Fault.Delay != "":
				faults["delay"] = name
			case st.Fault != nil:
				faults["answer"] = name
			case st.ExpireToken != "":
				faults["expire_token"] = name
			case st.RevokeToken != "":
				faults["revoke_token"] = name
			}
		}
	}
	for _, id := range script.LintRules {
		if fired[id] == "" {
			t.Errorf("no shipped script expects lint rule %s fired", id)
		} else if want := "lint-" + id + ".yaml"; fired[id] != want && !hasFile(files, want) {
			t.Errorf("lint rule %s: no %s (fired in %s)", id, want, fired[id])
		}
	}
	for _, kind := range script.FaultKinds {
		if faults[kind] == "" {
			t.Errorf("no shipped script shows a fault of kind %s", kind)
		}
	}
}

func hasFile(files []string, base string) bool {
	for _, f := range files {
		if filepath.Base(f) == base {
			return true
		}
	}
	return false
}

// Ensure unknown keys, bad values and bad fixtures are errors naming the line.
func TestParseErrorsNameTheLine(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"unknown step key", `releases: [R10]
steps:
  - request: {method: GET, action: contact_information/show}
    expct: {code: OK}
`, `line 4: unknown key "expct"`},
		{"unknown expect key", `releases: [R10]
steps:
  - request: {method: GET, action: contact_information/show}
    expect:
      code: OK
      stauts: 200
`, `line 6: unknown key "stauts"`},
		{"unknown top-level key", `releases: [R10]
step: []
`, `line 2: unknown key "step"`},
		{"bad release", `releases: [R10, X9]
steps: [{advance: 1h}]
`, `line 1: releases: unknown release "X9"`},
		{"bad duration", `releases: [R10]
steps:
  - advance: 1h
  - advance: soon
`, `line 4: step 2: advance: "soon" is not a positive Go duration`},
		{"two kinds in a step", `releases: [R10]
steps:
  - advance: 1h
    release: R12
`, `line 3: step 1: a step does exactly one of`},
		{"bad expect_by_release", `releases: [R10]
steps:
  - request: {method: GET, action: a/b}
    expect_by_release:
      R99x: {code: OK}
`, `line 5: step 1: expect_by_release: unknown release "R99x"`},
		{"dangling fixture reference", `releases: [R10]
organisations:
  - name: CRMDEMO
    units: [{id: U1}]
    users:
      - {username: u, password: p, default_unit: NOPE}
steps: [{advance: 1h}]
`, `line 6: default_unit "NOPE"`},
		{"no releases", `steps: [{advance: 1h}]
`, `releases: list the releases`},
		{"unknown requirement", `releases: [R10]
requires: [mock-fixtures, a-real-clock]
steps: [{advance: 1h}]
`, `line 2: requires: "a-real-clock": want control-api, faults, lint, mock-fixtures, sandboxes`},
		{"bad regexp", `releases: [R10]
steps:
  - request: {method: GET, action: a/b}
    expect: {token: "^[0-9"}
`, `line 4: step 1: token: error parsing regexp`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := script.Parse([]byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want one containing %q", err, c.want)
			}
			if n := strings.Count(err.Error(), "line "); n != 1 {
				t.Errorf("error %q names a line %d times, want once", err, n)
			}
		})
	}
}

func mustParse(t *testing.T, src string) *script.Script {
	t.Helper()
	s, err := script.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s.File = t.Name() + ".yaml"
	return s
}

// Ensure ${NAME} is a saved value, or ${NAME:-default} where the script's fixtures are
// in force (the environment only on a target without a control API); ${env.NAME} is
// always the environment.
func TestSubstitution(t *testing.T) {
	s := mustParse(t, `releases: [R10]
steps:
  - request:
      method: POST
      action: authentication/token
      body: {username: "${CRM_USERNAME:-mpadministrator}", password: "${env.CRM_PASSWORD}", organisation: "${CRM_ORG:-CRMDEMO}"}
    expect: {code: OK}
    save: {CRM_USERNAME: data.token}
  - request: {method: GET, action: contact_information/show, query: {token: "${CRM_USERNAME}"}}
    expect: {code: OK}
  - request: {method: GET, action: contact_information/show, query: {token: "${missing}"}}
    expect: {code: OK}
`)
	env := map[string]string{"CRM_USERNAME": "nobody", "CRM_PASSWORD": "1234"}
	lookup := func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
	suites := script.Run(context.Background(), s, script.Options{LookupEnv: lookup})
	if len(suites) != 1 {
		t.Fatalf("got %d suites, want 1", len(suites))
	}
	st := suites[0].Steps
	if st[0].Status != script.Passed || st[1].Status != script.Passed {
		t.Fatalf("in-process steps 1-2: got %v / %v, want passed (the default, not $CRM_USERNAME; then the saved token): %+v", st[0].Status, st[1].Status, st)
	}
	if st[2].Status != script.Failed || !strings.Contains(st[2].Failures[0].Got, "${missing} is neither saved") {
		t.Fatalf("step 3: got %+v, want a failure naming ${missing}", st[2])
	}

	// On a server without a control API, ${CRM_USERNAME} comes from the environment.
	srv := mocktest.WebAPIOnly(t, "R10")
	suites = script.Run(context.Background(), s, script.Options{Target: srv.URL, LookupEnv: lookup})
	if got := suites[0].Steps[0]; got.Status != script.Failed || !strings.Contains(got.Response, `\"nobody\" is not a user`) {
		t.Errorf("target step 1: got %+v, want the environment's user nobody refused", got)
	}
	env["CRM_USERNAME"] = "mpadministrator"
	suites = script.Run(context.Background(), s, script.Options{Target: srv.URL, LookupEnv: lookup})
	if got := suites[0].Steps[1]; got.Status != script.Passed {
		t.Errorf("target step 2: got %+v, want passed with the saved token winning over $CRM_USERNAME", got)
	}
}

// Ensure expect_by_release matches by profile (R11 uses the R10 entry) and --version
// runs only that release, or nothing for a script not meant for it.
func TestExpectByReleaseProfiles(t *testing.T) {
	s := mustParse(t, `releases: [R10, R12]
steps:
  - request: {method: POST, action: authentication/token/release, body: {token: "00000000000000000000000000000000"}}
    expect: {code: INVALID_TOKEN}
    expect_by_release:
      pre-R10: {http: 404, code: METHOD_NOT_AVAILABLE}
`)
	for _, v := range []string{"R10", "R11", "R12.0.0", "R15"} {
		suites := script.Run(context.Background(), s, script.Options{Version: v})
		if p, f, sk := script.Totals(suites); p != 1 || f != 0 || sk != 0 || suites[0].Release != v {
			t.Errorf("--version %s: got %d/%d/%d on %q, want 1 passed on %s", v, p, f, sk, suites[0].Release, v)
		}
	}
	suites := script.Run(context.Background(), s, script.Options{Version: "R9"})
	if p, f, _ := script.Totals(suites); p+f != 0 || len(suites[0].Notes) == 0 {
		t.Errorf("--version R9 on an R10/R12 script: got %+v, want no steps and a note", suites)
	}
}

// Ensure that on a target without a control API clock steps, and every request after
// them, are skipped with the reason, while the steps before them run.
func TestTargetWithoutControlAPISkipsClockSteps(t *testing.T) {
	srv := mocktest.WebAPIOnly(t, "R10")
	s, err := script.Load(filepath.Join("..", "..", "scenarios", "scripts", "idle-expiry.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	suites := script.Run(context.Background(), s, script.Options{Target: srv.URL})
	if len(suites) != 1 || suites[0].Release != "R10" {
		t.Fatalf("got %d suites, want one, on R10 (the last listed release)", len(suites))
	}
	steps := suites[0].Steps
	if steps[0].Status != script.Passed || steps[1].Status != script.Passed {
		t.Errorf("steps before the first clock move: got %s, %s, want passed", steps[0].Status, steps[1].Status)
	}
	if steps[2].Status != script.Skipped || steps[2].Reason != "the target has no control API (/__admin)" {
		t.Errorf("step 3 (advance): got %s %q, want skipped for the missing control API", steps[2].Status, steps[2].Reason)
	}
	for _, st := range steps[3:] {
		if st.Status != script.Skipped || st.Reason == "" {
			t.Errorf("step %d (%s): got %s %q, want skipped with a reason", st.Index, st.Name, st.Status, st.Reason)
		}
	}
	var out bytes.Buffer
	if err := script.WriteText(&out, suites); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  skipped 3. advance the clock 59m59s: the target has no control API (/__admin)\n",
		"  skipped 4. A is live at 59m59s idle (the use restarts its hour): step 3 (advance the clock 59m59s) was skipped and this answer may depend on it\n",
		"\n2 passed, 0 failed, 13 skipped: 8 expectations went unchecked (facts F6); --allow-skips accepts that\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// Ensure a script expecting R12 JWTs, pointed at a server emulating R10, fails with a
// diff naming what was expected and what came back.
func TestTargetOnOtherReleaseFailsReadably(t *testing.T) {
	srv := mocktest.WebAPIOnly(t, "R10")
	s, err := script.Load(filepath.Join("..", "..", "scenarios", "scripts", "jwt-shape.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	suites := script.Run(context.Background(), s, script.Options{Target: srv.URL})
	first := suites[0].Steps[0]
	if first.Status != script.Failed {
		t.Fatalf("step 1 on R10: got %s, want failed", first.Status)
	}
	var whats []string
	for _, f := range first.Failures {
		whats = append(whats, f.What)
	}
	if !slices.Contains(whats, "data.token") || !slices.Contains(whats, "jwt at data.token") {
		t.Errorf("failures: got %v, want the token pattern and the JWT decoding", whats)
	}
	var out bytes.Buffer
	_ = script.WriteText(&out, suites)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`✗ 1\. a user token is a JWT \(line \d+\)`),
		regexp.MustCompile(`expected data\.token: /\^\[A-Za-z0-9_-\]\+.*/\n\s+got data\.token: "[0-9A-F]{32}"`),
		regexp.MustCompile(`request\s+POST /crmapi/rest/v2/authentication/token`),
		regexp.MustCompile(`"password":"\*\*\*"`),
		regexp.MustCompile(`response\s+HTTP 200`),
		regexp.MustCompile(`(?m)^1 passed, 2 failed, 7 skipped: 4 expectations went unchecked`),
	} {
		if !want.MatchString(out.String()) {
			t.Errorf("report does not match %s:\n%s", want, out.String())
		}
	}
}

// Ensure that against a target with a control API the script's fixtures, release and
// clock are put in place, per release, and the steps pass as in-process: in a sandbox
// of its own per release, the target's root left as it was; with InRoot in the root,
// whose release is then the last one listed.
func TestTargetWithControlAPI(t *testing.T) {
	srv := mockserver.Start(t, mockserver.Options{Version: "pre-R10", AdminToken: "s3cret"})
	s, err := script.Load(filepath.Join("..", "..", "scenarios", "scripts", "other-methods.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, inRoot := range []bool{false, true} {
		suites := script.Run(context.Background(), s, script.Options{Target: srv.URL, AdminToken: "s3cret", InRoot: inRoot})
		if p, f, sk := script.Totals(suites); f != 0 || sk != 0 || p != 3*len(s.Steps) || len(suites) != 3 {
			var out bytes.Buffer
			_ = script.WriteText(&out, suites)
			t.Fatalf("InRoot %v: got %d passed, %d failed, %d skipped in %d suites, want all %d passed:\n%s", inRoot, p, f, sk, len(suites), 3*len(s.Steps), out.String())
		}
		want := map[bool]string{false: "pre-R10", true: "R12"}[inRoot]
		if got := srv.Version().Profile.Name; got != want {
			t.Errorf("InRoot %v: target release after the run: got %s, want %s", inRoot, got, want)
		}
		if n := len(srv.Sandboxes()); n != 0 {
			t.Errorf("InRoot %v: %d sandboxes left behind", inRoot, n)
		}
	}
	suites := script.Run(context.Background(), s, script.Options{Target: srv.URL})
	if suites[0].Error == "" || !strings.Contains(suites[0].Error, "--admin-token") {
		t.Errorf("without the admin token: got %+v, want an error asking for --admin-token", suites[0])
	}
}

// Ensure the JUnit report has a testsuite per file × release and a testcase per step.
func TestJUnit(t *testing.T) {
	s := mustParse(t, `releases: [pre-R10, R12]
steps:
  - name: key tokens
    request: {method: POST, action: authentication/web_api_key/token, basic: EE73C0AE64524371B5DDEFF5F7BB2192, body: {}}
    expect: {code: OK}
  - advance: 1h
`)
	suites := script.Run(context.Background(), s, script.Options{})
	var out bytes.Buffer
	if err := script.WriteJUnit(&out, suites); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, out.String())
	}
	if doc.Tests != 4 || doc.Failures != 1 || len(doc.Suites) != 2 {
		t.Fatalf("got tests=%d failures=%d suites=%d, want 4, 1, 2:\n%s", doc.Tests, doc.Failures, len(doc.Suites), out.String())
	}
	c := doc.Suites[0].Cases[0]
	if doc.Suites[0].Name != "TestJUnit.yaml @ pre-R10" || c.Name != "1. key tokens" || c.Failure == nil ||
		!strings.Contains(c.Failure.Message, `status.code: want "OK", got "METHOD_NOT_AVAILABLE"`) {
		t.Errorf("pre-R10 suite: got %+v", doc.Suites[0])
	}
	if doc.Suites[1].Cases[0].Failure != nil {
		t.Errorf("R12 suite: got a failure %+v", doc.Suites[1].Cases[0].Failure)
	}
}

// Ensure types tell a string claim from a number (F10: iat/exp are strings).
func TestJWTClaimTypes(t *testing.T) {
	s := mustParse(t, `releases: [R12]
jwt: {numeric_dates: true}
steps:
  - request: {method: POST, action: authentication/token, body: {username: mpadministrator, password: "1234", organisation: CRMDEMO}}
    expect:
      types: {data.token: string}
      jwt: {types: {iat: string, exp: number}, lifetime: 7200}
`)
	suites := script.Run(context.Background(), s, script.Options{})
	st := suites[0].Steps[0]
	if len(st.Failures) != 1 || !strings.HasPrefix(st.Failures[0].String(), "jwt claim iat: want a JSON string, got a JSON number: ") {
		t.Errorf("got failures %v, want only iat's type", st.Failures)
	}
}

// Ensure skipped steps fail a run unless skips are allowed (issue 8 item 11), and a
// script requiring the control API is not applicable (neither passed nor failed) on a
// target without one, while it runs in-process.
func TestSkipsFailUnlessAllowed(t *testing.T) {
	srv := mocktest.WebAPIOnly(t, "R10")
	s := mustParse(t, `releases: [R10]
steps:
  - request: {method: POST, action: authentication/token, body: {username: mpadministrator, password: "1234", organisation: CRMDEMO}}
    expect: {code: OK}
  - advance: 1h
  - request: {method: GET, action: contact_information/show, query: {token: x}}
  - request: {method: GET, action: contact_information/show, query: {token: x}}
    expect: {code: INVALID_TOKEN}
`)
	suites := script.Run(context.Background(), s, script.Options{Target: srv.URL})
	if tally := script.Count(suites); tally.Passed != 1 || tally.Skipped != 3 || tally.Unchecked != 1 || tally.OK() || !script.RunFailed(suites) {
		t.Errorf("skips not allowed: got %+v, want 1 passed, 3 skipped, 1 unchecked, failed", tally)
	}
	suites = script.Run(context.Background(), s, script.Options{Target: srv.URL, AllowSkips: true})
	if script.RunFailed(suites) {
		t.Errorf("skips allowed: got a failed run %+v", script.Count(suites))
	}

	needs := mustParse(t, `releases: [R10]
requires: [control-api]
steps:
  - admin: {path: tokens}
    expect: {json: {tokens.#: 0}}
`)
	suites = script.Run(context.Background(), needs, script.Options{Target: srv.URL})
	if len(suites) != 1 || !strings.Contains(suites[0].NotApplicable, "requires control-api") || len(suites[0].Steps) != 0 || script.RunFailed(suites) {
		t.Errorf("on a target without control API: got %+v, want not applicable and not failed", suites)
	}
	if got := script.Summary(suites); got != "0 passed, 0 failed, 0 skipped, 1 script not applicable" {
		t.Errorf("summary: got %q", got)
	}
	suites = script.Run(context.Background(), needs, script.Options{})
	if tally := script.Count(suites); tally.Passed != 1 || tally.NotApplicable != 0 {
		t.Errorf("in-process: got %+v, want the step passed", tally)
	}
}

// Ensure the new step kinds are checked at load time, naming the line and the step.
func TestStepParseErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"  - lint: {fired: [truncated-tokens]}\n", `line 3: step 1: lint: "truncated-tokens" is not a lint rule`},
		{"  - lint: {none: [fatal]}\n", `line 3: step 1: lint: none: "fatal" is not a severity`},
		{"  - lint: {}\n", `line 3: step 1: lint: say what the report must show`},
		{"  - lint: {fired: [never-released], not_fired: [never-released]}\n", `both fired and not_fired`},
		{"  - lint: {fird: [never-released]}\n", `line 3: unknown key "fird"`},
		{"  - fault: {answer: {code: INTERNAL_ERROR}}\n", `line 3: step 1: fault: operation: give the Web API method`},
		{"  - fault: {operation: login}\n", `line 3: step 1: fault: operation: "login"`},
		{"  - advance: 1h\n  - fault:\n      operation: authentication/token\n      delay: soon\n", `line 6: step 2: fault: delay: "soon"`},
		{"  - fault: {operation: authentication/token, times: -1}\n", `fault: times: -1`},
		{"  - fault: {operation: authentication/token, answer: {code: OK}}\n", `fault: answer: code: "OK" is the success code`},
		{"  - fault: {operation: authentication/token, answer: {code: INTERNAL_ERROR}, drop_connection: true}\n", `drop_connection: a dropped connection has no answer`},
		{"  - fault: {operation: authentication/token, answr: {}}\n", `line 3: unknown key "answr"`},
		{"  - fault: {operation: authentication/token}\n    expect: {code: OK}\n", `line 3: step 1: expect and expect_by_release go with a request, admin or lint step`},
		{"  - advance: 1h\n    in: nowhere\n", `line 4: step 1: in: "nowhere": no earlier sandbox step`},
		{"  - sandbox: {name: a}\n  - sandbox: {name: a}\n", `line 4: step 2: sandbox: the name "a" is taken`},
		{"  - sandbox: {version: R10}\n", `line 3: step 1: sandbox: give it a name`},
		{"  - admin: {path: tokens}\n    expect: {dropped: true}\n", `dropped and took_at_least go with a request step`},
		{"  - request: {action: a/b}\n    expect: {took_at_least: fast}\n", `took_at_least: "fast"`},
	} {
		_, err := script.Parse([]byte("releases: [R12]\nsteps:\n" + c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.src, err, c.want)
		}
	}
}

// Ensure a script is held to the scenario limits (it is decoded by the same
// DecodeStrict): an alias bomb in a step's body is refused at load, naming the limit.
func TestScriptAliasBomb(t *testing.T) {
	refs := func(name string) string {
		return "[" + strings.TrimSuffix(strings.Repeat("*"+name+",", 100), ",") + "]"
	}
	doc := "releases: [R10]\nsteps:\n  - request:\n      method: POST\n      action: a/b\n      body:\n" +
		"        s: &s " + strings.Repeat("a", 10<<10) + "\n        l: &l " + refs("s") + "\n        m: " + refs("l") + "\n"
	_, err := script.Parse([]byte(doc))
	if err == nil || !strings.Contains(err.Error(), "line 9:") || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("got %v, want a line 9 error naming the limit", err)
	}
}
