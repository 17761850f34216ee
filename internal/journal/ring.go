package journal

// blockSize is how many entries one block of a journal's ring holds. The ring grows a
// block at a time, up to its size: no entry is copied as it grows (a slice grown by
// append copied all of them at each step, and a fresh mock's first 10 000 requests
// paid for about five times the final ring in new memory), and a journal of a few
// requests holds one block (about 20 KB: 256 sandboxes of a request or two hold 5 MB).
const blockSize = 64

// ring holds a journal's entries in blocks: entry i (0 the oldest) is at position
// (start+i) % size. It wraps (start moves) only once full; trim puts the kept entries
// back at position 0.
type ring struct {
	blocks   [][]Entry // block b holds positions b*blockSize…; nil until first written
	start, n int
	size     int
}

// at is entry i, 0 the oldest (i < n).
func (r *ring) at(i int) *Entry { return r.pos((r.start + i) % r.size) }

// pos is the entry at position p, which holds one (or is being written).
func (r *ring) pos(p int) *Entry { return &r.blocks[p/blockSize][p%blockSize] }

// push stores e as the newest entry, over the oldest when the ring is full, and
// answers the overwritten entry's cost (0: none).
func (r *ring) push(e *Entry) (overwritten int64) {
	if r.n == r.size {
		old := r.pos(r.start)
		overwritten = Cost(old)
		*old = *e
		r.start = (r.start + 1) % r.size
		return overwritten
	}
	p := (r.start + r.n) % r.size
	if b := p / blockSize; b >= len(r.blocks) || r.blocks[b] == nil {
		if b >= len(r.blocks) {
			r.blocks = append(r.blocks, make([][]Entry, b+1-len(r.blocks))...)
		}
		r.blocks[b] = make([]Entry, min(blockSize, r.size-b*blockSize))
	}
	*r.pos(p) = *e
	r.n++
	return 0
}

// keepNewest keeps the newest keep entries at positions 0…keep-1, clears the others
// (no string of a dropped entry stays reachable) and answers their cost. Blocks from
// twice what the kept entries will need onwards are given back (memory returned after
// a deep trim); the ones below stay, so a journal trimmed again and again at its budget
// allocates nothing once settled.
func (r *ring) keepNewest(keep int) (freed int64) {
	drop := r.n - keep
	for i := range drop {
		freed += Cost(r.at(i))
	}
	if r.start != 0 { // wrapped, so full: rotate position start to 0 (three reversals, no allocation)
		r.reverse(0, r.start)
		r.reverse(r.start, r.size)
		r.reverse(0, r.size)
		r.start = 0
	}
	for i := range keep {
		*r.pos(i) = *r.pos(drop + i)
	}
	for p := keep; p < r.n; p++ {
		*r.pos(p) = Entry{}
	}
	r.n = keep
	want := min(r.size, keep+keep/4+1)
	for b := (2*want + blockSize - 1) / blockSize; b < len(r.blocks); b++ {
		r.blocks[b] = nil
	}
	return freed
}

// reverse reverses the entries at positions lo…hi-1.
func (r *ring) reverse(lo, hi int) {
	for hi--; lo < hi; lo, hi = lo+1, hi-1 {
		a, b := r.pos(lo), r.pos(hi)
		*a, *b = *b, *a
	}
}

// blocksHeld is how many blocks the ring holds memory for.
func (r *ring) blocksHeld() int {
	n := 0
	for _, b := range r.blocks {
		if b != nil {
			n++
		}
	}
	return n
}
