package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/crmmock/crmmock/internal/probe"
	"github.com/crmmock/crmmock/mockserver"
	"github.com/crmmock/crmmock/mockserver/script"
)

// runOptions are the run command's flags.
type runOptions struct {
	script.Options
	format, output string
	scenario       string            // a learned scenario: the target's names (with --target)
	creds          probe.Credentials // the target's credentials, over the CRM_* variables
}

func (o *runOptions) flags(fs *flag.FlagSet) {
	releaseFlag(fs, &o.Version, "run only this release (pre-R10, R9, R10, R12 …); with a --target without control API: the release it runs; --version VALUE works too")
	fs.StringVar(&o.Target, "target", "", "root URL of a server to run against; a crmmock's own state is left as it was, each suite running in a sandbox of its own (see --in-root) (default: a fresh in-process mock per release)")
	fs.StringVar(&o.BasePath, "base-path", "/crmapi/rest/v2", "prefix of the Web API on the target")
	fs.StringVar(&o.AdminToken, "admin-token", "", "bearer token for the target's control API (/__admin)")
	fs.BoolVar(&o.AllowSkips, "allow-skips", false, "do not fail the run for skipped steps (clock, release and admin steps a target without control API cannot do, and the requests after them)")
	fs.IntVar(&o.Parallel, "parallel", 1, "run up to N suites at once (against a --target: each in its own sandbox, when the target has them)")
	fs.BoolVar(&o.InRoot, "in-root", false, "with --target: run the scripts in the target's root mock, one after another, replacing its fixtures, tokens, release and clock (default: each in its own sandbox, the root left as it was)")
	fs.StringVar(&o.format, "format", "text", "report format: text, json or junit")
	fs.StringVar(&o.output, "output", "", "write the report to this file (default: stdout)")
	fs.StringVar(&o.scenario, "scenario", "", "with --target: a scenario crmmock probe learned of it, to expect its codes, HTTP statuses, JWT lifetime and oun instead of the mock's")
	bindCredentials(fs, &o.creds, "with --target: ")
}

func init() {
	register(&command{name: "run", flags: new(runOptions).flags, run: runCommand})
}

// runCommand is `crmmock run` (docs/scripts.md): by default each file on a fresh
// in-process mock per release it lists; with --target, against a running server (in a
// sandbox of its own per suite when the server has them, unless --in-root). A
// directory stands for the *.yaml files in it. Exit 0: all passed (skipped steps only
// with --allow-skips; scripts a target cannot run are not applicable); 1: a step
// failed or was skipped; 2: bad usage or script.
func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var ro runOptions
	fs := newFlagSet("run", ro.flags)
	o, format, output := &ro.Options, &ro.format, &ro.output
	// Flags may come before or after the files.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return usageError(stderr, "run", err)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "crmmock run: "+format+"\n", a...)
		return 2
	}
	given, err := aliasesGiven(fs)
	if err != nil {
		return usageError(stderr, "run", err)
	}
	write := map[string]func(io.Writer, []script.Suite) error{
		"text": script.WriteText, "json": script.WriteJSON, "junit": script.WriteJUnit,
	}[*format]
	if write == nil {
		return bad("--format: %q: want text, json or junit", *format)
	}
	if err := ro.check(given, len(files)); err != nil {
		return bad("%v", err)
	}
	scripts, err := loadScripts(files)
	if err != nil {
		return bad("%v", err)
	}
	suites := script.RunAll(ctx, scripts, *o)
	var buf bytes.Buffer
	if err := write(&buf, suites); err != nil {
		return bad("%v", err)
	}
	if *output != "" {
		if err := os.WriteFile(*output, buf.Bytes(), 0o644); err != nil {
			return bad("--output: %v", err)
		}
		fmt.Fprintln(stdout, script.Summary(suites)) // the report is in the file
	} else {
		_, _ = stdout.Write(buf.Bytes())
	}
	if script.RunFailed(suites) {
		return 1
	}
	return 0
}

// check checks run's flags (given says which spelling of each was used) and loads
// --scenario's installation; nfiles is the number of files and directories named.
func (ro *runOptions) check(given flagSources, nfiles int) error {
	if ro.Version != "" {
		if _, err := mockserver.ParseRelease(ro.Version); err != nil {
			return fmt.Errorf("%s: %v", given.src("release"), err)
		}
	}
	if ro.Target != "" && !strings.HasPrefix(ro.Target, "http://") && !strings.HasPrefix(ro.Target, "https://") {
		return fmt.Errorf("--target: %q: want the server's root URL, e.g. http://127.0.0.1:8080", ro.Target)
	}
	if ro.Parallel < 1 {
		return fmt.Errorf("--parallel: %d: want 1 or more", ro.Parallel)
	}
	if ro.InRoot && ro.Target == "" {
		return fmt.Errorf("--in-root: runs against a --target's root mock; give --target URL")
	}
	if ro.InRoot && ro.Parallel > 1 {
		return fmt.Errorf("--in-root: the scripts share the target's root and run one after another; it cannot go with --parallel %d", ro.Parallel)
	}
	if !strings.HasPrefix(ro.BasePath, "/") {
		return fmt.Errorf("--base-path: %q must start with /", ro.BasePath)
	}
	if nfiles == 0 {
		return fmt.Errorf("no script given: crmmock run [flags] FILE|DIR... (run `crmmock help`)")
	}
	ro.LookupEnv = credentialEnv(ro.creds)
	if ro.scenario != "" {
		if ro.Target == "" {
			return fmt.Errorf("--scenario needs --target: it names a real installation's codes")
		}
		data, err := os.ReadFile(ro.scenario)
		if err != nil {
			return fmt.Errorf("--scenario: %v", err)
		}
		// the translation needs no secret: an unset ${VAR} is empty
		sc, err := mockserver.ParseScenarioEnv(data, func(k string) (string, bool) { v, _ := ro.LookupEnv(k); return v, true })
		if err != nil {
			return fmt.Errorf("--scenario %s: %v", ro.scenario, err)
		}
		ro.Installation = script.NewInstallation(sc)
	}
	return nil
}

// loadScripts loads the scripts files names, a directory standing for its *.yaml files.
func loadScripts(files []string) ([]*script.Script, error) {
	paths, err := expandFiles(files)
	if err != nil {
		return nil, err
	}
	scripts := make([]*script.Script, 0, len(paths))
	for _, p := range paths {
		s, err := script.Load(p)
		if err != nil {
			return nil, err
		}
		scripts = append(scripts, s)
	}
	return scripts, nil
}

// expandFiles turns directories into their *.yaml files, sorted.
func expandFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		m, err := filepath.Glob(filepath.Join(a, "*.yaml"))
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%s: no *.yaml scripts in the directory", a)
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	return out, nil
}
