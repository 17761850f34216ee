package mockserver

import (
	"fmt"
	"math"

	"go.yaml.in/yaml/v3"
)

// Scenario limits (docs/scenarios.md, "Scenario limits").
const (
	// MaxScenarioSize bounds a scenario document in bytes: a scenario file, a
	// ParseScenario argument, a PUT /__admin/scenario body (the Web API's default body
	// limit). yaml.v3 parses dense YAML at a few MB/s, so this keeps any accepted
	// scenario well under a second.
	MaxScenarioSize = DefaultBodyLimit
	// MaxExpandedSize bounds a scenario document with its aliases expanded, in bytes
	// (each node counts its scalar's length plus one).
	MaxExpandedSize = 2 * MaxScenarioSize
	// MaxMappingKeys bounds the keys of one mapping, with aliases expanded.
	MaxMappingKeys = 8192
	// MaxKeyPairs bounds the key pairs of all mappings of a document together
	// (n keys make n(n-1)/2 pairs), aliases expanded: yaml.v3 checks duplicate keys
	// pair by pair (about 3 ns a pair here), so this keeps decoding well under a
	// second. One mapping of MaxMappingKeys keys fits with room for many small ones.
	MaxKeyPairs = 48 << 20
)

// expansion is what a node costs once decoded: its size with aliases expanded and the
// key pairs yaml.v3's duplicate-key check compares.
type expansion struct{ size, pairs int64 }

// limitCheck measures a document node tree without expanding it: each anchored node
// is measured once and its aliases reuse the figure, so the work is linear in the
// tree while the figures are those of the expanded document.
type limitCheck struct {
	memo map[*yaml.Node]expansion // anchored nodes measured so far
	busy map[*yaml.Node]bool      // anchored nodes being measured (an alias to one is a cycle)
}

// checkLimits refuses a document whose expansion is over MaxExpandedSize,
// MaxMappingKeys or MaxKeyPairs, naming the line where it first goes over.
func checkLimits(root *yaml.Node) error {
	c := limitCheck{memo: map[*yaml.Node]expansion{}, busy: map[*yaml.Node]bool{}}
	_, err := c.measure(root)
	return err
}

func addCapped(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func (c *limitCheck) measure(n *yaml.Node) (expansion, error) {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return expansion{size: 1}, nil
		}
		n = n.Alias
	}
	if e, ok := c.memo[n]; ok {
		return e, nil
	}
	if c.busy[n] {
		return expansion{}, fmt.Errorf("line %d: anchor %q contains itself", n.Line, n.Anchor)
	}
	if n.Anchor != "" {
		c.busy[n] = true
		defer delete(c.busy, n)
	}
	e := expansion{size: 1 + int64(len(n.Value))}
	if n.Kind == yaml.MappingNode {
		keys := int64(len(n.Content) / 2)
		if keys > MaxMappingKeys {
			return e, fmt.Errorf("line %d: a mapping of %d keys (aliases expanded): a mapping may hold at most %d keys", n.Line, keys, MaxMappingKeys)
		}
		e.pairs = keys * (keys - 1) / 2
	}
	for _, child := range n.Content {
		ce, err := c.measure(child)
		if err != nil {
			return e, err
		}
		e.size = addCapped(e.size, ce.size)
		e.pairs = addCapped(e.pairs, ce.pairs)
		if e.size > MaxExpandedSize {
			return e, fmt.Errorf("line %d: with its aliases expanded, the document is more than %d bytes (a scenario may be at most %d bytes, expanded)", n.Line, MaxExpandedSize, MaxExpandedSize)
		}
		if e.pairs > MaxKeyPairs {
			return e, fmt.Errorf("line %d: too many keys in large mappings: at most %d key pairs in all, aliases expanded (a mapping of n keys has n(n-1)/2; at most %d keys in one mapping)", n.Line, MaxKeyPairs, MaxMappingKeys)
		}
	}
	if n.Anchor != "" {
		c.memo[n] = e
	}
	return e, nil
}
