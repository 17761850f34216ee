package probe

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Ensure a token's shape keeps no value that changes per token (F10: claim order and
// types; F6: 32 uppercase hex).
func TestShapeOf(t *testing.T) {
	assert.Equal(t, "opaque token of 32 characters 0-9A-F", ShapeOf("4AD9C84FA60F9FE407140E20F707726A").String())
	assert.Equal(t, "opaque token of 20 characters 0-9a-f", ShapeOf("4ad9c84fa60f9fe40714").String())
	assert.Equal(t, "opaque token of 12 characters 0-9A-Za-z_", ShapeOf("aZ09_bY18xQr").String())
	// the wiki's example token (F10)
	tok := "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJ1c3IiOiJhZG1pbiIsIm9yZyI6IkNSTURFTU8iLCJvdW4iOiIxIiwiZXhwIjoiMTQ5NDMzNjc0OCIsImlhdCI6IjE0OTQzMjk1NDgiLCJqdGkiOiI0QUQ5Qzg0RkE2MEY5RkU0MDcxNDBFMjBGNzA3NzI2QSJ9.sig"
	sh := ShapeOf(tok)
	assert.Equal(t, []string{"usr", "org", "oun", "exp", "iat", "jti"}, sh.ClaimNames())
	assert.Equal(t, int64(7200), sh.Life)
	assert.False(t, sh.Numeric)
	assert.Equal(t, `JWT header {"typ":"JWT","alg":"HS256"} claims {usr:string org:string oun:string(1, 0-9A-F) exp:string iat:string jti:string(32, 0-9A-F)} exp-iat=7200s`, sh.String())
}
