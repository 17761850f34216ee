package lint

import (
	"fmt"
	"io"
	"strings"
)

// WriteText prints a report for a person: each finding's severity, rule, requests and
// mock times, then its message wrapped under it, then the summary line.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%-7s %s  %s  %s\n", strings.ToUpper(f.Severity), f.Rule, requestsText(f), span(f))
		for _, line := range wrap(f.Message, 92) {
			b.WriteString("        " + line + "\n")
		}
		if f.Token != "" && !strings.Contains(f.Message, short(f.Token)) {
			fmt.Fprintf(&b, "        token: %s\n", short(f.Token)) // whole in --format json
		}
		b.WriteByte('\n')
	}
	if len(r.Findings) == 0 {
		b.WriteString("no findings: ")
	} else {
		fmt.Fprintf(&b, "%s: ", plural(len(r.Findings), "finding"))
	}
	fmt.Fprintf(&b, "%s, %s, %d info\n", plural(r.Summary[string(Error)], "error"), plural(r.Summary[string(Warning)], "warning"), r.Summary[string(Info)])
	_, err := io.WriteString(w, b.String())
	return err
}

func requestsText(f Finding) string {
	ids := make([]string, len(f.Requests))
	for i, id := range f.Requests {
		ids[i] = fmt.Sprintf("#%d", id)
	}
	list := strings.Join(ids, " ")
	if f.Count > len(f.Requests) && len(ids) == MaxRequests {
		list = strings.Join(ids[:MaxRequests/2], " ") + " … " + strings.Join(ids[MaxRequests/2:], " ")
	}
	return fmt.Sprintf("×%d (requests %s)", f.Count, list)
}

func span(f Finding) string {
	if f.First.Equal(f.Last) {
		return stamp(f.First)
	}
	return stamp(f.First) + " … " + stamp(f.Last)
}

// wrap breaks s into lines of at most width runes, at spaces.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case len([]rune(line))+1+len([]rune(word)) > width:
			lines = append(lines, line)
			line = word
		default:
			line += " " + word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
