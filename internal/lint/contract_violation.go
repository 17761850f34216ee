package lint

import (
	"fmt"
	"strings"
)

// ContractViolation: requests the contract rejected, one finding per path and reason.
var ContractViolation = &Rule{
	ID:       "contract-violation",
	Severity: Error,
	Doc: `Send requests as openapi.yaml describes them: the contract rejected some.
Fires for every request the contract (openapi.yaml) rejected: a missing mandatory field
(e.g. organisation on a login, F2), a wrong type, bad JSON, a wrong content type, a path
outside the Web API. One finding per method, path and reason, with the validator's
reason as answered in status.description. A request whose token came in the wrong place
is left to token-misplaced, which says more.`,
	Check: checkContractViolation,
}

func checkContractViolation(in *Input) []Finding {
	var gs groups
	for i := range in.Entries {
		e := &in.Entries[i]
		if len(e.Violations) == 0 || e.Misplaced != "" {
			continue
		}
		reason := strings.Join(e.Violations, "; ")
		gs.note(e.Method+" "+e.Path+"\x00"+reason, e)
	}
	out := make([]Finding, 0, len(gs.order))
	for _, g := range gs.order {
		e := g.sample
		out = append(out, g.finding(fmt.Sprintf(
			"%s %s broke the contract %s: %s. The mock answered %s, as CRM.COM rejects such a request; send it as openapi.yaml describes.",
			e.Method, e.Path, times(g.count), strings.Join(e.Violations, "; "), e.Code)))
	}
	return out
}
