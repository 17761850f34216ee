// Command gen writes doc_gen.go (package contract) from the repository's openapi.yaml.
// It runs from `go generate ./internal/contract`, in that directory. The generator lives
// here, not in package contract, so the binary does not link go/format and its parser.
package main

import (
	"fmt"
	"os"

	"github.com/crmmock/crmmock"
)

func main() {
	out, err := GoSource(crmmock.OpenAPI)
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapi.yaml:", err)
		os.Exit(1)
	}
	if err := os.WriteFile("doc_gen.go", out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
