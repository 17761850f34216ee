package lint

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Ensure the text report names severity, rule, requests, message and summary.
func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteText(&b, Run(&Input{})))
	require.Equal(t, "no findings: 0 errors, 0 warnings, 0 info\n", b.String())

	s := newSim(t, "R10")
	tok := s.login("mpadministrator")
	s.advance(time.Hour)
	s.use(tok)
	s.use(tok)
	b.Reset()
	require.NoError(t, WriteText(&b, Run(s.input())))
	out := b.String()
	require.Contains(t, out, "ERROR   expired-token-reused  ×1 (requests #3)  2024-01-01T10:00:00Z\n        Token ")
	require.NotContains(t, out, "        token: ", "the message names the token already")
	require.True(t, strings.HasSuffix(out, "1 finding: 1 error, 0 warnings, 0 info\n"), out)
	for _, line := range strings.Split(out, "\n") {
		require.LessOrEqual(t, len([]rune(line)), 110, line)
	}
}
