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
	if len(args) == 1 && versionFlag[args[0]] { // `crmmock --version`, `-v`: as `crmmock version`
		return commands["version"].run(ctx, nil, stdout, stderr)
	}
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

// versionFlag are the spellings that, alone on the command line, print the version
// (conventional for Go CLIs). With a value, --version stays serve's and run's alias of
// --release.
var versionFlag = map[string]bool{"-v": true, "--version": true, "-version": true}

// flagAliases maps an alias to the flag it stands for: same value, same variable,
// hidden from `crmmock help` (the flag's usage names it). --version VALUE is what
// --release was called first.
var flagAliases = map[string]string{"version": "release"}

// releaseFlag binds --release and its alias --version to p.
func releaseFlag(fs *flag.FlagSet, p *string, usage string) {
	fs.StringVar(p, "release", "", usage)
	fs.StringVar(p, "version", "", "alias of --release")
}

// canonical is the flag an alias stands for (flagAliases), else name itself.
func canonical(name string) string {
	if c, ok := flagAliases[name]; ok {
		return c
	}
	return name
}

// aliasesGiven refuses a flag given both as itself and as its alias, and returns for
// each flag given as an alias "--alias", so errors name it as the user wrote it.
func aliasesGiven(fs *flag.FlagSet) (flagSources, error) {
	from := flagSources{}
	set := map[string]bool{}
	var err error
	fs.Visit(func(f *flag.Flag) {
		name := canonical(f.Name)
		if set[name] && err == nil {
			err = fmt.Errorf("--%s and --%s are the same flag: give one", name, f.Name)
		}
		set[name] = true
		if name != f.Name {
			from[name] = "--" + f.Name
		}
	})
	return from, err
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
