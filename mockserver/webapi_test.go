package mockserver

import (
	"strings"
	"testing"

	"github.com/crmmock/crmmock/internal/ops"
	"github.com/stretchr/testify/require"
)

// Ensure the operations table and the contract name the same operations, each row's
// kind has a handler, and a fixed operation's name is its path in the contract: adding
// a method is adding a row, and a row the contract lacks (or the reverse) fails here.
func TestOperationsTableMatchesContract(t *testing.T) {
	c, err := loadProcessContract()
	require.NoError(t, err)
	inContract := map[string]string{} // operationId → path
	for _, path := range c.doc.Paths.InMatchingOrder() {
		for _, op := range c.doc.Paths.Value(path).Operations() {
			inContract[op.OperationID] = path
		}
	}
	require.Len(t, ops.Table, len(inContract), "one row per contract operation")
	for _, o := range ops.Table {
		path, ok := inContract[o.ID]
		require.True(t, ok, "row %s: no such operationId in openapi.yaml", o.ID)
		require.NotNil(t, handlerOf(o), "row %s: kind %d has no handler", o.ID, o.Kind)
		if o.Fixed() {
			require.Equal(t, "/"+o.Name, path, "row %s", o.ID)
		} else {
			require.True(t, strings.HasPrefix(path, "/{"), "row %s: a method without a name is the template path, got %s", o.ID, path)
		}
	}
}
