package script

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// Totals adds up the steps of suites.
func Totals(suites []Suite) (passed, failed, skipped int) {
	for i := range suites {
		p, f, s := suites[i].Counts()
		passed, failed, skipped = passed+p, failed+f, skipped+s
	}
	return
}

// Summary is the last line of a report: "N passed, N failed, N skipped".
func Summary(suites []Suite) string {
	p, f, s := Totals(suites)
	return fmt.Sprintf("%d passed, %d failed, %d skipped", p, f, s)
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
	p, f, s := Totals(suites)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(map[string]any{
		"suites": suites, "passed": p, "failed": f, "skipped": s, "summary": Summary(suites),
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
