// Package testutil holds the helpers that the tests of more than one package share.
// Only _test.go files import it, so no binary links it.
package testutil

import "runtime"

// AllocatedBy is how many bytes f allocates, over n calls, per call. f is called once
// before the count (a warm-up) and the heap is collected, so what is counted is f's
// steady cost. Allocations by other goroutines meanwhile count too: measure with
// nothing else running.
func AllocatedBy(n int, f func()) uint64 {
	f() // warm up
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	for range n {
		f()
	}
	runtime.ReadMemStats(&b)
	return (b.TotalAlloc - a.TotalAlloc) / uint64(n)
}

// LiveHeap is the heap in use after two collections (the second empties sync.Pool's
// victim cache).
func LiveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
