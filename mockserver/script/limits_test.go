package script_test

import (
	"strings"
	"testing"

	"github.com/crmmock/crmmock/mockserver/script"
)

// Ensure a script is held to the scenario limits (it is decoded by the same
// DecodeStrict): an alias bomb in a step's body is refused at load, naming the limit.
func TestScriptAliasBomb(t *testing.T) {
	refs := func(name string) string {
		return "[" + strings.TrimSuffix(strings.Repeat("*"+name+",", 100), ",") + "]"
	}
	doc := "releases: [R10]\nsteps:\n  - request:\n      method: POST\n      action: a/b\n      body:\n" +
		"        s: &s " + strings.Repeat("a", 10<<10) + "\n        l: &l " + refs("s") + "\n        m: " + refs("l") + "\n"
	_, err := script.Parse([]byte(doc))
	if err == nil || !strings.Contains(err.Error(), "line 9:") || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("got %v, want a line 9 error naming the limit", err)
	}
}
