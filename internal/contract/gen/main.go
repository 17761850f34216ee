// Command gen writes doc_gen.go (package contract) from the repository's openapi.yaml.
// It runs from `go generate ./internal/contract`, in that directory.
package main

import (
	"fmt"
	"os"

	"github.com/crmmock/crmmock"
	"github.com/crmmock/crmmock/internal/contract"
)

func main() {
	out, err := contract.GoSource(crmmock.OpenAPI)
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapi.yaml:", err)
		os.Exit(1)
	}
	if err := os.WriteFile("doc_gen.go", out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
