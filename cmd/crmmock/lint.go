package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmmock/crmmock/internal/lint"
)

// lintConfig is the lint command's flags (each also CRMMOCK_<NAME>; the flag wins).
type lintConfig struct {
	target, failOn, format, adminToken string

	flagSources // which flags came from the environment
}

func (c *lintConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.target, "target", "", "URL of the running mock: its root, a sandbox's URL or an admin_url (required)")
	fs.StringVar(&c.failOn, "fail-on", "error", "exit 1 when a finding is at least this severe: error, warning or info")
	fs.StringVar(&c.format, "format", "text", "report format: text or json")
	fs.StringVar(&c.adminToken, "admin-token", "", "bearer token for the target's control API (when it runs with --admin-token)")
}

func init() {
	register(&command{name: "lint", flags: new(lintConfig).flags, run: lintCommand})
}

// lintTimeout bounds the whole exchange with the target.
const lintTimeout = 30 * time.Second

// lintCommand is `crmmock lint` (docs/lint.md): it prints the client-lint report of a
// running mock (GET /__admin/lint). Exit 0: no finding at or above --fail-on; 1: some;
// 2: bad usage, or the report could not be read.
func lintCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c lintConfig
	fs := newFlagSet("lint", c.flags)
	from, err := parseEnvFlags(fs, args)
	if err != nil {
		return usageError(stderr, "lint", err)
	}
	c.flagSources = from
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "crmmock lint: "+format+"\n", a...)
		return 2
	}
	if c.target == "" {
		return bad("--target is required: the URL of the running mock, e.g. http://127.0.0.1:8080")
	}
	endpoint, err := lintURL(c.target)
	if err != nil {
		return bad("%s: %v", c.src("target"), err)
	}
	threshold, err := lint.ParseSeverity(c.failOn)
	if err != nil {
		return bad("%s: %v", c.src("fail-on"), err)
	}
	if c.format != "text" && c.format != "json" {
		return bad("%s: %q: want text or json", c.src("format"), c.format)
	}
	rep, raw, err := fetchLint(ctx, endpoint, c.adminToken)
	if err != nil {
		return bad("%v", err)
	}
	if c.format == "json" {
		_, err = stdout.Write(raw)
	} else {
		err = lint.WriteText(stdout, rep)
	}
	if err != nil {
		return bad("%v", err)
	}
	if rep.Fails(threshold) {
		return 1
	}
	return 0
}

// lintURL is the lint endpoint of a target: root and sandbox URLs get /__admin/lint,
// an admin URL gets /lint.
func lintURL(target string) (string, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q: want the mock's URL, e.g. http://127.0.0.1:8080", target)
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, "/__admin") {
		p += "/__admin"
	}
	u.Path, u.RawQuery, u.Fragment = p+"/lint", "", ""
	return u.String(), nil
}

// fetchLint reads the report; raw is the JSON as served, indented.
func fetchLint(ctx context.Context, endpoint, adminToken string) (lint.Report, []byte, error) {
	var rep lint.Report
	ctx, cancel := context.WithTimeout(ctx, lintTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return rep, nil, err
	}
	if adminToken != "" {
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rep, nil, fmt.Errorf("GET %s: %v", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return rep, nil, fmt.Errorf("GET %s: %v", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return rep, nil, fmt.Errorf("GET %s: %s: %s", endpoint, resp.Status, e.Error)
		}
		return rep, nil, fmt.Errorf("GET %s: %s (is it a crmmock with the lint?)", endpoint, resp.Status)
	}
	if err := json.Unmarshal(body, &rep); err != nil || rep.Summary == nil {
		return rep, nil, fmt.Errorf("GET %s: not a lint report (%.80q)", endpoint, body)
	}
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return rep, nil, err
	}
	return rep, append(raw, '\n'), nil
}
