package script

import (
	"regexp"
	"testing"

	"github.com/crmmock/crmmock/mockserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ensure a learned scenario translates the catalogue's names into an installation's:
// every class of a code gives one of its codes and statuses (F21: COM.CRM.EXCEPTION.…),
// jwt.lifetime the JWT lifetime (F9's 7200 elsewhere), the unit's oun, token the
// opaque shape (F6's 32 uppercase hex elsewhere).
func TestNewInstallation(t *testing.T) {
	sc, err := mockserver.ParseScenario([]byte(`
jwt: {lifetime: 3600}
token: {opaque_length: 40, alphabet: 0-9a-z}
errors:
  wrong_password: {code: X.INVALIDLOGINEXCEPTION, http_status: 401}
  unknown_user: {code: X.NOSUCHUSEREXCEPTION, http_status: 404}
  INVALID_TOKEN: {code: X.TOKENEXCEPTION}
organisations: [{name: O, units: [{id: U, oun: 9C0FFEE0}]}]
`))
	require.NoError(t, err)
	in := NewInstallation(sc)
	assert.True(t, in.code("INVALID_CREDENTIALS", "X.INVALIDLOGINEXCEPTION"))
	assert.True(t, in.code("INVALID_CREDENTIALS", "X.NOSUCHUSEREXCEPTION"))
	assert.False(t, in.code("INVALID_CREDENTIALS", "INVALID_CREDENTIALS"), "the installation never answers the catalogue's name")
	assert.True(t, in.code("INVALID_TOKEN", "X.TOKENEXCEPTION"))
	assert.True(t, in.code("TOKEN_EXPIRED", "TOKEN_EXPIRED"), "no entry: the catalogue's")
	assert.True(t, in.status("INVALID_CREDENTIALS", 200, 404))
	assert.False(t, in.status("INVALID_CREDENTIALS", 200, 200))
	assert.True(t, in.status("INVALID_TOKEN", 200, 200), "no status learned: the script's")
	assert.Equal(t, int64(3600), in.Lifetime)
	assert.Equal(t, "9C0FFEE0", in.OUN)
	assert.Regexp(t, regexp.MustCompile(in.Opaque), "0123456789abcdefghijklmnopqrstuvwxyz0123")
	assert.NotRegexp(t, regexp.MustCompile(in.Opaque), "4AD9C84FA60F9FE407140E20F707726A")
	var none *Installation
	assert.True(t, none.code("OK", "OK"))
	assert.True(t, none.status("", 200, 200))
}
