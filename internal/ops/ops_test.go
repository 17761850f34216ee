package ops

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Ensure each operationId and each Web API name appears once, and ByID finds every row.
func TestTableRowsAreUnique(t *testing.T) {
	ids, names := map[string]bool{}, map[string]bool{}
	for _, o := range Table {
		require.False(t, ids[o.ID], "operationId %s twice", o.ID)
		ids[o.ID] = true
		require.Same(t, o, ByID(o.ID))
		require.Less(t, o.Kind, Kinds, o.ID)
		if o.Fixed() {
			require.False(t, names[o.Name], "name %s twice", o.Name)
			names[o.Name] = true
			require.True(t, IsFixed(o.Name))
		}
	}
	require.Nil(t, ByID("noSuchOperation"))
	require.False(t, IsFixed(""))
	require.False(t, IsFixed("contact_information/show"))
	require.Equal(t, []string{UserToken, KeyToken, Release, GenerateOTP, ConsumerToken, DeviceToken}, FixedNames())
}
