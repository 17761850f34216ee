package script

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// RunAll runs scripts and returns their suites in the scripts' order. With
// o.Parallel > 1 up to that many suites (a script on one release) run at once:
// in-process each suite has its own mock anyway; against a target each suite runs in
// its own sandbox (as Run does one after another, see Options.InRoot), or, when the
// target has no sandbox API or o.InRoot asks for its root, the scripts run one after
// another and the first suite notes why.
func RunAll(ctx context.Context, scripts []*Script, o Options) []Suite {
	n := o.Parallel
	var note string
	if n > 1 && o.Target != "" {
		if o.InRoot {
			n, note = 1, fmt.Sprintf("--parallel %d: --in-root runs the scripts in the target's root, one after another", o.Parallel)
		} else if ok, why := sandboxAPI(ctx, o); ok {
			o.sandboxed = true
		} else {
			n, note = 1, fmt.Sprintf("--parallel %d: %s; the scripts ran one after another", o.Parallel, why)
		}
	}
	// A job is a script on one release (Options.Version), or the whole script when
	// --version picks the release or the scripts run one after another.
	type job struct {
		s *Script
		o Options
	}
	var jobs []job
	for _, s := range scripts {
		if n <= 1 || o.Version != "" {
			jobs = append(jobs, job{s, o})
			continue
		}
		for _, rel := range s.Releases {
			jo := o
			jo.Version = rel
			jobs = append(jobs, job{s, jo})
		}
	}
	results := make([][]Suite, len(jobs))
	if n <= 1 {
		for i, j := range jobs {
			results[i] = Run(ctx, j.s, j.o)
		}
	} else {
		next := make(chan int)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				for i := range next {
					results[i] = Run(ctx, jobs[i].s, jobs[i].o)
				}
			})
		}
		for i := range jobs {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	var out []Suite
	for _, r := range results {
		out = append(out, r...)
	}
	if note != "" && len(out) > 0 {
		out[0].Notes = append([]string{note}, out[0].Notes...)
	}
	return out
}

// sandboxAPI tells whether the target offers sandboxes (GET /__admin/sandboxes), or why
// not.
func sandboxAPI(ctx context.Context, o Options) (bool, string) {
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	r := &runner{ctx: ctx, client: client, root: strings.TrimRight(o.Target, "/"), adminToken: o.AdminToken}
	t, err := r.probe()
	switch {
	case err != nil:
		return false, err.Error()
	case !t.admin:
		return false, "the target has no control API"
	case !t.caps["sandboxes"]:
		return false, "the target has no sandbox API (POST /__admin/sandboxes)"
	}
	return true, ""
}
