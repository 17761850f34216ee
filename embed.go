// Package crmmock holds the files the mock is built around: the OpenAPI contract, the
// control API's OpenAPI document and the built-in default scenario. The mock itself is
// package mockserver.
package crmmock

import _ "embed"

// OpenAPI is openapi.yaml, the contract every Web API request is validated against.
//
//go:embed openapi.yaml
var OpenAPI []byte

// DefaultScenario is scenarios/default.yaml, the fixtures used when none are given.
//
//go:embed scenarios/default.yaml
var DefaultScenario []byte

// AdminOpenAPI is admin-openapi.yaml, the control API (/__admin) described in OpenAPI
// 3.0, served at GET /__admin/admin-openapi.yaml.
//
//go:embed admin-openapi.yaml
var AdminOpenAPI []byte
