package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmmock/crmmock/internal/lint"
)

const lintUsage = `usage: crmmock lint --target URL [--fail-on error|warning|info] [--format text|json] [--admin-token T]

Prints the client-lint report of a running mock (GET /__admin/lint): what the client
did wrong with its tokens, judged on everything journaled since the last reset.
--target is the mock's root URL, a sandbox's URL (…/sandboxes/{id}) or an admin URL
(…/__admin). Exit 0: no finding at or above --fail-on; 1: some; 2: bad usage or the
report could not be read.

`

// lintTimeout bounds the whole exchange with the target.
const lintTimeout = 30 * time.Second

// lintCommand is `crmmock lint`.
func lintCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var target, failOn, format, adminToken string
	fs, err := parseFlags("lint", args, stderr, func(fs *flag.FlagSet) {
		fs.Usage = func() {
			fmt.Fprint(stderr, lintUsage)
			fs.PrintDefaults()
		}
		fs.StringVar(&target, "target", "", "URL of the running mock (root, sandbox or …/__admin)")
		fs.StringVar(&failOn, "fail-on", "error", "exit 1 when a finding of this severity or worse exists: error, warning or info")
		fs.StringVar(&format, "format", "text", "report format: text or json")
		fs.StringVar(&adminToken, "admin-token", "", "bearer token for the target's control API (when it runs with --admin-token)")
	})
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "crmmock lint: "+format+"\n", a...)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if strings.HasPrefix(err.Error(), "CRMMOCK_") {
			return bad("%v", err)
		}
		return 2 // the flag package said which flag
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q (the mock is given with --target URL)", fs.Arg(0))
	}
	if target == "" {
		return bad("--target is required: the URL of the running mock, e.g. http://127.0.0.1:8080")
	}
	endpoint, err := lintURL(target)
	if err != nil {
		return bad("--target: %v", err)
	}
	threshold, err := lint.ParseSeverity(failOn)
	if err != nil {
		return bad("--fail-on: %v", err)
	}
	if format != "text" && format != "json" {
		return bad("--format: %q: want text or json", format)
	}
	rep, raw, err := fetchLint(ctx, endpoint, adminToken)
	if err != nil {
		return bad("%v", err)
	}
	if format == "json" {
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
