package gate

import (
	"fmt"

	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/strategy"
)

// Breach is a correctness failure in the current results: the strategy broke
// the guarantee it claims. A breach fails the gate whatever the statistics
// say, because one lost record is a bug, not noise.
type Breach struct {
	Key        string
	Repetition int
	// Rule names what was broken: loss, duplicates, replay-bound,
	// loss-bound or violation.
	Rule   string
	Detail string
}

// CheckCorrectness lists every breach in rs.
func CheckCorrectness(rs []results.Result) []Breach {
	var out []Breach
	for _, r := range rs {
		add := func(rule, format string, args ...any) {
			out = append(out, Breach{Key: r.Key, Repetition: r.Repetition, Rule: rule, Detail: fmt.Sprintf(format, args...)})
		}
		g := guarantee(r)
		noLoss := g == strategy.AtLeastOnce || g == strategy.ExactlyOnce
		once := g == strategy.ExactlyOnce

		if noLoss && r.Throughput.Lost > 0 {
			add("loss", "%d records lost in the crash-free phase under %s", r.Throughput.Lost, g)
		}
		if once && r.Throughput.Duplicates > 0 {
			add("duplicates", "%d duplicate effects in the crash-free phase under %s", r.Throughput.Duplicates, g)
		}
		if c := r.Crash; c != nil {
			if noLoss && c.Lost > 0 {
				add("loss", "%d records lost across %d crashes under %s", c.Lost, c.Kills, g)
			}
			if once && c.Duplicates > 0 {
				add("duplicates", "%d duplicate effects across %d crashes under %s", c.Duplicates, c.Kills, g)
			}
			if b := c.ReplayBound; b != nil {
				for i, n := range c.ReplayPerCrash {
					if n > *b {
						add("replay-bound", "crash %d replayed %d records, bound is %d", i+1, n, *b)
					}
				}
			}
			// Under a no-loss guarantee any loss is already reported above.
			if b := c.LossBound; b != nil && !noLoss {
				for i, n := range c.LostPerCrash {
					if n > *b {
						add("loss-bound", "crash %d lost %d records, bound is %d", i+1, n, *b)
					}
				}
			}
		}
		for _, v := range r.Violations {
			add("violation", "ledger: %s", v)
		}
	}
	return out
}

// guarantee is the claim the result was measured under; results written
// before the field was filled fall back to the strategy catalog.
func guarantee(r results.Result) strategy.Guarantee {
	if r.Guarantee != "" {
		return strategy.Guarantee(r.Guarantee)
	}
	if info, err := strategy.Lookup(r.Strategy); err == nil {
		return info.Guarantee
	}
	return strategy.NoGuarantee
}
