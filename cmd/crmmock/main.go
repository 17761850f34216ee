// Command crmmock serves the CRM.COM authentication Web API mock (see README).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// command is one `crmmock <name>`; each lives in its own file and registers itself
// from init (the help text lists them in helpOrder).
type command struct {
	name string
	// flags binds the command's flags on fs (for parsing and for `crmmock help`).
	flags func(fs *flag.FlagSet)
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// Main runs the command line and returns the exit code: 0 ok, 1 failed checks, 2 bad usage.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			writeHelp(stdout)
			return 0
		}
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "crmmock: unknown command %q (run `crmmock help` for the commands)\n", name)
		return 2
	}
	return c.run(ctx, args, stdout, stderr)
}

// newFlagSet is a flag set that prints nothing itself: its errors become one line
// (usageError).
func newFlagSet(name string, bind func(*flag.FlagSet)) *flag.FlagSet {
	fs := flag.NewFlagSet("crmmock "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if bind != nil {
		bind(fs)
	}
	return fs
}

// usageError prints the one line of a bad command line and returns exit code 2. A
// flag error names the flag (--name, as documented) and points to `crmmock help`.
func usageError(stderr io.Writer, name string, err error) int {
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		msg = "unknown flag --" + strings.TrimLeft(f, "-")
	} else {
		msg = strings.Replace(msg, "flag -", "flag --", 1)
		msg = strings.Replace(msg, "argument: -", "argument: --", 1)
	}
	fmt.Fprintf(stderr, "crmmock %s: %s (run `crmmock help`)\n", name, msg)
	return 2
}

// strayArgs is the error for arguments a command does not take (flag parsing stops at
// the first one, so everything after it would be ignored).
func strayArgs(args []string) error {
	if len(args) == 0 {
		return nil
	}
	return fmt.Errorf("unexpected argument %q: this command takes flags only", args[0])
}
