// Package scenario decodes the YAML documents of scenarios and scenario scripts:
// strictly (unknown keys refused), within limits checked before anything is expanded,
// with errors that name the line. The mock and the script runner share it; the
// scenario's own types and checks are mockserver's (see Check).
package scenario

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Check checks a scenario (a *mockserver.Scenario) decoded from a larger document
// whose fixture keys sit at its top level (a scenario script): duplicates, dangling
// references, bad values, errors naming lines under root. Package mockserver sets it
// when it loads: the scenario's types live there, and this package cannot import it.
var Check func(sc any, root *yaml.Node) error

// DecodeStrict decodes YAML (or JSON) into v, refusing unknown keys, and returns the
// document node for finding lines. Errors read "line N: …". A document over
// MaxSize bytes, or whose aliases expand past MaxExpandedSize, or with more
// keys than MaxMappingKeys / MaxKeyPairs, is refused before anything is expanded. The
// YAML is parsed once.
func DecodeStrict(data []byte, v any) (*yaml.Node, error) { return Decode(data, v, nil) }

// Decode is DecodeStrict that, with lookup set, first expands each `${VAR}` or
// `${VAR:-default}` in a value through it.
func Decode(data []byte, v any, lookup func(string) (string, bool)) (*yaml.Node, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("the document is %d bytes: a scenario may be at most %d bytes", len(data), MaxSize)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, cleanYAMLError(err)
	}
	if root.Kind == 0 {
		return nil, errors.New("line 1: the document is empty")
	}
	if err := checkLimits(&root); err != nil { // before anything is expanded
		return nil, err
	}
	var msgs []string
	if lookup != nil {
		expandVars(&root, lookup, &msgs)
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		unknownKeys(&root, rv.Type().Elem(), &msgs)
	}
	if err := root.Decode(v); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, cleanYAMLError(err)
		}
		msgs = append(msgs, typeErrors(te)...)
	}
	if len(msgs) > 0 {
		return nil, joinErrors(msgs)
	}
	return &root, nil
}

// maxErrors bounds the problems one load error lists: a document of thousands of
// unknown keys is answered with the first ones (in document order) and a count of the
// rest, not with an error larger than the document.
const maxErrors = 10

// joinErrors orders the messages by line and joins the first maxErrors of them.
func joinErrors(msgs []string) error {
	sortByLine(msgs)
	if n := len(msgs) - maxErrors; n > 0 {
		msgs = append(msgs[:maxErrors:maxErrors], fmt.Sprintf("and %d more", n))
	}
	return errors.New(strings.Join(msgs, "; "))
}

var varRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`) })

// expandVars replaces ${VAR} and ${VAR:-default} in every scalar value (never in keys).
func expandVars(n *yaml.Node, lookup func(string) (string, bool), msgs *[]string) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		n.Value = varRef().ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := varRef().FindStringSubmatch(ref)
			if v, ok := lookup(m[1]); ok && (v != "" || m[2] == "") {
				return v
			}
			if m[2] != "" {
				return m[3]
			}
			*msgs = append(*msgs, fmt.Sprintf("line %d: ${%s} is not set (set the variable, or write ${%s:-default})", n.Line, m[1], m[1]))
			return ref
		})
		n.Tag = "!!str" // an expanded value is a string, as written in quotes
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			expandVars(n.Content[i], lookup, msgs)
		}
	default:
		for _, c := range n.Content {
			expandVars(c, lookup, msgs)
		}
	}
}

var yamlNotFound = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`field (\S+) not found in type \S+`) })

func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return joinErrors(typeErrors(te))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

// typeErrors are a decoder's messages, each "line N: …", unknown fields named as keys.
func typeErrors(te *yaml.TypeError) []string {
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		msgs[i] = yamlNotFound().ReplaceAllString(m, `unknown key "$1"`)
	}
	return msgs
}

// LineOf finds the line of the node at path (map keys and slice indexes) under root,
// the node DecodeStrict returned; where the path ends early, the line of the last node found.
func LineOf(root *yaml.Node, path ...any) int {
	n, _ := nodeAt(root, path...)
	if n == nil {
		return 0
	}
	return n.Line
}

// KeyOrder is the keys of the mapping at path under root, in document order: for
// checking a section decoded into a Go map as it was written (nil when there is none).
func KeyOrder(root *yaml.Node, path ...any) []string {
	n, whole := nodeAt(root, path...)
	if n == nil || !whole || n.Kind != yaml.MappingNode {
		return nil
	}
	keys := make([]string, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys = append(keys, n.Content[i].Value)
	}
	return keys
}

// nodeAt finds the node at path under root, and whether the path was followed to its
// end (else the node is the last one found).
func nodeAt(root *yaml.Node, path ...any) (*yaml.Node, bool) {
	n := root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, p := range path {
		if n == nil {
			return nil, false
		}
		switch k := p.(type) {
		case string:
			var next *yaml.Node
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						next = n.Content[i+1]
					}
				}
			}
			if next == nil {
				return n, false
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return n, false
			}
			n = n.Content[k]
		}
	}
	return n, true
}
