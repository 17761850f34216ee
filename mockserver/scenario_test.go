package mockserver

import (
	"testing"
	"time"

	"github.com/crmmock/crmmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure the built-in scenario holds the documentation's example fixtures (docs/scenarios.md).
func TestDefaultScenario(t *testing.T) {
	sc := DefaultScenario()
	require.NotEmpty(t, sc.Organisations)
	o := sc.Organisations[0]
	assert.Equal(t, docOrg, o.Name)
	assert.Equal(t, docUnit, o.Units[0].ID)
	assert.Equal(t, "1", o.Units[0].OUN)
	assert.Equal(t, docUser, o.Users[0].Username)
	assert.Equal(t, docKey, o.WebAPIKeys[0].Key)
	assert.Empty(t, sc.Clock.Start, "the default start is now, so tokens verify with real-time JWT libraries")
}

// Ensure load errors name the problem and the line.
func TestScenarioErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown key", "organisations:\n  - name: A\n    unitz: []\n", `line 3: unknown key "unitz"`},
		{"wrong type", "organisations:\n  - name: A\n    units: 5\n", "line 3:"},
		{"not yaml", "organisations: [", "line"},
		{"empty", "", "line 1: the document is empty"},
		{"no organisations", "version: R10\n", "at least one organisation"},
		{"bad version", "version: X\norganisations: []\n", `line 1: version: unknown release "X"`},
		{"bad start", "clock: {start: tomorrow}\n", "line 1: clock.start"},
		{"duplicate organisation", "organisations:\n  - {name: A, units: [{id: U}]}\n  - {name: A, units: [{id: U}]}\n", `line 3: duplicate organisation "A"`},
		{"duplicate user", "organisations:\n  - name: A\n    units: [{id: U}]\n    users:\n      - {username: u, password: p}\n      - {username: u, password: q}\n", `line 6: duplicate user "u"`},
		{"duplicate unit", "organisations:\n  - name: A\n    units:\n      - {id: U}\n      - {id: U}\n", `line 5: duplicate unit "U"`},
		{"dangling default unit", "organisations:\n  - name: A\n    units: [{id: U}]\n    users:\n      - {username: u, password: p, default_unit: V}\n", `line 5: default_unit "V"`},
		{"dangling unit list", "organisations:\n  - name: A\n    units: [{id: U}]\n    users:\n      - username: u\n        units: [U, W]\n", `line 6: unit "W"`},
		{"dangling key user", "organisations:\n  - name: A\n    units: [{id: U}]\n    web_api_keys:\n      - {key: K, user: ghost}\n", `line 5: web_api_key "K" names user "ghost"`},
		{"duplicate key", "organisations:\n  - name: A\n    units: [{id: U}]\n    users: [{username: u}]\n    web_api_keys:\n      - {key: K, user: u}\n      - {key: K, user: u}\n", `line 7: duplicate web_api_key "K"`},
		{"bad method", "organisations: [{name: A, units: [{id: U}]}]\nmethods:\n  - {method: PUT, path: a/b}\n", `line 3: methods: method "PUT"`},
		{"bad method path", "organisations: [{name: A, units: [{id: U}]}]\nmethods:\n  - {method: GET, path: a}\n", `line 3: methods: path "a"`},
		{"unknown error code", "errors: {NOPE: {code: X}}\norganisations: [{name: A, units: [{id: U}]}]\n", `line 1: errors: unknown error code "NOPE"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(c.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// Ensure JSON scenarios load with the same keys, and defaults apply.
func TestScenarioJSON(t *testing.T) {
	sc, err := ParseScenario([]byte(`{"version":"R10.0.0","clock":{"start":"2024-05-01T00:00:00Z"},
	  "organisations":[{"name":"A","units":[{"id":"U1"},{"id":"U2","oun":"9"}],
	    "users":[{"username":"u","password":"p"}],
	    "web_api_keys":[{"key":"K","user":"u","units":["U2"]}]}]}`))
	require.NoError(t, err)
	h := &harness{t: t, Server: Start(t, Options{Scenario: sc})} // no Start: the scenario's clock.start
	assert.Equal(t, "R10.0.0", h.Version().Name, "the scenario's version applies without --version")
	assert.Equal(t, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), h.Now(), "clock.start")
	r := h.post("authentication/web_api_key/token", nil, "Authorization", basic("K"))
	require.Equal(t, "OK", r.Status.Code, "%s", r.Raw)
	info, _ := h.Token(r.token(t))
	assert.Equal(t, "U2", info.Unit, "the key may use only U2, so it gets U2")
	r = h.post("authentication/web_api_key/token", map[string]string{"unit": "U1"}, "Authorization", basic("K"))
	assert.Equal(t, "INVALID_UNIT", r.Status.Code)

	h2 := start(t, Options{Scenario: sc, Version: "R12"})
	assert.Equal(t, "R12", h2.Version().Name, "Options.Version wins")
}

// Ensure the contract is a valid OpenAPI 3.0 document whose release data (quoted
// x-available-from / x-deprecated-from) is what the mock reads: every operation's
// availability in every release from R4 to R20 follows it.
func TestContract(t *testing.T) {
	c, err := LoadContract()
	require.NoError(t, err)
	assert.Regexp(t, `^3\.0\.`, c.Doc.OpenAPI)
	require.NoError(t, c.Doc.Validate(t.Context()))
	assert.Contains(t, string(crmmock.OpenAPI), "x-fidelity")

	for _, path := range c.Doc.Paths.InMatchingOrder() {
		for method, op := range c.Doc.Paths.Value(path).Operations() {
			assert.Contains(t, op.Extensions, "x-fidelity", "%s %s", method, path)
			from, hasFrom := op.Extensions["x-available-from"].(string)
			dep, hasDep := op.Extensions["x-deprecated-from"].(string)
			for _, name := range []string{"R4", "R9", "R10", "R11.1.0", "R12", "R13", "R15", "R16.2", "R18", "R20"} {
				rel := MustParseRelease(name)
				got, _ := c.availability(op.OperationID, &rel)
				want := Available
				switch {
				case hasFrom && !rel.AtLeast(MustParseRelease(from)):
					want = NotAvailable
				case hasDep && rel.AtLeast(MustParseRelease(dep)):
					want = Deprecated
				}
				assert.Equal(t, want, got, "%s in %s", op.OperationID, name)
			}
		}
	}
	rel := MustParseRelease("R9")
	got, _ := c.availability("webApiKeyToken", &rel)
	assert.Equal(t, NotAvailable, got, "F7: no key tokens before R10.0.0")
	rel = MustParseRelease("R12.0.0")
	got, _ = c.availability("releaseToken", &rel)
	assert.Equal(t, Deprecated, got, "F8: release deprecated from R12.0.0")
}

// Ensure release names parse as F11 writes them.
func TestParseRelease(t *testing.T) {
	for in, want := range map[string][2]string{
		"pre-R10": {"pre-R10", "pre-R10"}, "PRE-r10": {"pre-R10", "pre-R10"},
		"R9": {"R9", "pre-R10"}, "R6.0.0": {"R6.0.0", "pre-R10"}, "r10": {"R10", "R10"},
		"R10.0.0": {"R10.0.0", "R10"}, "R11.1.0": {"R11.1.0", "R10"}, "R12": {"R12", "R12"},
		"R14.1.0": {"R14.1.0", "R12"}, "R18.0.0": {"R18.0.0", "R12"}, " R12 ": {"R12", "R12"},
		"R16.2": {"R16.2", "R12"}, "R16.2.0": {"R16.2.0", "R12"}, "R4": {"R4", "pre-R10"}, "R25": {"R25", "R12"},
	} {
		r, err := ParseRelease(in)
		require.NoError(t, err, in)
		assert.Equal(t, want[0], r.Name, in)
		assert.Equal(t, want[1], r.Profile.Name, in)
	}
	for _, bad := range []string{"", "R", "12", "R-1", "R0", "R1.2", "R3", "R3.9.9", "R1.2.3.4", "Rx", "R+5", "R10.0.x", "R16.", "v12", "R99999"} {
		_, err := ParseRelease(bad)
		assert.Error(t, err, bad)
	}
	// F11: releases at minor precision; R16.2 is R16.2.0, and pre-R10 is R9.
	assert.True(t, MustParseRelease("R16.2").AtLeast(MustParseRelease("R16.2.0")))
	assert.True(t, MustParseRelease("R16.2.0").AtLeast(MustParseRelease("R16.2")))
	assert.False(t, MustParseRelease("R16.1.9").AtLeast(MustParseRelease("R16.2")))
	assert.True(t, MustParseRelease("R16.10").AtLeast(MustParseRelease("R16.2")), "16.10 is after 16.2")
	assert.Equal(t, MustParseRelease("R9").Major, MustParseRelease("pre-R10").Major)
}
