package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func init() {
	register(&command{name: "version", run: func(_ context.Context, args []string, stdout, stderr io.Writer) int {
		if err := strayArgs(args); err != nil {
			return usageError(stderr, "version", err)
		}
		fmt.Fprintln(stdout, "crmmock", buildVersion())
		return 0
	}})
}

// buildVersion is the -ldflags version, else the module version when installed with
// go install, else "dev".
func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}
