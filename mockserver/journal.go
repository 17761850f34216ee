package mockserver

import (
	"sync"
	"time"
)

const defaultJournalSize = 10000

// JournalEntry is one Web API request as the mock answered it.
type JournalEntry struct {
	Time       time.Time `json:"time"` // the mock's clock
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	Status     int       `json:"status"` // HTTP status
	Code       string    `json:"code"`   // status.code
	Version    string    `json:"version"`
	Fault      string    `json:"fault,omitempty"` // the fault that fired on the request
	Violations []string  `json:"violations,omitempty"`
}

// journal keeps the newest entries in a ring.
type journal struct {
	mu      sync.Mutex
	entries []JournalEntry
	next    int // where the next entry goes once the ring is full
	size    int
}

func newJournal(size int) *journal { return &journal{size: size} }

func (j *journal) add(e JournalEntry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.entries) < j.size {
		j.entries = append(j.entries, e)
		return
	}
	j.entries[j.next] = e
	j.next = (j.next + 1) % j.size
}

func (j *journal) list(violationsOnly bool) []JournalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]JournalEntry, 0, len(j.entries))
	for i := range j.entries {
		e := j.entries[(j.next+i)%len(j.entries)]
		if !violationsOnly || len(e.Violations) > 0 {
			out = append(out, e)
		}
	}
	return out
}

func (j *journal) clear() {
	j.mu.Lock()
	j.entries, j.next = nil, 0
	j.mu.Unlock()
}
