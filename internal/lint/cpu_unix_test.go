//go:build unix

package lint

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time: on a shared machine a benchmark's
// wall time counts other processes' turns, its CPU time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
