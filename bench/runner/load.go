package runner

import (
	"context"

	"github.com/commitbench/commitbench/bench/broker"
)

// load reads the broker's load now (its CPU time and what
// __consumer_offsets held), for the cost a phase put on it.
func (r *Runner) load(ctx context.Context) broker.Load {
	return broker.ReadLoad(ctx, r.b, r.adm)
}
