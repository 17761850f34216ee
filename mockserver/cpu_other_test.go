//go:build !unix

package mockserver

import "time"

func cpuTime() time.Duration { return 0 }
