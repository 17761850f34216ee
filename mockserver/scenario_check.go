package mockserver

import (
	yamlscenario "github.com/crmmock/crmmock/internal/scenario"
	"go.yaml.in/yaml/v3"
)

// Scenario limits (docs/scenarios.md, "Scenario limits"); internal/scenario checks them.
const (
	// MaxScenarioSize bounds a scenario document in bytes: a scenario file, a
	// ParseScenario argument, a PUT /__admin/scenario body (the Web API's default body
	// limit). yaml.v3 parses dense YAML at a few MB/s, so this keeps any accepted
	// scenario well under a second.
	MaxScenarioSize = DefaultBodyLimit
	// MaxExpandedSize bounds a scenario document with its aliases expanded, in bytes
	// (each node counts its scalar's length plus one).
	MaxExpandedSize = yamlscenario.MaxExpandedSize
	// MaxMappingKeys bounds the keys of one mapping, with aliases expanded.
	MaxMappingKeys = yamlscenario.MaxMappingKeys
	// MaxKeyPairs bounds the key pairs of all mappings of a document together
	// (n keys make n(n-1)/2 pairs), aliases expanded: yaml.v3 checks duplicate keys
	// pair by pair, so this keeps decoding well under a second.
	MaxKeyPairs = yamlscenario.MaxKeyPairs
)

// internal/scenario checks the limit the mock names (a compile error if they part).
var _ [MaxScenarioSize - yamlscenario.MaxSize]struct{}
var _ [yamlscenario.MaxSize - MaxScenarioSize]struct{}

func init() {
	// a scenario embedded in a larger YAML document (a scenario script, see package
	// mockserver/script): root is the document node internal/scenario decoded.
	yamlscenario.Check = func(sc any, root *yaml.Node) error {
		_, err := compile(sc.(*Scenario), root)
		return err
	}
}
