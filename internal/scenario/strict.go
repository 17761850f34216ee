package scenario

import (
	"cmp"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// unknownKeys reports the mapping keys under n that no field of t takes, as yaml.v3's
// Decoder.KnownFields does ("line N: unknown key "k""). yaml.v3 offers KnownFields
// only on a Decoder reading bytes, so this lets DecodeStrict decode the node tree it
// already parsed (one parse instead of two). Aliases are followed (checkLimits has
// bounded their expansion); values a custom yaml.Unmarshaler takes are its own.
func unknownKeys(n *yaml.Node, t reflect.Type, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return
		}
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			unknownKeys(c, t, out)
		}
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t == nodeType {
		return
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := structFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" {
				continue // yaml.v3 skips a null key, and reports other failing keys itself
			}
			if k.Tag == "!!merge" || (k.Value == "<<" && k.Tag != "!!str" && k.Style == 0) {
				for _, m := range mergeSources(v) {
					unknownKeys(m, t, out)
				}
				continue
			}
			ft, ok := fields.byName[k.Value]
			switch {
			case ok:
				unknownKeys(v, ft, out)
			case fields.inlineMap != nil:
				unknownKeys(v, fields.inlineMap, out)
			default:
				*out = append(*out, fmt.Sprintf("line %d: unknown key %q", k.Line, k.Value))
			}
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			unknownKeys(n.Content[i], t.Elem(), out)
		}
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && n.Kind == yaml.SequenceNode:
		for _, c := range n.Content {
			unknownKeys(c, t.Elem(), out)
		}
	}
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	nodeType        = reflect.TypeFor[yaml.Node]()
)

// mergeSources are the mappings a merge key ("<<: *a" or "<<: [*a, *b]") merges in.
func mergeSources(v *yaml.Node) []*yaml.Node {
	if v.Kind == yaml.SequenceNode {
		return v.Content
	}
	return []*yaml.Node{v}
}

type yamlFields struct {
	byName    map[string]reflect.Type
	inlineMap reflect.Type // the value type of a ",inline" map, which takes any key
}

var fieldCache sync.Map // reflect.Type → *yamlFields

// structFields names t's fields as yaml.v3 does: the tag's name, else the field name
// in lower case; ",inline" structs lend their fields, an ",inline" map takes the rest.
func structFields(t reflect.Type) *yamlFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*yamlFields)
	}
	f := &yamlFields{byName: map[string]reflect.Type{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.PkgPath != "" && !sf.Anonymous {
			continue
		}
		tag := sf.Tag.Get("yaml")
		if tag == "" && !strings.Contains(string(sf.Tag), ":") {
			tag = string(sf.Tag)
		}
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "inline") {
			ft := sf.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Struct:
				inner := structFields(ft)
				for k, v := range inner.byName {
					f.byName[k] = v
				}
				if inner.inlineMap != nil {
					f.inlineMap = inner.inlineMap
				}
			case reflect.Map:
				f.inlineMap = ft.Elem()
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		f.byName[name] = sf.Type
	}
	fieldCache.Store(t, f)
	return f
}

var leadingLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^line (\d+):`) })

// sortByLine orders error messages by their "line N:" prefix (stable otherwise), so
// the unknown keys and the decoder's own errors read in document order.
func sortByLine(msgs []string) {
	line := func(s string) int {
		if m := leadingLine().FindStringSubmatch(s); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
		return 0
	}
	slices.SortStableFunc(msgs, func(a, b string) int { return cmp.Compare(line(a), line(b)) })
}
