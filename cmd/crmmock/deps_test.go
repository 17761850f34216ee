// Cross-cutting suite (keeps its name): what the production binary links.

package main

import (
	"os/exec"
	"strings"
	"testing"
)

// Ensure the production binary links no test-only code: neither testing nor
// net/http/httptest is among its dependencies (mockserver.Server is its own listener,
// and the script runner's Go-test adapter lives in mockserver/script/scripttest).
func TestBinaryLinksNoTestingPackages(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "testing" || dep == "net/http/httptest" {
			t.Errorf("cmd/crmmock depends on %s", dep)
		}
	}
}
