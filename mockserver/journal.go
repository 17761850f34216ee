package mockserver

import (
	"time"

	"github.com/crmmock/crmmock/internal/journal"
)

// The journal itself (ring, budget, trims, filters) lives in internal/journal.
const (
	journalTokenLimit = journal.TokenLimit
	journalTextLimit  = journal.TextLimit
)

// JournalEntry is one Web API request as the mock answered it (docs/lint.md).
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
}

// DefaultJournalBudget bounds the memory the journals of a root and all its sandboxes
// hold together (Options.JournalBudget, --journal-budget), in bytes.
const DefaultJournalBudget = journal.DefaultBudget

// publicEntry is an entry as the Go API and GET /__admin/requests show it.
func publicEntry(e *journal.Entry) JournalEntry { return JournalEntry(e.Public) }

// journalEntries is the entries f selects, oldest first.
func (m *Mock) journalEntries(f journal.Filter) []JournalEntry {
	return journal.Select(m.journal, f, publicEntry)
}

// cutToken is a presented token as the journal keeps it (journal.CutToken).
func cutToken(s string) string { return journal.CutToken(s) }

// clip cuts s at journalTokenLimit characters (journal.Clip).
func clip(s string) string { return journal.Clip(s) }

// clipAt cuts s at limit bytes, not splitting a UTF-8 sequence (journal.ClipAt).
func clipAt(s string, limit int) string { return journal.ClipAt(s, limit) }

// parseLimit reads a ?limit= value; the error names the parameter.
func parseLimit(v string) (int, error) { return journal.ParseLimit(v) }

// shortToken is a token's id in the log: its last 8 characters (a JWT's header and
// first claims are the same for every token of a user).
func shortToken(s string) string {
	if len(s) <= 8 {
		return s
	}
	return "…" + s[len(s)-8:]
}
