package runner

import (
	"errors"
	"fmt"
)

// steadyWindow picks the measured window from cumulative progress samples:
// from the first sample past the warm-up to the first sample at the final
// count (later samples only add shutdown).
func steadyWindow(ps []sample, warmup int64) (from, to sample, err error) {
	if len(ps) < 2 {
		return from, to, errors.New("too few progress samples to measure throughput: raise topic.records")
	}
	to = ps[len(ps)-1]
	for i := len(ps) - 1; i >= 0 && ps[i].v == to.v; i-- {
		to = ps[i]
	}
	from = ps[0]
	for _, s := range ps {
		if s.v >= warmup {
			from = s
			break
		}
	}
	if to.at <= from.at || to.v <= from.v {
		return from, to, fmt.Errorf("the run after %d warm-up records was too short to measure: raise topic.records or lower warmup_records", warmup)
	}
	return from, to, nil
}
