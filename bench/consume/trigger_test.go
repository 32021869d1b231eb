package consume

import (
	"testing"
	"time"
)

func TestTriggerCount(t *testing.T) {
	tr := newTrigger(3, 0)
	for i, want := range []bool{false, false, true, true} {
		if got := tr.record(); got != want {
			t.Fatalf("record %d: due %v, want %v", i+1, got, want)
		}
	}
	tr.reset()
	if tr.record() || tr.idle() {
		t.Error("due right after a reset")
	}
}

// The time limit is a timer; the test fires it by hand (fire is what the
// timer calls) rather than sleeping.
func TestTriggerTimeAndHybrid(t *testing.T) {
	tr := newTrigger(0, time.Hour)
	defer tr.timer.Stop()
	if tr.record() || tr.idle() {
		t.Fatal("due before the time limit")
	}
	tr.fire(tr.state.Load() >> 1)
	if !tr.elapsed() || !tr.idle() || !tr.record() {
		t.Fatal("not due after the time limit")
	}
	tr.reset()
	if tr.idle() {
		t.Error("idle() with no record since the reset")
	}

	hy := newTrigger(2, time.Hour)
	defer hy.timer.Stop()
	if hy.record() {
		t.Fatal("hybrid due after 1 of 2 records")
	}
	if !hy.record() {
		t.Fatal("hybrid not due after 2 of 2 records")
	}
	hy.reset()
	hy.fire(hy.state.Load() >> 1)
	if !hy.record() {
		t.Fatal("hybrid not due when its time came first")
	}
}

// A timer that fires just as a commit resets the trigger belongs to the
// interval that just ended: it must not make the new one due at once (a
// commit after every poll).
func TestTriggerLateTimerAfterReset(t *testing.T) {
	tr := newTrigger(0, time.Hour)
	defer tr.timer.Stop()
	old := tr.state.Load() >> 1
	tr.reset()
	tr.fire(old) // the old timer, firing late
	if tr.elapsed() || tr.record() {
		t.Fatal("the previous interval's timer made the new interval due")
	}
	tr.fire(tr.state.Load() >> 1)
	if !tr.elapsed() {
		t.Fatal("the current interval's timer did not make it due")
	}
}

func TestTriggerRealTimer(t *testing.T) {
	tr := newTrigger(0, time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for !tr.elapsed() {
		if time.Now().After(deadline) {
			t.Fatal("a 1 ms time limit never fired")
		}
		time.Sleep(time.Millisecond) // polling a real timer, not synchronising
	}
}
