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

// buildVersion is the version `crmmock version` prints: the -ldflags one (make build,
// make image), else the module version when installed with `go install …@v1.2.3`, else
// "devel" with the VCS revision go build stamped into a checkout's build.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return versionOf(version, bi)
}

func versionOf(ldflags string, bi *debug.BuildInfo) string {
	if ldflags != "dev" && ldflags != "" {
		return ldflags
	}
	if bi == nil {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "dev"
	}
	v := "devel-" + rev[:min(12, len(rev))]
	if modified == "true" {
		v += "-dirty"
	}
	return v
}
