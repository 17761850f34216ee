package mockserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Releases as data: openapi.yaml says, per operation, from which release it exists
// (x-available-from) and is deprecated (x-deprecated-from), and, per request body
// property, from which release it is accepted (x-available-from on the property itself:
// a sibling of $ref is ignored, so a gated property wraps its $ref in allOf). Values are
// quoted release names ("R10", "R16.2"). The mock reads them once, when the contract
// loads; no Go table repeats them.

// opReleases is when one operation and its gated body parameters exist.
type opReleases struct {
	from       *Release // nil: in every release
	deprecated *Release // nil: never deprecated
	params     []paramRelease
}

// paramRelease is a request body property that exists only from a release.
type paramRelease struct {
	path  []string // property names from the body's root
	field string   // the path joined by dots, as the answer names it
	quote []byte   // `"<last name>"`: a body without it cannot hold the field
	from  Release
}

const (
	extAvailableFrom  = "x-available-from"
	extDeprecatedFrom = "x-deprecated-from"
)

// readReleases reads every operation's release data; an unreadable value is an error
// naming the operation (or property) and the value.
func readReleases(doc *openapi3.T) (map[string]*opReleases, error) {
	out := map[string]*opReleases{}
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			if op.OperationID == "" {
				continue
			}
			where := method + " " + path
			o := &opReleases{}
			var err error
			if o.from, err = extRelease(op.Extensions, extAvailableFrom, where); err != nil {
				return nil, err
			}
			if o.deprecated, err = extRelease(op.Extensions, extDeprecatedFrom, where); err != nil {
				return nil, err
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
					if err := readParams(mt.Schema, nil, where, o, map[*openapi3.Schema]bool{}); err != nil {
						return nil, err
					}
				}
			}
			out[op.OperationID] = o
		}
	}
	return out, nil
}

// readParams collects the gated properties below a request body schema.
func readParams(ref *openapi3.SchemaRef, path []string, where string, o *opReleases, seen map[*openapi3.Schema]bool) error {
	s := ref.Value
	if s == nil || seen[s] {
		return nil
	}
	seen[s] = true
	defer delete(seen, s)
	for _, sub := range slices.Concat(s.AllOf, s.AnyOf, s.OneOf) {
		if err := readParams(sub, path, where, o, seen); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		prop := s.Properties[name]
		p := append(slices.Clip(path), name)
		if prop.Value != nil {
			from, err := extRelease(prop.Value.Extensions, extAvailableFrom, where+" body property "+strings.Join(p, "."))
			if err != nil {
				return err
			}
			if from != nil && !slices.ContainsFunc(o.params, func(q paramRelease) bool { return slices.Equal(q.path, p) }) {
				o.params = append(o.params, paramRelease{path: p, field: strings.Join(p, "."), quote: []byte(`"` + name + `"`), from: *from})
			}
		}
		if err := readParams(prop, p, where, o, seen); err != nil {
			return err
		}
	}
	return nil
}

// extRelease reads an extension holding a quoted release name; nil when absent.
func extRelease(ext map[string]any, key, where string) (*Release, error) {
	v, ok := ext[key]
	if !ok {
		return nil, nil
	}
	if raw, isRaw := v.(json.RawMessage); isRaw { // older loaders keep extensions raw
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("%s: %s: %v", where, key, err)
		}
	}
	name, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("%s: %s: %v is not a quoted release name (write it as \"R10\" or \"R16.2\")", where, key, v)
	}
	r, err := ParseRelease(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", where, key, err)
	}
	return &r, nil
}

// availability is whether an operation exists in a release, by the contract.
func (c *apiContract) availability(operationID string, rel *Release) (Availability, *opReleases) {
	o := c.releases[operationID]
	switch {
	case o == nil:
		return Available, nil
	case o.from != nil && !rel.AtLeast(*o.from):
		return NotAvailable, o
	case o.deprecated != nil && rel.AtLeast(*o.deprecated):
		return Deprecated, o
	}
	return Available, o
}

// checkParams refuses a body field the release does not have yet (INVALID_REQUEST
// naming the release it arrives in). A body that does not even hold the field's name
// is not parsed.
func (o *opReleases) checkParams(body []byte, rel *Release) *apiError {
	if o == nil {
		return nil
	}
	for i := range o.params {
		if p := &o.params[i]; !rel.AtLeast(p.from) && bytes.Contains(body, p.quote) {
			return o.checkParsed(body, rel) // only now parse: the common request allocates nothing here
		}
	}
	return nil
}

// checkParsed is checkParams on the parsed body.
func (o *opReleases) checkParsed(body []byte, rel *Release) *apiError {
	var fields map[string]any
	if json.Unmarshal(body, &fields) != nil {
		return nil // the contract accepted the body; a handler reports what it cannot read
	}
	for i := range o.params {
		if p := &o.params[i]; !rel.AtLeast(p.from) && present(fields, p.path) {
			return &apiError{Code: CodeInvalidRequest, Violation: true,
				Description: fmt.Sprintf("request body: field %q is available from %s, not in %s", p.field, p.from.Name, rel.Name)}
		}
	}
	return nil
}

// present tells whether a decoded JSON object holds a non-null value at path (null is
// an absent optional field).
func present(fields map[string]any, path []string) bool {
	var v any = fields
	for _, name := range path {
		obj, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = obj[name]; !ok {
			return false
		}
	}
	return v != nil
}
