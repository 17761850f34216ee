package tokens

import (
	"bufio"
	"encoding/json"
	"io"
	"slices"

	"github.com/crmmock/crmmock/internal/lint"
)

// Filter selects tokens (GET /__admin/tokens). The zero value selects every held
// token.
type Filter struct {
	State State // only the tokens in this state now; "": any
	Limit int   // only the newest Limit (by issue) of those; 0: all
}

// Counts is how many held tokens are in each state.
type Counts struct {
	Live     int `json:"live"`
	Expired  int `json:"expired"`
	Released int `json:"released"`
}

// List is a token listing at one moment of the mock's clock.
type List struct {
	Tokens  []Token `json:"tokens"`  // the selected tokens, in issue order
	Counts  Counts  `json:"counts"`  // every held token by state, whatever the filter
	Dropped uint64  `json:"dropped"` // dead tokens dropped since the last reset
	// Evicted is how many tokens were evicted since the last reset because the store
	// was full (Options.MaxTokens, Options.TokenBudget); like dropped ones, they are no
	// longer held.
	Evicted uint64 `json:"evicted"`
}

func (c *Counts) add(st State) {
	switch st {
	case StateLive:
		c.Live++
	case StateExpired:
		c.Expired++
	case StateReleased:
		c.Released++
	}
}

// pick walks the held tokens newest first at the moment now (the caller holds s.mu),
// counts each by its state and hands keep the ones f selects, at most f.Limit.
func (s *Store[O]) pick(f Filter, now int64, keep func(*Record[O])) (c Counts) {
	kept := 0
	for i := len(s.order) - 1; i >= 0; i-- {
		r := s.order[i]
		if r.flags&flagRevoked != 0 {
			continue
		}
		st := r.state(now)
		c.add(st)
		if (f.State == "" || st == f.State) && (f.Limit <= 0 || kept < f.Limit) {
			keep(r)
			kept++
		}
	}
	return c
}

// List lists the tokens f selects and counts every held one, all at one moment.
// Counting reads states only; only the selected JWTs are rebuilt (a signature each),
// outside the lock (the fields that rebuild a JWT never change).
func (s *Store[O]) List(f Filter) List {
	var l List
	var picked []*Record[O] // newest first
	s.mu.Lock()
	now := s.now()
	if f.State == "" {
		n := len(s.order)
		if f.Limit > 0 {
			n = min(n, f.Limit)
		}
		l.Tokens, picked = make([]Token, 0, n), make([]*Record[O], 0, n)
	}
	l.Counts = s.pick(f, now, func(r *Record[O]) {
		l.Tokens = append(l.Tokens, r.public("", now))
		picked = append(picked, r)
	})
	l.Dropped = s.dropped
	l.Evicted = s.evicted.count
	s.mu.Unlock()
	if l.Tokens == nil {
		l.Tokens = []Token{}
	}
	slices.Reverse(l.Tokens)
	slices.Reverse(picked)
	for i, r := range picked {
		l.Tokens[i].Token = s.Value(r)
	}
	return l
}

// Stream writes the listing f selects as JSON (the List shape, byte for byte as
// json.Marshal writes it) to w. It selects and counts under the lock at one moment,
// keeping a copy of each selected token's record (about 100 bytes), then builds and
// writes one token at a time: the memory a listing takes no longer grows with the
// size of each token's answer (GET /__admin/tokens of 100 000 JWTs). Each selected
// record is copied under the lock (its changing fields are then read from the copy,
// never from the record a request may be changing).
func (s *Store[O]) Stream(f Filter, w io.Writer) error {
	var picked []Record[O] // copies, newest first
	s.mu.Lock()
	now := s.now()
	counts := s.pick(f, now, func(r *Record[O]) { picked = append(picked, *r) })
	dropped, evicted := s.dropped, s.evicted.count
	s.mu.Unlock()

	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString(`{"tokens":[`)
	for i := len(picked) - 1; i >= 0; i-- {
		r := &picked[i]
		b, err := json.Marshal(r.public(s.Value(r), now))
		if err != nil {
			return err
		}
		if i != len(picked)-1 {
			bw.WriteByte(',')
		}
		if _, err := bw.Write(b); err != nil {
			return err // the client is gone: build no more tokens for nobody
		}
	}
	tail, err := json.Marshal(struct {
		Counts  Counts `json:"counts"`
		Dropped uint64 `json:"dropped"`
		Evicted uint64 `json:"evicted"`
	}{counts, dropped, evicted})
	if err != nil {
		return err
	}
	bw.WriteString(`],`)
	bw.Write(tail[1:])
	bw.WriteByte('\n')
	return bw.Flush()
}

// LintTokens is every held token, in issue order, as the lint reads it, all read in
// one hold of the lock (at one moment: a token revoked meanwhile is not listed). known
// gives the values of tokens whose login is still journaled (by its id), so that only
// the others' JWTs are rebuilt (a signature each, outside the lock).
func (s *Store[O]) LintTokens(known map[uint64]string) []lint.Token {
	s.mu.Lock()
	now := s.now()
	recs := make([]*Record[O], 0, len(s.order))
	for _, r := range s.order {
		if r.flags&flagRevoked == 0 {
			recs = append(recs, r)
		}
	}
	out := make([]lint.Token, len(recs))
	var rebuild []int
	for i, r := range recs {
		rule := r.owner.Rule()
		v, ok := known[r.issueReq]
		if !ok || r.issueReq == 0 {
			rebuild = append(rebuild, i)
		}
		_, profile, _, _, _ := r.owner.Names()
		out[i] = lint.Token{Value: v, Kind: string(r.owner.Kind()), Principal: r.owner.Principal(), Profile: profile,
			Idle: rule.Idle, Life: rule.After, IssuedAt: nanoTime(r.issued), ExpiresAt: nanoTime(r.expiresAt()),
			LastUsed: nanoTime(r.lastUsed), State: string(r.state(now)), IssueRequest: r.issueReq}
		if r.flags&flagReleased != 0 {
			out[i].ReleasedAt = nanoTime(r.end)
		}
		if r.ev != nil {
			out[i].Uses = r.ev.uses
			out[i].ReleaseRequest = r.ev.releaseRequest()
		}
	}
	s.mu.Unlock()
	for _, i := range rebuild { // outside the lock: rebuilding a JWT signs it (its fields never change)
		out[i].Value = s.Value(recs[i])
	}
	return out
}
