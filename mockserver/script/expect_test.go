package script_test

import (
	"context"
	"testing"

	"github.com/crmmock/crmmock/mockserver/script"
)

// Ensure ${name:offset:length} is part of a saved value (a token cut as a too-short
// column would cut it), and ${name:offset} the rest.
func TestSubstitutionSlice(t *testing.T) {
	s := mustParse(t, `releases: [R12]
steps:
  - request: `+login+`
    save: {token: data.token}
  - request: {method: GET, action: contact_information/show, query: {token: "${token:0:32}"}}
    expect: {code: INVALID_TOKEN}
  - request: {method: GET, action: contact_information/show, query: {token: "${token:0:9999}"}}
    expect: {code: OK, json: {status.code: "${token:999999}OK"}}
`)
	suites := script.Run(context.Background(), s, script.Options{})
	for _, st := range suites[0].Steps {
		if st.Status != script.Passed {
			t.Errorf("step %d: got %s %v", st.Index, st.Status, st.Failures)
		}
	}
}
