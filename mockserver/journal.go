package mockserver

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"
)

const defaultJournalSize = 10000

// journalTokenLimit cuts a presented token in the journal, in characters (INTERFACE
// §7; a client sending a 1 MiB token must not make the journal hold 10 000 of them).
const journalTokenLimit = 512

// journalTextLimit cuts a journal entry's description and path: a reason quoting a
// 1 MiB field must not make the journal hold 10 000 of them.
const journalTextLimit = 2048

// JournalEntry is one Web API request as the mock answered it (INTERFACE §7).
type JournalEntry struct {
	ID          uint64    `json:"id"`   // increasing, assigned when the entry is added
	Time        time.Time `json:"time"` // the mock's clock
	Method      string    `json:"method"`
	Path        string    `json:"path"`
	Operation   string    `json:"operation"` // authentication/token, …, <resource>/<action>; empty when unrouted
	Status      int       `json:"status"`    // HTTP status
	Code        string    `json:"code"`      // status.code as answered
	Description string    `json:"description"`
	Version     string    `json:"version"`
	Token       string    `json:"token,omitempty"`  // as presented, cut at 512 characters
	Issued      string    `json:"issued,omitempty"` // the token this request issued
	Fault       string    `json:"fault,omitempty"`  // the fault that answered
	Violations  []string  `json:"violations,omitempty"`
	Misplaced   string    `json:"misplaced,omitempty"` // where an issued token came when the contract's place had none
	// Lenient lists what the request was accepted for only by leniency (F20): a sloppy
	// form production accepts too, "kind" or "kind: detail" (see leniency.go).
	Lenient []string `json:"lenient,omitempty"`

	// Not in the JSON; read by the lint (lintInput, same package).
	principal string // a login's asker: "user <name>@<org>" or "key …<last 4>"; never a secret
	message   string // status.message as answered (message-as-token; the description is journaled already)
	catalogue Code   // the catalogue code (the scenario's errors map may have answered another)
	profile   string // the release profile at that moment: pre-R10, R10, R12
	injected  bool   // a fault gave the answer (Fault also names one that only delayed it)
}

// DefaultJournalBudget bounds the memory the journals of a root and all its sandboxes
// hold together (Options.JournalBudget, --journal-budget), in bytes.
const DefaultJournalBudget = 256 << 20

// journalFloor is how many entries a journal keeps whatever the budget says: a busy
// sandbox cannot empty another's journal, nor its own below this.
const journalFloor = 100

// journal keeps the newest entries in a ring of at most size entries, and within the
// budget it shares with the other journals of its process: past the budget, the
// journal that adds an entry drops a quarter of its own oldest (never below
// journalFloor), so a journal never drops another's entries.
type journal struct {
	mu      sync.Mutex
	entries []JournalEntry
	next    int // where the next entry goes once the ring is full
	size    int
	lastID  uint64
	bytes   int64      // what the held entries cost (entryCost)
	budget  *memBudget // shared by a root and its sandboxes; nil: none
	trimmed uint64     // entries dropped for the budget since the last clear
}

// memBudget is a process-wide bound on an approximate memory cost, in bytes.
type memBudget struct {
	limit int64
	used  atomic.Int64
}

// full reports whether the budget is spent (nothing could be trimmed under it).
func (b *memBudget) full() bool { return b != nil && b.limit > 0 && b.used.Load() > b.limit }

func newJournal(size int) *journal { return &journal{size: size} }

// entryCost is an entry's approximate memory: the struct and the bytes of its strings
// (counted even where a string shares memory, so the estimate errs high).
func entryCost(e *JournalEntry) int64 {
	n := int64(unsafe.Sizeof(*e)) + int64(len(e.Method)+len(e.Path)+len(e.Operation)+len(e.Code)+len(e.Description)+
		len(e.Version)+len(e.Token)+len(e.Issued)+len(e.Fault)+len(e.Misplaced)+len(e.principal)+len(e.message)+len(e.profile))
	for _, v := range e.Violations {
		n += int64(len(v)) + int64(unsafe.Sizeof(v))
	}
	return n
}

// add stores e with the next id and returns the id.
func (j *journal) add(e JournalEntry) uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.lastID++
	e.ID = j.lastID
	cost := entryCost(&e)
	if len(j.entries) < j.size {
		j.entries = append(j.entries, e)
	} else {
		cost -= entryCost(&j.entries[j.next])
		j.entries[j.next] = e
		j.next = (j.next + 1) % j.size
	}
	j.bytes += cost
	if j.budget != nil {
		j.budget.used.Add(cost)
		if j.budget.full() && len(j.entries) > journalFloor {
			j.trim(max(journalFloor, len(j.entries)-len(j.entries)/4))
		}
	}
	return e.ID
}

// trim keeps the newest keep entries (the caller holds j.mu) and gives the rest of
// their cost back to the budget. It moves them to the front of the array it has, so a
// journal kept at the budget by a flood allocates nothing once settled, and takes a
// new array only when the one it has is over twice what the kept entries need (memory
// given back after a deep trim).
func (j *journal) trim(keep int) {
	n := len(j.entries)
	if j.next != 0 { // a full ring: put it in order (three reversals, no allocation)
		slices.Reverse(j.entries[:j.next])
		slices.Reverse(j.entries[j.next:])
		slices.Reverse(j.entries)
		j.next = 0
	}
	var freed int64
	for i := range n - keep {
		freed += entryCost(&j.entries[i])
	}
	if want := min(j.size, keep+keep/4+1); cap(j.entries) > 2*want {
		kept := make([]JournalEntry, keep, want)
		copy(kept, j.entries[n-keep:])
		j.entries = kept
	} else {
		copy(j.entries, j.entries[n-keep:])
		clear(j.entries[keep:n]) // no string of a dropped entry stays reachable
		j.entries = j.entries[:keep]
	}
	j.bytes -= freed
	j.trimmed += uint64(n - keep)
	if j.budget != nil {
		j.budget.used.Add(-freed)
	}
}

// journalFilter selects entries (GET /__admin/requests). The zero value selects all.
type journalFilter struct {
	violations bool
	limit      int // the newest limit entries; 0: all
	code       string
	token      string // presented or issued
	presented  string // token as the journal keeps a presented one (cut, see cutToken)
	since      time.Time
}

func (f *journalFilter) match(e *JournalEntry) bool {
	return (!f.violations || len(e.Violations) > 0) &&
		(f.code == "" || e.Code == f.code) &&
		(f.token == "" || e.Token == f.presented || e.Issued == f.token) &&
		(f.since.IsZero() || !e.Time.Before(f.since))
}

// list returns the selected entries, oldest first.
func (j *journal) list(f journalFilter) []JournalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]JournalEntry, 0, len(j.entries))
	for i := range j.entries {
		e := &j.entries[(j.next+i)%len(j.entries)]
		if f.match(e) {
			out = append(out, *e)
		}
	}
	if f.limit > 0 && len(out) > f.limit {
		out = out[len(out)-f.limit:]
	}
	return out
}

func (j *journal) clear() {
	j.mu.Lock()
	j.clearLocked()
	j.mu.Unlock()
}

func (j *journal) clearLocked() {
	j.entries, j.next = nil, 0 // ids keep increasing: a client never sees an id twice
	if j.budget != nil {
		j.budget.used.Add(-j.bytes)
	}
	j.bytes, j.trimmed = 0, 0
}

// close empties the journal and leaves the budget (a sandbox dropped), in one hold of
// the lock: an entry a request still in flight adds after it is not counted, and one
// added before it is given back (between two holds it would stay counted for ever).
func (j *journal) close() {
	j.mu.Lock()
	j.clearLocked()
	j.budget = nil
	j.mu.Unlock()
}

// parseJournalFilter reads ?limit ?code ?token ?since; the error names the parameter.
func parseJournalFilter(q map[string][]string) (journalFilter, error) {
	var f journalFilter
	get := func(k string) (string, bool) {
		v, ok := q[k]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	if v, ok := get("limit"); ok {
		n, err := parseLimit(v)
		if err != nil {
			return f, err
		}
		f.limit = n
	}
	if v, ok := get("code"); ok {
		if v == "" {
			return f, fmt.Errorf("code: empty (want a status.code, e.g. TOKEN_EXPIRED)")
		}
		f.code = v
	}
	if v, ok := get("token"); ok {
		if v == "" {
			return f, fmt.Errorf("token: empty")
		}
		f.token, f.presented = v, clip(v)
	}
	if v, ok := get("since"); ok {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, fmt.Errorf("since: %q is not RFC 3339 (e.g. 2024-01-01T09:00:00Z)", v)
		}
		f.since = t
	}
	return f, nil
}

// parseLimit reads a ?limit= value; the error names the parameter.
func parseLimit(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("limit: %q is not a positive whole number", v)
	}
	return n, nil
}

// cutToken is a presented token as the journal keeps it: clip's cut, in its own
// memory (a token sliced from a request must not keep the request alive).
func cutToken(s string) string { return strings.Clone(clip(s)) }

// clip cuts s at journalTokenLimit characters (runes; a byte that is no UTF-8 counts
// as one), as the journal keeps a presented token and messages quote one. A string of
// at most that many bytes is returned as it is, without counting; a cut string is a copy.
func clip(s string) string {
	if len(s) <= journalTokenLimit { // no more bytes than the limit: no more characters
		return s
	}
	i := 0
	for n := 0; n < journalTokenLimit && i < len(s); n++ {
		if s[i] < utf8.RuneSelf { // ASCII: one byte
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	if i == len(s) {
		return s
	}
	return strings.Clone(s[:i])
}

// clipAt cuts s at limit bytes, not splitting a UTF-8 sequence; a cut string is a copy
// (it does not keep the original alive).
func clipAt(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	n := limit
	for k := 0; k < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); k++ {
		n--
	}
	return strings.Clone(s[:n])
}

// shortToken is a token's id in the log: its last 8 characters (a JWT's header and
// first claims are the same for every token of a user).
func shortToken(s string) string {
	if len(s) <= 8 {
		return s
	}
	return "…" + s[len(s)-8:]
}
