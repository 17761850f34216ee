package script

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Totals adds up the steps of suites (Count's first three numbers).
func Totals(suites []Suite) (passed, failed, skipped int) {
	t := Count(suites)
	return t.Passed, t.Failed, t.Skipped
}

// Tally is what a run came to.
type Tally struct {
	Passed, Failed, Skipped int
	// Unchecked counts skipped steps whose expectations went unchecked;
	// UncheckedFacts are the facts their scripts check (F6, F7 …).
	Unchecked      int
	UncheckedFacts []string
	// NotApplicable counts scripts not run because the target lacks what they require.
	NotApplicable int
	// SkipsFail: some suite with skipped steps did not allow skips.
	SkipsFail bool
}

// OK tells whether the run passed: nothing failed, and nothing was skipped unless
// skips were allowed.
func (t Tally) OK() bool { return t.Failed == 0 && !t.SkipsFail }

// Count adds up suites.
func Count(suites []Suite) Tally {
	var t Tally
	naFiles := map[string]bool{} // a script not applicable on each of its releases counts once
	for i := range suites {
		s := &suites[i]
		p, f, sk := s.Counts()
		t.Passed, t.Failed, t.Skipped = t.Passed+p, t.Failed+f, t.Skipped+sk
		if s.NotApplicable != "" && !naFiles[s.File] {
			naFiles[s.File] = true
			t.NotApplicable++
		}
		for _, st := range s.Steps {
			if st.Unchecked {
				t.Unchecked++
				for _, f := range s.Facts {
					if !slices.Contains(t.UncheckedFacts, f) {
						t.UncheckedFacts = append(t.UncheckedFacts, f)
					}
				}
			}
		}
		if sk > 0 && !s.AllowSkips {
			t.SkipsFail = true
		}
	}
	slices.SortFunc(t.UncheckedFacts, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b) // F7 before F10
		}
		return strings.Compare(a, b)
	})
	return t
}

// RunFailed tells whether a run failed: a step failed, a run could not start, or a step
// was skipped where skips were not allowed.
func RunFailed(suites []Suite) bool { return !Count(suites).OK() }

// Summary is the last line of a report: "N passed, N failed, N skipped", then how many
// scripts were not applicable and how many expectations went unchecked, when any.
func Summary(suites []Suite) string {
	t := Count(suites)
	out := fmt.Sprintf("%d passed, %d failed, %d skipped", t.Passed, t.Failed, t.Skipped)
	switch t.NotApplicable {
	case 0:
	case 1:
		out += ", 1 script not applicable"
	default:
		out += fmt.Sprintf(", %d scripts not applicable", t.NotApplicable)
	}
	if t.Unchecked > 0 {
		out += fmt.Sprintf(": %d expectation%s went unchecked", t.Unchecked, plural(t.Unchecked))
		if len(t.UncheckedFacts) > 0 {
			out += " (facts " + strings.Join(t.UncheckedFacts, ", ") + ")"
		}
		if t.SkipsFail {
			out += "; --allow-skips accepts that"
		}
	} else if t.SkipsFail {
		out += " (skipped steps fail the run; --allow-skips accepts them)"
	}
	return out
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// WriteText writes a line per step (✓, ✗ or skipped), the request, answer and
// failed expectations under each failure, and the summary line.
func WriteText(w io.Writer, suites []Suite) error {
	var b strings.Builder
	for _, s := range suites {
		fmt.Fprintf(&b, "%s @ %s", s.File, s.Release)
		if s.Target != "" && s.Target != "in-process" {
			fmt.Fprintf(&b, " (target %s)", s.Target)
		}
		b.WriteString("\n")
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "  note: %s\n", n)
		}
		if s.NotApplicable != "" {
			fmt.Fprintf(&b, "  not applicable: %s\n", s.NotApplicable)
		}
		if s.Error != "" {
			fmt.Fprintf(&b, "  ✗ could not run: %s\n", s.Error)
		}
		for _, st := range s.Steps {
			switch st.Status {
			case Passed:
				fmt.Fprintf(&b, "  ✓ %d. %s\n", st.Index, st.Name)
			case Skipped:
				fmt.Fprintf(&b, "  skipped %d. %s: %s\n", st.Index, st.Name, st.Reason)
			case Failed:
				fmt.Fprintf(&b, "  ✗ %d. %s (line %d)\n", st.Index, st.Name, st.Line)
				writeFailure(&b, st)
			}
		}
	}
	b.WriteString(Summary(suites) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Failure is the step's failed expectations (and its request and answer), as the text
// report prints them under the step.
func (st StepResult) Failure() string {
	var b strings.Builder
	writeFailure(&b, st)
	return b.String()
}

func writeFailure(b *strings.Builder, st StepResult) {
	const pad = "        "
	for _, f := range st.Failures {
		fmt.Fprintf(b, "%sexpected %s: %s\n%s     got %s: %s\n", pad, f.What, f.Want, pad, f.What, f.Got)
	}
	block := func(title, text string) {
		if text == "" {
			return
		}
		for i, line := range strings.Split(text, "\n") {
			if i == 0 {
				fmt.Fprintf(b, "%s%-9s %s\n", pad, title, line)
			} else {
				fmt.Fprintf(b, "%s%-9s %s\n", pad, "", line)
			}
		}
	}
	block("request", st.Request)
	block("response", st.Response)
}

// WriteJSON writes the suites and the totals as one JSON document.
func WriteJSON(w io.Writer, suites []Suite) error {
	t := Count(suites)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(map[string]any{
		"suites": suites, "passed": t.Passed, "failed": t.Failed, "skipped": t.Skipped,
		"unchecked": t.Unchecked, "not_applicable": t.NotApplicable, "ok": t.OK(), "summary": Summary(suites),
	})
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes JUnit XML: a testsuite per file × release, a testcase per step.
func WriteJUnit(w io.Writer, suites []Suite) error {
	var out junitSuites
	for _, s := range suites {
		name := s.File + " @ " + s.Release
		js := junitSuite{Name: name, Time: secs(s.Duration)}
		if s.NotApplicable != "" {
			js.Cases = append(js.Cases, junitCase{Name: "not applicable", Classname: name, Time: "0.000",
				Skipped: &junitMessage{Message: s.NotApplicable}})
		}
		if s.Error != "" {
			js.Cases = append(js.Cases, junitCase{Name: "setup", Classname: name, Time: "0.000",
				Failure: &junitMessage{Message: s.Error, Text: s.Error}})
		}
		for _, st := range s.Steps {
			c := junitCase{Name: fmt.Sprintf("%d. %s", st.Index, st.Name), Classname: name, Time: secs(st.Duration)}
			switch st.Status {
			case Failed:
				var b strings.Builder
				writeFailure(&b, st)
				msgs := make([]string, len(st.Failures))
				for i, f := range st.Failures {
					msgs[i] = f.String()
				}
				c.Failure = &junitMessage{Message: strings.Join(msgs, "; "), Text: b.String()}
			case Skipped:
				c.Skipped = &junitMessage{Message: st.Reason}
			}
			js.Cases = append(js.Cases, c)
		}
		_, f, sk := s.Counts()
		js.Tests, js.Failures, js.Skipped = len(js.Cases), f, sk
		out.Tests += js.Tests
		out.Failures += f
		out.Skipped += sk
		out.Suites = append(out.Suites, js)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
