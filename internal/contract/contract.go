// Package contract holds openapi.yaml pre-converted at build time to the JSON that
// kin-openapi loads fastest: the binary then skips the YAML parse at start-up (issue 8
// item 8). openapi.yaml stays the one source; TestJSONMatchesYAML fails when this copy
// is stale. Regenerate with `go generate ./internal/contract` (or `make generate`).
package contract

import _ "embed"

//go:generate go run ./gen

// JSON is openapi.yaml as loaded by kin-openapi and marshalled back (Convert).
//
//go:embed openapi.json
var JSON []byte
