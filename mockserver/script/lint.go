package script

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/crmmock/crmmock/mockserver"
)

// findingText is a finding as a failure shows it: rule, severity, count, the first
// request ids, the message.
func findingText(f mockserver.LintFinding) string {
	s := fmt.Sprintf("%s (%s", f.Rule, f.Severity)
	if f.Count > 1 {
		s += fmt.Sprintf(", %d×", f.Count)
	}
	if len(f.Requests) > 0 {
		ids := make([]string, 0, len(f.Requests))
		for i, id := range f.Requests {
			if i == 5 {
				ids = append(ids, "…")
				break
			}
			ids = append(ids, fmt.Sprint(id))
		}
		s += ", requests " + strings.Join(ids, ", ")
	}
	return s + "): " + f.Message
}

// decodeLint reads the answer of GET /__admin/lint (docs/lint.md).
func decodeLint(x *exchange) (*mockserver.LintReport, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(x.body, &raw); err != nil || raw["findings"] == nil {
		return nil, fmt.Errorf("not a lint report ({\"findings\":[…],\"summary\":{…}}): %s", clip(strings.TrimSpace(string(x.body)), 200))
	}
	var rep mockserver.LintReport
	if err := json.Unmarshal(x.body, &rep); err != nil {
		return nil, fmt.Errorf("not a lint report: %v", err)
	}
	return &rep, nil
}

// checkLint compares a lint report with a lint step's expectations.
func checkLint(l *LintExpect, x *exchange) []Failure {
	rep, err := decodeLint(x)
	if err != nil {
		return []Failure{{What: "lint report", Want: "the findings", Got: err.Error()}}
	}
	var out []Failure
	byRule := map[string][]mockserver.LintFinding{}
	for _, f := range rep.Findings {
		byRule[f.Rule] = append(byRule[f.Rule], f)
	}
	rules := func() string {
		if len(rep.Findings) == 0 {
			return "no finding at all"
		}
		var ids []string
		for _, f := range rep.Findings {
			if !slices.Contains(ids, f.Rule) {
				ids = append(ids, f.Rule)
			}
		}
		return "findings of " + strings.Join(ids, ", ")
	}
	for _, id := range l.Fired {
		if len(byRule[id]) == 0 {
			out = append(out, Failure{What: "lint rule " + id, Want: "fired", Got: "not fired (" + rules() + ")"})
		}
	}
	for _, id := range l.NotFired {
		if fs := byRule[id]; len(fs) > 0 {
			out = append(out, Failure{What: "lint rule " + id, Want: "not fired", Got: "fired: " + findingText(fs[0])})
		}
	}
	for _, sev := range l.None {
		for _, f := range rep.Findings {
			if f.Severity == sev && !slices.Contains(l.Fired, f.Rule) {
				out = append(out, Failure{What: "lint " + sev + " findings", Want: "none" + besides(l.Fired), Got: findingText(f)})
			}
		}
	}
	return out
}

func besides(fired []string) string {
	if len(fired) == 0 {
		return ""
	}
	return " besides " + strings.Join(fired, ", ")
}

// describeLint shows a lint report for a failure: a line per finding.
func describeLint(x *exchange) string {
	rep, err := decodeLint(x)
	if err != nil {
		return x.describe()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d: %d finding", x.status, len(rep.Findings))
	if len(rep.Findings) != 1 {
		b.WriteString("s")
	}
	for _, f := range rep.Findings {
		b.WriteString("\n" + clip(findingText(f), 300))
	}
	return b.String()
}
