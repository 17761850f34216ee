package main

import (
	"io"
	"sync"
	"time"
)

// logFlushEvery is how long a log line may wait in logWriter's buffer.
const logFlushEvery = 50 * time.Millisecond

// logBufferMax is how much log logWriter holds before it writes at once.
const logBufferMax = 64 << 10

// logWriter buffers serve's log: the one info line per request becomes one write
// system call per flush (every logFlushEvery, when logBufferMax is reached, and at
// Close) instead of one per line, which on loopback load was the costliest step of a
// request (make loadtest). A line is out within logFlushEvery of being logged.
type logWriter struct {
	mu      sync.Mutex
	w       io.Writer
	buf     []byte
	timer   *time.Timer
	pending bool // the timer is set
	closed  bool
	err     error // the first write error; later lines are dropped (as a closed stderr would)
}

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{w: w}
	l.timer = time.AfterFunc(time.Hour, l.Flush)
	l.timer.Stop()
	return l
}

// Write keeps p for the next flush (after Close it writes through).
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.w.Write(p)
	}
	l.buf = append(l.buf, p...)
	switch {
	case len(l.buf) >= logBufferMax:
		l.flushLocked()
	case !l.pending:
		l.pending = true
		l.timer.Reset(logFlushEvery)
	}
	return len(p), nil
}

// Flush writes out what is buffered.
func (l *logWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
}

func (l *logWriter) flushLocked() {
	l.pending = false
	if len(l.buf) == 0 {
		return
	}
	if l.err == nil {
		_, l.err = l.w.Write(l.buf)
	}
	if cap(l.buf) > 4*logBufferMax {
		l.buf = nil // a burst's buffer is not kept
	} else {
		l.buf = l.buf[:0]
	}
}

// Close flushes and makes later writes go straight through.
func (l *logWriter) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timer.Stop()
	l.flushLocked()
	l.closed = true
}
