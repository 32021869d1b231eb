package runner

import (
	"errors"
	"fmt"
)

// window is the steady state of a throughput phase: from the first
// progress mark past the warm-up to the mark of the last record processed.
// Marks are the worker's own timestamps (wall clock, same machine: the
// parent and the worker share it), so the pipe's buffering does not blur
// them. The shutdown that follows the last record — a final commit or
// transaction, a relay's drain — is outside it.
type window struct{ from, to sample }

func (w window) records() int64   { return w.to.v - w.from.v }
func (w window) seconds() float64 { return float64(w.to.at-w.from.at) / 1e9 }

// holds reports whether an event at t (Unix ns) falls inside the window.
func (w window) holds(t int64) bool { return t > w.from.at && t <= w.to.at }

// steadyWindow picks the window from cumulative progress samples: from the
// first sample past the warm-up to the first sample at the final count
// (the worker marks the moment its last record is processed; later samples
// only add shutdown).
func steadyWindow(ps []sample, warmup int64) (window, error) {
	var w window
	if len(ps) < 2 {
		return w, errors.New("too few progress samples to measure throughput: raise topic.records")
	}
	w.to = ps[len(ps)-1]
	for i := len(ps) - 1; i >= 0 && ps[i].v == w.to.v; i-- {
		w.to = ps[i]
	}
	w.from = ps[0]
	for _, s := range ps {
		if s.v >= warmup {
			w.from = s
			break
		}
	}
	if w.to.at <= w.from.at || w.to.v <= w.from.v {
		return w, fmt.Errorf("the run after %d warm-up records was too short to measure: raise topic.records or lower warmup_records", warmup)
	}
	return w, nil
}
