package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// helpOrder is the order of `crmmock help`, with each command's synopsis (docs/cli.md).
var helpOrder = []struct{ name, synopsis, flagsNote string }{
	{"serve", "crmmock [serve] [flags]        start the mock (the default command)",
		"each also read from CRMMOCK_<NAME>, e.g. CRMMOCK_ADDR; the flag wins"},
	{"run", "crmmock run [flags] FILE...    run scenario scripts (files or directories) against an in-process mock, or --target URL (a crmmock: in sandboxes, its own state kept)", ""},
	{"lint", "crmmock lint --target URL      print a running mock's client-lint report; exit 1 at --fail-on",
		"each also read from CRMMOCK_<NAME>, e.g. CRMMOCK_ADMIN_TOKEN; the flag wins"},
	{"probe", "crmmock probe --target URL     learn an installation and write a matching scenario (see docs/probe.md)",
		"credentials also from CRM_USERNAME, CRM_PASSWORD, CRM_ORGANISATION, CRM_UNIT, CRM_WEB_API_KEY"},
	{"verify", "crmmock verify --target URL    compare an installation with the mock under a scenario; exit 1 on any difference",
		"credentials as for probe"},
	{"health", "crmmock health [flags]         exit 0 when a mock answers GET /__admin/health (container health checks)", ""},
	{"version", "crmmock version                print the build version (the module version when installed with go install); --version and -v alone do the same", ""},
	{"help", "crmmock help                   the commands and their flags; --help and -h do the same", ""},
}

func init() {
	register(&command{name: "help", run: func(_ context.Context, _ []string, stdout, _ io.Writer) int {
		writeHelp(stdout)
		return 0
	}})
}

// writeHelp prints every command and its flags.
func writeHelp(w io.Writer) {
	fmt.Fprint(w, "crmmock: a mock of CRM.COM's authentication Web API (see README).\n\nCommands:\n")
	for _, h := range helpOrder {
		fmt.Fprintf(w, "  %s\n", h.synopsis)
	}
	for _, h := range helpOrder {
		c := commands[h.name]
		var body strings.Builder
		tw := tabwriter.NewWriter(&body, 0, 4, 2, ' ', 0)
		if c != nil && c.flags != nil {
			fs := newFlagSet(h.name, c.flags)
			fs.VisitAll(func(f *flag.Flag) {
				if _, alias := flagAliases[f.Name]; alias {
					return // its flag's usage names it
				}
				kind, usage := flag.UnquoteUsage(f)
				if kind != "" {
					kind = " " + kind
				}
				def := ""
				if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0s" {
					def = fmt.Sprintf(" (default %s)", f.DefValue)
				}
				fmt.Fprintf(tw, "  --%s%s\t%s%s\n", f.Name, kind, usage, def)
			})
		}
		_ = tw.Flush()
		if body.Len() == 0 {
			continue
		}
		note := ""
		if h.flagsNote != "" {
			note = " (" + h.flagsNote + ")"
		}
		fmt.Fprintf(w, "\n%s flags%s:\n%s", h.name, note, body.String())
	}
}
