package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sync"

	"github.com/crmmock/crmmock/mockserver"
)

// Difference is one way the target and the mock answered a step differently.
type Difference struct {
	Step   string `json:"step"`
	Title  string `json:"title"`
	Aspect string `json:"aspect"` // answer, token, deprecation, data, availability, sent
	Target string `json:"target"`
	Mock   string `json:"mock"`
}

// String is the difference's line: `wrong password: target HTTP 200 X "…" · mock HTTP 200 Y "…"`.
func (d Difference) String() string {
	return fmt.Sprintf("%s: target %s · mock %s", d.Title, d.Target, d.Mock)
}

// Verification is the outcome of verify.
type Verification struct {
	Target, Mock *Result
	Differences  []Difference
}

// LoadScenario reads a learned scenario for the in-process mock: ${CRM_PASSWORD} and
// ${CRM_WEB_API_KEY} come from the credentials given (else the environment), as
// `crmmock serve --scenario` would read them from the environment.
func LoadScenario(data []byte, c Credentials) (*mockserver.Scenario, error) {
	return mockserver.ParseScenarioEnv(data, func(k string) (string, bool) {
		switch {
		case k == "CRM_PASSWORD" && c.Password != "":
			return c.Password, true
		case k == "CRM_WEB_API_KEY" && c.Key != "":
			return c.Key, true
		}
		return os.LookupEnv(k)
	})
}

// Verify runs the plan against cfg.Target and against an in-process mock loaded with
// sc, and compares the answers normalised: tokens by shape, JWT claims by name, type and
// order, exp - iat as an offset, media types without parameters.
func Verify(ctx context.Context, cfg Config, sc *mockserver.Scenario) (*Verification, error) {
	target, err := Run(ctx, cfg)
	if err != nil {
		return nil, err
	}
	srv, err := mockserver.NewServer(mockserver.Options{Scenario: sc})
	if err != nil {
		return nil, fmt.Errorf("the mock: %v", err)
	}
	defer srv.Close()
	mc := cfg
	mc.Target, mc.Client, mc.Header, mc.Rate = srv.URL+srv.BasePath(), srv.Client(), nil, -1
	mock, err := Run(ctx, mc)
	if err != nil {
		return nil, fmt.Errorf("the mock: %v", err)
	}
	v := &Verification{Target: target, Mock: mock}
	for i := range target.Obs {
		v.Differences = append(v.Differences, compare(&target.Obs[i], &mock.Obs[i])...)
	}
	return v, nil
}

func sentText(o *Observation) string {
	if o.Sent() {
		return "sent"
	}
	return "skipped (" + o.Skipped + ")"
}

// answerText is an answer as a difference shows it.
func answerText(o *Observation, withDescription bool) string {
	switch {
	case o.Err != "":
		return "no answer (" + o.Err + ")"
	case !o.Envelope:
		return fmt.Sprintf("HTTP %d %s (not the envelope)", o.HTTP, orNone(o.MediaType))
	}
	s := fmt.Sprintf("HTTP %d %s %q", o.HTTP, o.Code, o.Message)
	if withDescription {
		s += fmt.Sprintf(" description %q", o.Description)
	}
	return s
}

func available(o *Observation) string {
	if o.Err == "" && o.HTTP == http.StatusNotFound {
		return "not available (HTTP 404)"
	}
	return "available"
}

// moment is a date and time in an answer's text (RFC 3339, as CRM.COM and the mock
// write them): it differs from run to run, so verify compares texts without them.
var moment = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?`)
})

func timeless(s string) string { return moment().ReplaceAllString(s, "<time>") }

func compare(a, b *Observation) []Difference {
	diff := func(aspect, x, y string) []Difference {
		return []Difference{{Step: a.Step.ID, Title: a.Step.Title, Aspect: aspect, Target: x, Mock: y}}
	}
	if a.Sent() != b.Sent() {
		return diff("sent", sentText(a), sentText(b))
	}
	if !a.Sent() {
		return nil
	}
	if a.Step.Availability {
		if available(a) != available(b) {
			return diff("availability", available(a), available(b))
		}
		return nil
	}
	if x, y := answerText(a, false), answerText(b, false); x != y {
		return diff("answer", x, y)
	}
	if a.Err != "" || !a.Envelope {
		return nil
	}
	var out []Difference
	if timeless(a.Description) != timeless(b.Description) {
		out = append(out, diff("answer", answerText(a, true), answerText(b, true))...)
	}
	if a.MediaType != b.MediaType {
		out = append(out, diff("content type", orNone(a.MediaType), orNone(b.MediaType))...)
	}
	if a.Token != nil || b.Token != nil {
		if x, y := a.Token.String(), b.Token.String(); x != y {
			out = append(out, diff("token", x, y)...)
		}
	} else if x, y := dataShape(a.Data), dataShape(b.Data); x != y {
		out = append(out, diff("data", x, y)...)
	}
	if dep := func(o *Observation) string {
		if o.Deprecation == "" {
			return "no Deprecation header"
		}
		return "Deprecation: " + o.Deprecation
	}; dep(a) != dep(b) {
		out = append(out, diff("deprecation", dep(a), dep(b))...)
	}
	return out
}

func dataShape(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "no data"
	}
	return "data " + shapeOnly(raw)
}

// WriteText writes the differences, one line each, then a summary line.
func WriteText(w io.Writer, v *Verification) error {
	for _, d := range v.Differences {
		if _, err := fmt.Fprintln(w, d.String()); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "%d difference(s) over %d requests, to the target in %s and to the mock\n",
		len(v.Differences), v.Target.Requests, v.Target.Elapsed.Round(1e6))
	return err
}

// WriteJSON writes {"differences":[…],"requests":N}.
func WriteJSON(w io.Writer, v *Verification) error {
	d := v.Differences
	if d == nil {
		d = []Difference{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"differences": d, "requests": v.Target.Requests, "target": v.Target.Target})
}

// Report writes probe's report: one line per fact, then the count and time.
func Report(w io.Writer, res *Result, l *Learned) {
	for _, f := range l.Facts {
		fmt.Fprintln(w, f)
	}
	stopped := ""
	if res.Stopped {
		stopped = " (stopped by --max-requests: the classes of the steps not sent are assumed)"
	}
	fmt.Fprintf(w, "plan: %d requests of %d planned, in %s%s\n", res.Requests, res.Planned, res.Elapsed.Round(1e6), stopped)
}
