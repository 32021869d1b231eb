// Package ledger is the ground truth of a point: for every source record,
// how many times its effect was applied. A worker applies an effect by
// incrementing the record's counter in a memory-mapped file shared with
// the harness, so the effect lands the instant the record is processed
// (as a write to a real sink would) and survives the worker's SIGKILL.
// The ledger knows nothing of strategies; a strategy's claim is checked
// against it, never the other way round.
package ledger

import (
	"fmt"
	"os"
	"sort"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Slots is how many processes may apply effects to one ledger at once: each
// publishes its running count in a slot of its own (see Applied).
const Slots = 64

// The file's header: per slot, the effects applied, the count its last
// successful commit covered, when that commit ended (Unix ns), the count
// its last issued commit covered with the records it was held back (due,
// but waiting for the commit before it), and the records processed while
// the last successful commit was in flight.
const (
	slotWords  = 8
	headerSize = Slots * slotWords * 8
)

// Ledger counts effects per source record.
type Ledger struct {
	counts [][]uint16 // indexed by partition, then offset (nil: no such partition)
	order  []int32    // partitions, sorted: the file's layout
	mem    []byte     // the mapping, nil for an in-memory ledger
	slots  []int64    // the header (mapped), or local: slotWords per slot
	slot   int        // this process's slot
	count  *int64     // the slot's count word, which Apply publishes
	n0     int64      // the slot's count when this process opened it
	n      int64      // effects this slot has published
}

// newCounts sizes the per-partition index for the partitions in order.
func newCounts(order []int32) [][]uint16 {
	n := int32(0)
	for _, p := range order {
		n = max(n, p+1)
	}
	return make([][]uint16, n)
}

// New returns an in-memory ledger for a topic whose partitions hold
// offsets [0, end[p]).
func New(end map[int32]int64) *Ledger {
	l := &Ledger{order: partitions(end), slots: make([]int64, Slots*slotWords)}
	l.count = &l.slots[0]
	l.counts = newCounts(l.order)
	for _, p := range l.order {
		l.counts[p] = make([]uint16, end[p])
	}
	return l
}

// Create makes a zeroed ledger file at path and maps it.
func Create(path string, end map[int32]int64) (*Ledger, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating ledger: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(size(end)); err != nil {
		return nil, fmt.Errorf("sizing ledger: %w", err)
	}
	return mapFile(f, end)
}

// Open maps an existing ledger file, as a worker does, applying effects
// through the given slot (0 ≤ slot < Slots), which no other live process
// may use; its count goes on from what earlier users of the slot left.
func Open(path string, end map[int32]int64, slot int) (*Ledger, error) {
	if slot < 0 || slot >= Slots {
		return nil, fmt.Errorf("ledger slot %d: use 0 to %d", slot, Slots-1)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening ledger: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() != size(end) {
		return nil, fmt.Errorf("ledger %s does not match the topic's offsets", path)
	}
	l, err := mapFile(f, end)
	if err != nil {
		return nil, err
	}
	l.slot, l.count = slot, &l.slots[slot*slotWords]
	l.n = atomic.LoadInt64(l.count)
	l.n0 = l.n
	// A new process has issued and committed nothing yet: its bounds
	// start where it starts, not where the slot's last user left off.
	w := l.slots[slot*slotWords:]
	for _, i := range []int{1, 3} {
		atomic.StoreInt64(&w[i], l.n0)
	}
	for _, i := range []int{2, 4, 5} {
		atomic.StoreInt64(&w[i], 0)
	}
	return l, nil
}

func size(end map[int32]int64) int64 {
	var n int64
	for _, e := range end {
		n += e
	}
	return headerSize + max(n, 1)*2
}

func mapFile(f *os.File, end map[int32]int64) (*Ledger, error) {
	// MAP_POPULATE faults every page in now: otherwise the worker's first
	// effect on each 4 KiB of counters takes a page fault inside the
	// measured loop (about half of Apply's cost in a profile).
	mem, err := syscall.Mmap(int(f.Fd()), 0, int(size(end)), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mapping ledger: %w", err)
	}
	l := &Ledger{order: partitions(end), mem: mem,
		slots: unsafe.Slice((*int64)(unsafe.Pointer(&mem[0])), Slots*slotWords)}
	l.count = &l.slots[0]
	all := unsafe.Slice((*uint16)(unsafe.Pointer(&mem[headerSize])), (len(mem)-headerSize)/2)
	l.counts = newCounts(l.order)
	var at int64
	for _, p := range l.order {
		l.counts[p] = all[at : at+end[p] : at+end[p]]
		at += end[p]
	}
	return l, nil
}

func partitions(end map[int32]int64) []int32 {
	ps := make([]int32, 0, len(end))
	for p := range end {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}

// Close unmaps a mapped ledger.
func (l *Ledger) Close() error {
	if l.mem == nil {
		return nil
	}
	err := syscall.Munmap(l.mem)
	l.mem, l.counts, l.slots, l.count = nil, nil, nil, nil
	return err
}

// Apply records one effect of offset o of partition p and publishes this
// process's running count. It is the worker's hot path: one bounds check,
// one increment and one plain atomic store (no read-modify-write: the slot
// has one writer).
func (l *Ledger) Apply(p int32, o int64) error {
	if p < 0 || int(p) >= len(l.counts) {
		return fmt.Errorf("ledger: effect on unknown partition %d", p)
	}
	c := l.counts[p]
	if o < 0 || o >= int64(len(c)) {
		return fmt.Errorf("ledger: effect on offset %d of partition %d, which holds [0, %d)", o, p, len(c))
	}
	if c[o] < ^uint16(0) {
		c[o]++
	}
	l.n++
	atomic.StoreInt64(l.count, l.n)
	return nil
}

// Committed publishes a successful commit that ended at atNs (Unix ns) and
// covered the first covered records this process applied, and how many it
// had applied beyond them by now (processed while the commit was in
// flight). Like Apply it costs no system call, so it survives a SIGKILL
// without slowing the loop. It may run on another goroutine than Apply.
func (l *Ledger) Committed(covered, atNs int64) {
	w := l.slots[l.slot*slotWords:]
	through := l.n0 + covered
	atomic.StoreInt64(&w[5], max(0, atomic.LoadInt64(&w[0])-through))
	// The count before the time: a kill between the two leaves the new
	// count with the older time, never the reverse.
	atomic.StoreInt64(&w[1], through)
	atomic.StoreInt64(&w[2], atNs)
}

// Issued publishes a commit issued without waiting for its answer, which
// covers the first covered records this process applied and was held
// back for held records after it fell due.
func (l *Ledger) Issued(covered, held int64) {
	w := l.slots[l.slot*slotWords:]
	atomic.StoreInt64(&w[4], held)
	atomic.StoreInt64(&w[3], l.n0+covered)
}

// Applied is how many effects every process has applied so far, replays
// included: the phase's consumption, which the harness reads while workers
// run to place its kills.
func (l *Ledger) Applied() int64 {
	var n int64
	for i := 0; i < len(l.slots); i += slotWords {
		n += atomic.LoadInt64(&l.slots[i])
	}
	return n
}

// SlotState is what one slot has published.
type SlotState struct {
	// Applied counts the slot's effects; CommittedThrough is the count
	// its last successful commit covered, at CommittedAtNs (0: none yet).
	Applied, CommittedThrough, CommittedAtNs int64
	// IssuedThrough is the count the last commit issued without waiting
	// covered, and IssuedHeld the records it was held back after falling
	// due (0 for strategies that wait for their commits).
	IssuedThrough, IssuedHeld int64
	// LastFlight is the records processed while the last successful
	// commit was in flight.
	LastFlight int64
}

// Slot reads what slot i has published.
func (l *Ledger) Slot(i int) SlotState {
	w := l.slots[i*slotWords:]
	return SlotState{Applied: atomic.LoadInt64(&w[0]), CommittedThrough: atomic.LoadInt64(&w[1]), CommittedAtNs: atomic.LoadInt64(&w[2]),
		IssuedThrough: atomic.LoadInt64(&w[3]), IssuedHeld: atomic.LoadInt64(&w[4]), LastFlight: atomic.LoadInt64(&w[5])}
}

// Tally is a ledger's state at one moment.
type Tally struct {
	// Records is the number of source records.
	Records int64
	// Applied is the number of effects applied, repeats included.
	Applied int64
	// Duplicates is the number of effects applied to a record that
	// already had one.
	Duplicates int64
	// Lost is the number of records whose effect never applied.
	Lost int64
}

// Tally counts the ledger now.
func (l *Ledger) Tally() Tally {
	var t Tally
	for _, p := range l.order {
		for _, n := range l.counts[p] {
			t.Records++
			t.Applied += int64(n)
			if n == 0 {
				t.Lost++
			} else {
				t.Duplicates += int64(n) - 1
			}
		}
	}
	return t
}

// LostIn counts the records of partition p in [from, to) whose effect
// never applied.
func (l *Ledger) LostIn(p int32, from, to int64) int64 {
	if p < 0 || int(p) >= len(l.counts) {
		return 0
	}
	c := l.counts[p]
	from, to = max(from, 0), min(to, int64(len(c)))
	var n int64
	for i := from; i < to; i++ {
		if c[i] == 0 {
			n++
		}
	}
	return n
}

// Snapshot is a copy of the counters at one moment.
type Snapshot map[int32][]uint16

// Snapshot copies the counters.
func (l *Ledger) Snapshot() Snapshot {
	s := make(Snapshot, len(l.order))
	for _, p := range l.order {
		s[p] = append([]uint16(nil), l.counts[p]...)
	}
	return s
}

// Count is the effects this process's slot has published so far: its own
// and those of earlier users of the slot.
func (l *Ledger) Count() int64 { return atomic.LoadInt64(l.count) }
