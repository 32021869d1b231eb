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
	"syscall"
	"unsafe"
)

// Ledger counts effects per source record.
type Ledger struct {
	counts [][]uint16 // indexed by partition, then offset (nil: no such partition)
	order  []int32    // partitions, sorted: the file's layout
	mem    []byte     // the mapping, nil for an in-memory ledger
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
	l := &Ledger{order: partitions(end)}
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

// Open maps an existing ledger file, as a worker does.
func Open(path string, end map[int32]int64) (*Ledger, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening ledger: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() != size(end) {
		return nil, fmt.Errorf("ledger %s does not match the topic's offsets", path)
	}
	return mapFile(f, end)
}

func size(end map[int32]int64) int64 {
	var n int64
	for _, e := range end {
		n += e
	}
	return max(n, 1) * 2
}

func mapFile(f *os.File, end map[int32]int64) (*Ledger, error) {
	mem, err := syscall.Mmap(int(f.Fd()), 0, int(size(end)), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping ledger: %w", err)
	}
	all := unsafe.Slice((*uint16)(unsafe.Pointer(&mem[0])), len(mem)/2)
	l := &Ledger{order: partitions(end), mem: mem}
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
	l.mem, l.counts = nil, nil
	return err
}

// Apply records one effect of offset o of partition p. It is the worker's
// hot path: one bounds check and one increment.
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
	return nil
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
