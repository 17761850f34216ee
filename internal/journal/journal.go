// Package journal is the mock's request journal: a ring of the newest entries, kept
// within a memory budget shared by the journals of one process (a root mock and its
// sandboxes). Its lock never leaves the package: callers read it through Select and
// Snapshot, which copy what they return.
package journal

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"
)

// DefaultSize is how many entries a journal keeps.
const DefaultSize = 10000

// TokenLimit cuts a presented token in the journal, in characters (docs/lint.md; a
// client sending a 1 MiB token must not make the journal hold 10 000 of them).
const TokenLimit = 512

// TextLimit cuts a journal entry's description and path, in bytes: a reason quoting
// a 1 MiB field must not make the journal hold 10 000 of them.
const TextLimit = 2048

// DefaultBudget bounds the memory the journals of a root and all its sandboxes hold
// together, in bytes.
const DefaultBudget = 256 << 20

// Floor is how many entries a journal keeps whatever the budget says: a busy sandbox
// cannot empty another's journal, nor its own below this.
const Floor = 100

// Public is an entry's fields as the control API and the Go API show them
// (mockserver.JournalEntry converts from it field for field).
type Public struct {
	ID          uint64
	Time        time.Time
	Method      string
	Path        string
	Operation   string
	Status      int
	Code        string
	Description string
	Version     string
	Token       string
	Issued      string
	Fault       string
	Violations  []string
	Misplaced   string
	Lenient     []string
}

// Entry is one journaled request: its public fields and what only the lint reads.
type Entry struct {
	Public
	Principal string // a login's asker: "user <name>@<org>" or "key …<last 4>"; never a secret
	Message   string // status.message as answered (message-as-token; the description is journaled already)
	Catalogue string // the catalogue code (the scenario's errors map may have answered another)
	Profile   string // the release profile at that moment: pre-R10, R10, R12
	Injected  bool   // a fault gave the answer (Fault also names one that only delayed it)
}

// Budget is a process-wide bound on the journals' approximate memory, in bytes.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget is a budget of limit bytes; 0 or less: no limit.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Full reports whether the budget is spent (nothing could be trimmed under it).
func (b *Budget) Full() bool { return b != nil && b.limit > 0 && b.used.Load() > b.limit }

// Limit is the budget's bound in bytes (0 or less: none).
func (b *Budget) Limit() int64 { return b.limit }

// Used is what the journals sharing b hold now, in bytes.
func (b *Budget) Used() int64 { return b.used.Load() }

// Journal keeps the newest entries in a ring of at most size entries, and within the
// budget it shares with the other journals of its process: past the budget, the
// journal that adds an entry drops a quarter of its own oldest (never below Floor),
// so a journal never drops another's entries.
type Journal struct {
	mu      sync.Mutex
	entries ring
	lastID  uint64
	bytes   int64   // what the held entries cost (Cost)
	budget  *Budget // shared by a root and its sandboxes; nil: none
	trimmed uint64  // entries dropped for the budget since the last clear
}

// New is an empty journal of at most size entries, with no budget.
func New(size int) *Journal { return &Journal{entries: ring{size: size}} }

// Join makes the journal count its entries in b (nil: none). Call it before the
// journal holds entries.
func (j *Journal) Join(b *Budget) {
	j.mu.Lock()
	j.budget = b
	j.mu.Unlock()
}

// Budget is the budget the journal counts in (nil: none).
func (j *Journal) Budget() *Budget {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.budget
}

// Cost is an entry's approximate memory: the struct and the bytes of its strings
// (counted even where a string shares memory, so the estimate errs high).
func Cost(e *Entry) int64 {
	n := int64(unsafe.Sizeof(*e)) + int64(len(e.Method)+len(e.Path)+len(e.Operation)+len(e.Code)+len(e.Description)+
		len(e.Version)+len(e.Token)+len(e.Issued)+len(e.Fault)+len(e.Misplaced)+len(e.Principal)+len(e.Message)+len(e.Profile))
	for _, v := range e.Violations {
		n += int64(len(v)) + int64(unsafe.Sizeof(v))
	}
	return n
}

// Add stores e with the next id and returns the id.
func (j *Journal) Add(e Entry) uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.lastID++
	e.ID = j.lastID
	cost := Cost(&e) - j.entries.push(&e)
	j.bytes += cost
	if j.budget != nil {
		j.budget.used.Add(cost)
		if n := j.entries.n; j.budget.Full() && n > Floor {
			j.trim(max(Floor, n-n/4))
		}
	}
	return e.ID
}

// trim keeps the newest keep entries (the caller holds j.mu) and gives the rest of
// their cost back to the budget.
func (j *Journal) trim(keep int) {
	dropped := j.entries.n - keep
	freed := j.entries.keepNewest(keep)
	j.bytes -= freed
	j.trimmed += uint64(dropped)
	if j.budget != nil {
		j.budget.used.Add(-freed)
	}
}

// Filter selects entries (GET /__admin/requests). The zero value selects all.
type Filter struct {
	Violations bool // only entries with contract violations
	Limit      int  // the newest Limit entries; 0: all
	Code       string
	Token      string // presented (as the journal cuts it) or issued
	Since      time.Time
}

func (f *Filter) match(e *Entry, presented string) bool {
	return (!f.Violations || len(e.Violations) > 0) &&
		(f.Code == "" || e.Code == f.Code) &&
		(f.Token == "" || e.Token == presented || e.Issued == f.Token) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since))
}

// Select is the entries f selects, oldest first, each converted by conv under the
// journal's lock (conv must not call the journal). With a Limit it walks from the
// newest and stops at Limit matches: only those are converted.
func Select[T any](j *Journal, f Filter, conv func(*Entry) T) []T {
	presented := Clip(f.Token)
	j.mu.Lock()
	defer j.mu.Unlock()
	n := j.entries.n
	if f.Limit <= 0 {
		out := make([]T, 0, n)
		for i := range n {
			if e := j.entries.at(i); f.match(e, presented) {
				out = append(out, conv(e))
			}
		}
		return out
	}
	out := make([]T, 0, min(n, f.Limit))
	for i := n - 1; i >= 0 && len(out) < f.Limit; i-- {
		if e := j.entries.at(i); f.match(e, presented) {
			out = append(out, conv(e))
		}
	}
	slices.Reverse(out)
	return out
}

// Snapshot is every held entry, oldest first (the lint's input).
func (j *Journal) Snapshot() []Entry {
	return Select(j, Filter{}, func(e *Entry) Entry { return *e })
}

// Stats is what the journal holds: entries, their cost as counted and as recomputed
// entry by entry (the two are equal unless the accounting is wrong), and the
// entries trimmed for the budget since the last clear.
func (j *Journal) Stats() (entries int, bytes, recounted int64, trimmed uint64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := range j.entries.n {
		recounted += Cost(j.entries.at(i))
	}
	return j.entries.n, j.bytes, recounted, j.trimmed
}

// Clear empties the journal; ids keep increasing.
func (j *Journal) Clear() {
	j.mu.Lock()
	j.clearLocked()
	j.mu.Unlock()
}

func (j *Journal) clearLocked() {
	j.entries = ring{size: j.entries.size} // ids keep increasing: a client never sees an id twice
	if j.budget != nil {
		j.budget.used.Add(-j.bytes)
	}
	j.bytes, j.trimmed = 0, 0
}

// Close empties the journal and leaves the budget (a sandbox dropped), in one hold of
// the lock: an entry a request still in flight adds after it is not counted, and one
// added before it is given back (between two holds it would stay counted for ever).
func (j *Journal) Close() {
	j.mu.Lock()
	j.clearLocked()
	j.budget = nil
	j.mu.Unlock()
}

// CheckParams refuses a query holding a parameter that is not one of allowed (a
// misspelt filter, e.g. ?State=live, would otherwise list everything), or one given
// more than once (which value wins would be a guess); the error names it and, for an
// unknown one, the filters call takes.
func CheckParams(q map[string][]string, call string, allowed ...string) error {
	keys := slices.Sorted(maps.Keys(q))
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("query parameter %q: not a filter of %s (filters: %s)", ClipAt(k, 64), call, strings.Join(allowed, ", "))
		}
	}
	for _, k := range keys {
		if len(q[k]) > 1 {
			return fmt.Errorf("%s: given %d times (give it once)", k, len(q[k]))
		}
	}
	return nil
}

// ParseFilter reads ?limit ?code ?token ?since; the error names the parameter.
func ParseFilter(q map[string][]string) (Filter, error) {
	var f Filter
	if err := CheckParams(q, "GET /__admin/requests", "limit", "code", "token", "since"); err != nil {
		return f, err
	}
	get := func(k string) (string, bool) {
		v, ok := q[k]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	if v, ok := get("limit"); ok {
		n, err := ParseLimit(v)
		if err != nil {
			return f, err
		}
		f.Limit = n
	}
	if v, ok := get("code"); ok {
		if v == "" {
			return f, fmt.Errorf("code: empty (want a status.code, e.g. TOKEN_EXPIRED)")
		}
		f.Code = v
	}
	if v, ok := get("token"); ok {
		if v == "" {
			return f, fmt.Errorf("token: empty")
		}
		f.Token = v
	}
	if v, ok := get("since"); ok {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, fmt.Errorf("since: %q is not RFC 3339 (e.g. 2024-01-01T09:00:00Z)", v)
		}
		f.Since = t
	}
	return f, nil
}

// ParseLimit reads a ?limit= value; the error names the parameter.
func ParseLimit(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("limit: %q is not a positive whole number", v)
	}
	return n, nil
}

// CutToken is a presented token as the journal keeps it: Clip's cut, in its own
// memory (a token sliced from a request must not keep the request alive). A cut is a
// copy already; only a whole token is copied here.
func CutToken(s string) string {
	if c := Clip(s); len(c) < len(s) {
		return c
	}
	return strings.Clone(s)
}

// Clip cuts s at TokenLimit characters (runes; a byte that is no UTF-8 counts as
// one), as the journal keeps a presented token and messages quote one. A string of at
// most that many bytes is returned as it is, without counting; a cut string is a copy.
func Clip(s string) string {
	if len(s) <= TokenLimit { // no more bytes than the limit: no more characters
		return s
	}
	i := 0
	for n := 0; n < TokenLimit && i < len(s); n++ {
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

// ClipAt cuts s at limit bytes, not splitting a UTF-8 sequence; a cut string is a copy
// (it does not keep the original alive).
func ClipAt(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	n := limit
	for k := 0; k < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); k++ {
		n--
	}
	return strings.Clone(s[:n])
}
