package mockserver

import "go.yaml.in/yaml/v3"

// CheckScenario checks a scenario decoded from a larger YAML document whose fixture keys
// sit at the top level next to keys of its own (a scenario script, see package
// mockserver/script): duplicates, dangling references, bad values. root is the
// document node DecodeStrict returned, so errors name the line ("line N: …"); nil
// gives errors without lines.
func CheckScenario(sc *Scenario, root *yaml.Node) error {
	_, err := compile(sc, root)
	return err
}
