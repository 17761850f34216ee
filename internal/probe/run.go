package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/crmmock/crmmock/internal/wire"
)

// Observation is one step's answer, scrubbed of secrets: nothing in it is the
// password, the key or a token the target issued.
type Observation struct {
	Step Step
	// Skipped says why the step was not sent (its condition, or --max-requests).
	Skipped     string
	Err         string // the transport error, when the request got no answer
	HTTP        int
	MediaType   string // the answer's Content-Type without parameters
	ContentType string // the answer's Content-Type as sent
	Envelope    bool   // the answer is the JSON envelope {"status":{"code",…},"data"}
	Code        string
	Message     string
	Description string
	Data        json.RawMessage // the envelope's data; an issued token as "<token>"
	Deprecation string          // the Deprecation header
	Token       *Shape          // the shape of the token the answer issued
	Snippet     string          // the start of an answer that is not the envelope
}

// Sent tells whether the request was sent.
func (o *Observation) Sent() bool { return o.Skipped == "" }

// OK tells whether the answer is the envelope with status.code OK.
func (o *Observation) OK() bool { return o.Envelope && o.Code == wire.CodeOK }

// Result is a run of the plan.
type Result struct {
	Target   string
	Obs      []Observation
	Requests int           // requests sent
	Planned  int           // steps in the plan
	Elapsed  time.Duration // wall time of the run
	Stopped  bool          // --max-requests stopped the run early
}

// scrubber replaces secrets and issued tokens in everything read from the target.
type scrubber struct {
	pairs []string
	r     *strings.Replacer
}

func newScrubber(c Credentials) *scrubber {
	s := &scrubber{}
	if len(c.Password) >= 3 {
		s.pairs = append(s.pairs, c.Password, "${CRM_PASSWORD}")
	}
	if len(c.Key) >= 3 {
		s.pairs = append(s.pairs, c.Key, "${CRM_WEB_API_KEY}")
	}
	s.r = strings.NewReplacer(s.pairs...)
	return s
}

// token adds an issued token (and its first half, which the plan sends) to the secrets.
func (s *scrubber) token(tok string) {
	if len(tok) < 8 {
		return
	}
	s.pairs = append(s.pairs, tok, "<token>", tok[:len(tok)/2], "<token>")
	// longest first: a replacer tries its pairs in order, and a token's half may be
	// the start of another token (JWTs share their header and first claims)
	type pair struct{ old, new string }
	ps := make([]pair, 0, len(s.pairs)/2)
	for i := 0; i+1 < len(s.pairs); i += 2 {
		ps = append(ps, pair{s.pairs[i], s.pairs[i+1]})
	}
	sort.SliceStable(ps, func(i, j int) bool { return len(ps[i].old) > len(ps[j].old) })
	s.pairs = s.pairs[:0]
	for _, p := range ps {
		s.pairs = append(s.pairs, p.old, p.new)
	}
	s.r = strings.NewReplacer(s.pairs...)
}

func (s *scrubber) str(v string) string { return s.r.Replace(v) }

// Run sends the plan to cfg.Target, within its bounds. It stops with an error when the
// target cannot be reached or its first answer is not the envelope.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	maxReq, perSecond := cfg.bounds()
	lim := rate.NewLimiter(rate.Inf, 1)
	if perSecond > 0 {
		lim = rate.NewLimiter(rate.Limit(perSecond), 1)
	}
	steps := Plan(cfg)
	res := &Result{Target: cfg.Target, Planned: len(steps)}
	st := &state{}
	scrub := newScrubber(cfg.Creds)
	start := time.Now()
	defer func() { res.Elapsed = time.Since(start) }()
	for _, step := range steps {
		o := Observation{Step: step}
		req := step.build(st)
		switch {
		case req == nil:
			o.Skipped = "when " + step.When
		case res.Requests >= maxReq:
			o.Skipped = fmt.Sprintf("--max-requests %d reached", maxReq)
			res.Stopped = true
		}
		if !o.Sent() {
			res.Obs = append(res.Obs, o)
			continue
		}
		if err := lim.Wait(ctx); err != nil {
			return res, err
		}
		res.Requests++
		tok, err := send(ctx, client, cfg, req, &o, scrub)
		if err != nil {
			o.Err = scrub.str(err.Error())
		}
		if res.Requests == 1 {
			if err != nil {
				return res, fmt.Errorf("cannot reach %s: %s", cfg.Target, o.Err)
			}
			if !o.Envelope {
				return res, fmt.Errorf("%s does not answer like a CRM.COM Web API: %s %s answered HTTP %d %s %q, not the JSON envelope {\"status\":{\"code\":…},\"data\":…}",
					cfg.Target, req.method, req.path, o.HTTP, orNone(o.MediaType), o.Snippet)
			}
		}
		st.learn(step, &o, tok)
		res.Obs = append(res.Obs, o)
	}
	return res, nil
}

func orNone(mt string) string {
	if mt == "" {
		return "(no Content-Type)"
	}
	return mt
}

// learn keeps what later steps need.
func (s *state) learn(step Step, o *Observation, tok string) {
	switch step.ID {
	case "login":
		s.userToken = tok
	case "key_login":
		s.keyToken = tok
	case "unknown_key":
		s.keyAvailable = o.Err == "" && o.HTTP != http.StatusNotFound
	case "release_unknown":
		s.relAvailable = o.Err == "" && o.HTTP != http.StatusNotFound
	case "release":
		if o.OK() {
			s.released = s.token()
		}
	}
}

// send sends one request and reads its answer into o; it returns the token the answer
// issued (kept only in the run's state, never in o).
func send(ctx context.Context, client *http.Client, cfg Config, r *request, o *Observation, scrub *scrubber) (string, error) {
	req, err := newRequest(ctx, cfg, r)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil { // drop "Get URL:" with its query (a token)
			err = ue.Unwrap()
		}
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	o.HTTP = resp.StatusCode
	o.ContentType = resp.Header.Get("Content-Type")
	o.MediaType, _, _ = mime.ParseMediaType(o.ContentType)
	o.Deprecation = resp.Header.Get("Deprecation")
	return observe(raw, o, scrub), nil
}

// newRequest is the HTTP request for a plan step's request: the target's URL, the
// --header values, the step's own headers, Accept: application/json.
func newRequest(ctx context.Context, cfg Config, r *request) (*http.Request, error) {
	u := cfg.Target + "/" + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range cfg.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// observe reads an answer's envelope into o, scrubbed, and says the token it carries.
func observe(raw []byte, o *Observation, scrub *scrubber) string {
	var env struct {
		Status *struct {
			Code        *string `json:"code"`
			Message     *string `json:"message"`
			Description *string `json:"description"`
		} `json:"status"`
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &env) != nil || env.Status == nil || env.Status.Code == nil {
		o.Snippet = scrub.str(snippet(raw))
		return ""
	}
	o.Envelope = true
	o.Code = scrub.str(*env.Status.Code)
	if env.Status.Message != nil {
		o.Message = scrub.str(*env.Status.Message)
	}
	if env.Status.Description != nil {
		o.Description = scrub.str(*env.Status.Description)
	}
	var tok string
	if o.Code == wire.CodeOK {
		var d struct {
			Token string `json:"token"`
		}
		if json.Unmarshal(env.Data, &d) == nil && d.Token != "" {
			tok = d.Token
			scrub.token(tok)
			o.Token = ShapeOf(tok)
		}
	}
	if len(env.Data) > 0 {
		o.Data = json.RawMessage(scrub.str(string(env.Data)))
	}
	return tok
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
