// Package contract holds openapi.yaml compiled at build time to Go composite literals
// (doc_gen.go): the binary then neither parses YAML nor decodes JSON at start-up, where
// kin-openapi's decode was the longest step before the first answered login.
// openapi.yaml stays the one source; gen's TestGeneratedIsCurrent fails when
// doc_gen.go is stale. Regenerate with `go generate ./internal/contract` (or `make
// generate`).
package contract

import "github.com/getkin/kin-openapi/openapi3"

//go:generate go run ./gen

// Doc returns openapi.yaml as kin-openapi's loader returns it: the generated literal with
// its references resolved. Each call builds a new document.
func Doc() (*openapi3.T, error) {
	doc := literal()
	if err := openapi3.NewLoader().ResolveRefsIn(doc, nil); err != nil {
		return nil, err
	}
	return doc, nil
}
