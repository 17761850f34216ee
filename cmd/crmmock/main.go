// Command crmmock serves the CRM.COM authentication Web API mock (see README).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs the command line and returns the exit code: 0 ok, 1 failed checks, 2 bad usage.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, stderr)
	case "run":
		return runCommand(ctx, args, stdout, stderr)
	case "lint":
		return lintCommand(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "crmmock", buildVersion())
		return 0
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "crmmock: unknown command %q (want serve, run, lint, version)\n", cmd)
	return 2
}

const usage = `crmmock [serve] [flags]        start the mock (the default command)
crmmock run [flags] FILE...    run scenario scripts against an in-process mock, or --target URL
crmmock lint --target URL      print a running mock's client-lint report; exit 1 at --fail-on
crmmock version                print the build version

Run "crmmock serve -h" or "crmmock run -h" for the flags.
`
