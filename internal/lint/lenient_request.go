package lint

import (
	"fmt"
	"slices"
	"strings"
)

// The kinds of Entry.Lenient (F20): what public clients send that production accepts
// but a strict server may not. A value is the kind, or the kind, ": " and a detail.
const (
	// LenientMediaTypeCase: a JSON media type not in lower case (detail: as sent).
	LenientMediaTypeCase = "content-type case"
	// LenientNullField: JSON null for an optional field, taken as absent (detail: the field).
	LenientNullField = "null optional field"
	// LenientBasicNoColon: an HTTP Basic value of the key without the ':'.
	LenientBasicNoColon = "basic without colon"
)

// LenientRequest: requests accepted only for leniency.
var LenientRequest = &Rule{
	ID:       "lenient-request",
	Severity: Info,
	Doc: `Send requests in their strict form: some were accepted only for leniency.
Fires once per kind of leniency the mock applied: a JSON media type not in lower case
(Application/JSON), JSON null for an optional field (taken as the field absent), an HTTP
Basic value of the key without the ':' separator. Public clients that ran against real
installations send all of these and production accepts them (F20), so nothing failed;
but they are sloppy, and a stricter server, proxy or later release may refuse them.
A charset parameter, a lowercase "basic" scheme, Expect: 100-continue and a GET's
Content-Type are plain HTTP and never reported.`,
	Check: checkLenientRequest,
}

// lenientAdvice is each kind's message after the count: what was accepted, what to send.
var lenientAdvice = map[string]string{
	LenientMediaTypeCase: "sent the JSON media type not in lower case (%s). The mock compared it case-insensitively, as production does (F20), " +
		"but servers that compare it byte for byte exist: send Content-Type: application/json.",
	LenientNullField: "sent JSON null for an optional field (%s). The mock took it as the field absent, as production does (F20), " +
		"but the contract types the field and null is no value of that type: leave an unset field out.",
	LenientBasicNoColon: "sent HTTP Basic credentials of the key alone, without the ':'. The mock read them as the key with an empty password, " +
		"as production does (F20), but RFC 7617 wants \"key:\": encode the key followed by a colon.",
}

func checkLenientRequest(in *Input) []Finding {
	var gs groups
	details := map[*group][]string{}
	for i := range in.Entries {
		e := &in.Entries[i]
		seen := map[string]bool{} // a request counts once per kind
		for _, v := range e.Lenient {
			kind, detail, _ := strings.Cut(v, ": ")
			if _, ok := lenientAdvice[kind]; !ok {
				continue
			}
			g, fresh := gs.get(kind)
			if fresh {
				g.sample = e
			}
			if detail != "" && !slices.Contains(details[g], detail) && len(details[g]) < 10 {
				details[g] = append(details[g], detail)
			}
			if !seen[kind] {
				seen[kind] = true
				g.add(e.ID, e.Time)
			}
		}
	}
	out := make([]Finding, 0, len(gs.order))
	for _, kind := range []string{LenientMediaTypeCase, LenientNullField, LenientBasicNoColon} {
		g, ok := gs.byKey[kind]
		if !ok {
			continue
		}
		msg := plural(g.count, "request") + " " + lenientAdvice[kind]
		if d := details[g]; strings.Contains(msg, "%s") {
			slices.Sort(d)
			msg = fmt.Sprintf(msg, strings.Join(d, ", "))
		}
		out = append(out, g.finding(msg))
	}
	return out
}
