//go:build unix

package testutil

import (
	"syscall"
	"time"
)

// CPUTime is the process's user+system CPU time: on a shared machine a benchmark's
// wall time counts other processes' turns, its CPU time does not.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
