package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Ensure serve's log writer batches lines into one write, puts them out by itself
// within its flush interval, at once when its buffer is full, and whole at Close.
func TestLogWriterBatchesAndFlushes(t *testing.T) {
	out := &lockedBuffer{}
	l := newLogWriter(out)
	for i := range 100 {
		_, err := l.Write([]byte("line " + strings.Repeat("x", i%7) + "\n"))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return strings.Count(out.String(), "\n") == 100 }, 5*time.Second, time.Millisecond,
		"the lines were not flushed by the timer")
	out.mu.Lock()
	require.Less(t, out.writes, 100, "one write per line")
	out.mu.Unlock()

	big := bytes.Repeat([]byte("y"), logBufferMax)
	_, _ = l.Write(big) // a full buffer goes out at once
	require.Contains(t, out.String(), string(big))

	_, _ = l.Write([]byte("last\n"))
	l.Close()
	require.True(t, strings.HasSuffix(out.String(), "last\n"), "Close did not flush")
	_, _ = l.Write([]byte("after\n"))
	require.True(t, strings.HasSuffix(out.String(), "after\n"), "a write after Close is not written through")
}
