package mockserver

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/crmmock/crmmock/internal/lint"
	"github.com/getkin/kin-openapi/routers"
)

// Leniency (F20): public clients that ran against real installations send forms a
// strict reading of the contract refuses, and production accepts them. The mock accepts
// them too (a mock must never fail a suite for what production accepts), and journals
// the sloppy ones in JournalEntry.Lenient as "kind" or "kind: detail", so the lint's
// lenient-request (info) can mention them without failing anyone.
//
// Sloppy, so journaled: a JSON media type not in lower case (RFC 9110 makes the type
// case-insensitive, but servers that compare it byte for byte exist, the mock's own
// validator among them); JSON null for an optional field the contract types (the
// schema does not allow null there); an HTTP Basic value without the ':' that RFC 7617
// requires. Plain HTTP, so not journaled: media type parameters (charset), a lowercase
// auth scheme (RFC 7235: case-insensitive), Expect: 100-continue, chunked bodies,
// Accept-Charset, a Content-Type on a GET (no body, nothing to type).
const (
	leniencyMediaTypeCase = lint.LenientMediaTypeCase // + ": " the media type as sent
	leniencyNullField     = lint.LenientNullField     // + ": " the field
	leniencyBasicNoColon  = lint.LenientBasicNoColon
)

var jsonNull = []byte("null")

// jsonMediaType reads a Content-Type as JSON's media type compared case-insensitively,
// parameters ignored: mt is the media type as sent ("" when it is not JSON's), sloppy
// when it is not in lower case.
func jsonMediaType(ct string) (mt string, sloppy bool) {
	mt, _, _ = strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	if !strings.EqualFold(mt, "application/json") {
		return "", false
	}
	return mt, mt != "application/json"
}

// dropNullOptional removes from a JSON object body the top-level fields that are null
// where the operation's request schema declares them optional and not nullable: null
// for an optional field is the field absent (F20). It returns the body (a new one when
// a field was dropped) and the dropped fields, sorted. A body that is no object, and a
// null for a mandatory field, are left to the contract to refuse.
func dropNullOptional(body []byte, route *routers.Route) ([]byte, []string) {
	op := route.Operation
	if op == nil || op.RequestBody == nil || op.RequestBody.Value == nil {
		return body, nil
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return body, nil
	}
	schema := mt.Schema.Value
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return body, nil
	}
	var dropped []string
	for name, v := range fields {
		if string(v) != "null" || slices.Contains(schema.Required, name) {
			continue
		}
		if p := schema.Properties[name]; p != nil && p.Value != nil && !p.Value.Nullable {
			dropped = append(dropped, name)
		}
	}
	if len(dropped) == 0 {
		return body, nil
	}
	for _, name := range dropped {
		delete(fields, name)
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return body, nil
	}
	slices.Sort(dropped)
	return out, dropped
}
