// Package wire is the stream of timing events a worker process writes to
// its parent: commits and their latency, progress, start and end. It
// travels through a pipe, so what the worker wrote before a SIGKILL still
// reaches the parent; a frame torn by the kill is detected and dropped.
// (Effects do not travel here: they go to the shared ledger.)
package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"time"
)

// Kind is a frame's type.
type Kind byte

// Frame kinds.
const (
	// Commit: a commit call returned at time A after B nanoseconds.
	Commit Kind = 'C'
	// AutoCommit: kgo's autocommit finished a commit at time A; its call
	// latency is unknown (the wire latency is reported separately).
	AutoCommit Kind = 'A'
	// CommitOnWire: a commit request (OffsetCommit, or EndTxn for Kafka
	// transactions) took B nanoseconds on the wire.
	CommitOnWire Kind = 'W'
	// Progress: at time A the worker had processed B records in total.
	Progress Kind = 'P'
	// First: the worker processed its first record at time A.
	First Kind = 'F'
	// Done: the worker consumed every partition to its end and finished
	// its ending work (final commit, transaction, relay drain); A is when,
	// B the records it processed.
	Done Kind = 'D'
	// Failed: a commit failed at time A; B is its Kafka error code (0:
	// not a Kafka error).
	Failed Kind = 'X'
	// RelayLag: at time A the outbox relay published a batch whose oldest
	// row had waited B nanoseconds since its transaction wrote it.
	RelayLag Kind = 'L'
	// Killed: at time A the worker reached its kill point and is killing
	// itself (crashes.kill_point).
	Killed Kind = 'K'
	// Start: the worker resumes partition P at offset A (its group's
	// committed offset, or 0).
	Start Kind = 'S'
	// Assigned: a group member was given partition P at time A (P = -1:
	// it joined and was given none). B is its slot's count of effects.
	Assigned Kind = 'a'
	// Revoked and Lost: a group member gave partition P up at time A, in
	// a rebalance or when the group expelled it; B is its slot's count of
	// effects then.
	Revoked Kind = 'r'
	Lost    Kind = 'l'
	// PartProgress: at time A a group member had processed partition P up
	// to offset B (exclusive).
	PartProgress Kind = 'p'
	// Paused: at time A a group member asked to pause at the commit that
	// falls due (SIGUSR1) reached it and is stopping itself (SIGSTOP).
	Paused Kind = 'z'
)

// FrameSize is the fixed size of every frame: kind, partition, A, B.
const FrameSize = 1 + 4 + 8 + 8

// Frame is one decoded frame. Times are Unix nanoseconds from the worker's
// wall clock, which the parent shares (same machine).
type Frame struct {
	Kind      Kind
	Partition int32
	A, B      int64
}

func (f Frame) put(b []byte) []byte {
	var buf [FrameSize]byte
	buf[0] = byte(f.Kind)
	binary.LittleEndian.PutUint32(buf[1:], uint32(f.Partition))
	binary.LittleEndian.PutUint64(buf[5:], uint64(f.A))
	binary.LittleEndian.PutUint64(buf[13:], uint64(f.B))
	return append(b, buf[:]...)
}

// Writer encodes frames onto the pipe. Events may come from any goroutine
// (commit callbacks, broker hooks); they are batched so the worker makes a
// few writes a second, not one per commit.
type Writer struct {
	mu       sync.Mutex // serialises writes, so frames never interleave
	out      io.Writer
	err      error
	buf      []byte
	lastSent time.Time
}

// NewWriter returns a Writer on out.
func NewWriter(out io.Writer) *Writer { return &Writer{out: out, lastSent: time.Now()} }

// Event queues a frame. Urgent ones (First, Done) are written at once;
// others go out once 4 KiB or 50 ms have gathered, or at Flush.
func (w *Writer) Event(f Frame, urgent bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = f.put(w.buf)
	if urgent || len(w.buf) >= 4096 || time.Since(w.lastSent) > 50*time.Millisecond {
		w.flush()
	}
	return w.err
}

// Flush writes every queued frame.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flush()
	return w.err
}

func (w *Writer) flush() {
	if w.err != nil || len(w.buf) == 0 {
		return
	}
	_, w.err = w.out.Write(w.buf)
	w.buf = w.buf[:0]
	w.lastSent = time.Now()
}

// Reader decodes frames from the pipe.
type Reader struct {
	r   *bufio.Reader
	buf [FrameSize]byte
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 256<<10)} }

// ErrTorn reports a final frame cut short, as a SIGKILL during a write
// leaves it. The frame's effect did not complete and is dropped.
var ErrTorn = errors.New("wire: torn final frame")

// Next returns the next frame, io.EOF at the end of the stream, or ErrTorn
// when the stream ends inside a frame.
func (r *Reader) Next() (Frame, error) {
	n, err := io.ReadFull(r.r, r.buf[:])
	switch {
	case err == io.EOF:
		return Frame{}, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF) && n > 0:
		return Frame{}, ErrTorn
	case err != nil:
		return Frame{}, err
	}
	b := r.buf[:]
	return Frame{
		Kind:      Kind(b[0]),
		Partition: int32(binary.LittleEndian.Uint32(b[1:])),
		A:         int64(binary.LittleEndian.Uint64(b[5:])),
		B:         int64(binary.LittleEndian.Uint64(b[13:])),
	}, nil
}
