package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestFramesRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	want := []Frame{
		{Kind: Start, Partition: 7, A: 1234},
		{Kind: Commit, A: 1 << 62, B: 250_000},
		{Kind: Progress, A: -1, B: 42},
	}
	for _, f := range want {
		if err := w.Event(f, false); err != nil {
			t.Fatal(err)
		}
	}
	if buf.Len() != 0 {
		t.Fatalf("non-urgent frames written at once (%d bytes): they should batch", buf.Len())
	}
	if err := w.Event(Frame{Kind: Done, A: 9, B: 10}, true); err != nil {
		t.Fatal(err)
	}
	want = append(want, Frame{Kind: Done, A: 9, B: 10})
	if buf.Len() != len(want)*FrameSize {
		t.Fatalf("an urgent frame left %d bytes on the pipe, want %d", buf.Len(), len(want)*FrameSize)
	}
	r := NewReader(&buf)
	for i, f := range want {
		got, err := r.Next()
		if err != nil || got != f {
			t.Fatalf("frame %d: %+v, %v; want %+v", i, got, err, f)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last frame: %v, want EOF", err)
	}
}

// A SIGKILL during a write leaves a partial frame: it is reported torn and
// dropped, and the frames before it still arrive.
func TestTornFrame(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Event(Frame{Kind: Commit, A: 1, B: 2}, true); err != nil {
		t.Fatal(err)
	}
	whole := buf.Bytes()
	r := NewReader(bytes.NewReader(append(append([]byte(nil), whole...), whole[:FrameSize-3]...)))
	if f, err := r.Next(); err != nil || f.Kind != Commit {
		t.Fatalf("first frame %+v, %v", f, err)
	}
	if _, err := r.Next(); !errors.Is(err, ErrTorn) {
		t.Errorf("partial frame: %v, want ErrTorn", err)
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriteErrorSticks(t *testing.T) {
	w := NewWriter(failing{})
	if err := w.Event(Frame{Kind: First}, true); err == nil {
		t.Fatal("a failed write was not reported")
	}
	if err := w.Flush(); err == nil {
		t.Error("the error did not stick")
	}
}
