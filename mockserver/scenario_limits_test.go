package mockserver

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const limitsOrg = "organisations:\n  - name: O\n    units: [{id: U}]\n    users: [{username: u, password: p}]\n"

// aliasBomb is the scenario: methods[].data aliases a string of kib KiB 100×,
// and that list 100× (11 KiB of YAML for kib=10, about 100 MB once expanded).
func aliasBomb(kib int) string {
	refs := func(name string) string {
		r := make([]string, 100)
		for i := range r {
			r[i] = "*" + name
		}
		return "[" + strings.Join(r, ",") + "]"
	}
	return limitsOrg + "methods:\n  - method: GET\n    path: a/b\n    data:\n" +
		"      - &s " + strings.Repeat("a", kib<<10) + "\n" +
		"      - &l " + refs("s") + "\n" +
		"      - " + refs("l") + "\n"
}

// keyBomb is a scenario whose one method answers an object of n keys.
func keyBomb(n int) string {
	var b strings.Builder
	b.WriteString(limitsOrg + "methods:\n  - method: GET\n    path: a/b\n    data: {")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "k%d: %d", i, i)
	}
	b.WriteString("}\n")
	return b.String()
}

// Ensure a scenario whose aliases expand past the limit is refused before it is
// expanded, naming the limit and the line (issue 8, item 1).
func TestScenarioAliasBomb(t *testing.T) {
	for _, kib := range []int{10, 49, 109} {
		t.Run(fmt.Sprintf("%dKiB", kib), func(t *testing.T) {
			_, err := ParseScenario([]byte(aliasBomb(kib)))
			require.Error(t, err)
			assert.Regexp(t, `^line 1[01]: `, err.Error())
			assert.Contains(t, err.Error(), fmt.Sprintf("more than %d bytes", MaxScenarioSize))
		})
	}
}

// Ensure aliases within the limit still load, each expanded where it is referenced.
func TestScenarioAliasesWithinLimit(t *testing.T) {
	sc, err := ParseScenario([]byte(limitsOrg + "methods:\n  - method: GET\n    path: a/b\n    data: {x: &x [1, 2], y: *x}\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"x": []any{1, 2}, "y": []any{1, 2}}, sc.Methods[0].Data)
	_, err = ParseScenario([]byte(limitsOrg + "methods:\n  - method: GET\n    path: a/b\n    data: &d [1, *d]\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 8:")
	assert.Contains(t, err.Error(), "contains itself")
}

// Ensure a mapping too large for yaml.v3's pairwise duplicate-key check is refused
// before decoding, naming the limit (issue 8, item 2), and a large one within it loads.
func TestScenarioKeyBomb(t *testing.T) {
	_, err := ParseScenario([]byte(keyBomb(MaxMappingKeys + 1)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 8:")
	assert.Contains(t, err.Error(), fmt.Sprintf("at most %d keys", MaxMappingKeys))

	sc, err := ParseScenario([]byte(keyBomb(MaxMappingKeys)))
	require.NoError(t, err)
	assert.Len(t, sc.Methods[0].Data, MaxMappingKeys)

	// Many mid-sized mappings: each within the limit, together over it.
	var b strings.Builder
	b.WriteString(limitsOrg + "methods:\n  - method: GET\n    path: a/b\n    data:\n      - &m {")
	for i := range MaxMappingKeys / 2 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "k%d: 0", i)
	}
	b.WriteString("}\n      - [*m, *m, *m, *m, *m, *m, *m, *m, *m, *m]\n")
	_, err = ParseScenario([]byte(b.String()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "key pairs")
}

// Ensure the control API answers a bomb with 400 naming the limit, and the scenario in
// force stays (issue 8, items 1 and 2).
func TestControlScenarioBombs(t *testing.T) {
	h := startVersion(t, "R10")
	for name, body := range map[string]string{"aliases": aliasBomb(10), "keys": keyBomb(4 * MaxMappingKeys)} {
		st, v := h.admin("PUT", "/__admin/scenario", body)
		assert.Equal(t, 400, st, name)
		assert.Contains(t, v["error"], "at most", name)
		assert.Equal(t, "OK", h.post("authentication/token", creds()).Status.Code, "%s: the scenario in force stays", name)
	}
}
