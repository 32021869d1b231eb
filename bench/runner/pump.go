package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// killPoll is how often the pump reads the ledger's count while a kill is
// planned: the kill lands within this much consumption of its position.
const killPoll = time.Millisecond

// pump feeds a worker's frames to the phase until the worker exits. With
// killAt ≥ 0 it SIGKILLs the worker once the phase's ledger counts killAt
// effects (replays included) and the worker has processed a record, and
// reports when (a zero time: not killed).
func (r *Runner) pump(ctx context.Context, ph *phase, pr *proc, killAt int64) (killedAt time.Time, err error) {
	stall := time.NewTimer(r.stall)
	defer stall.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var killC <-chan time.Time
	if killAt >= 0 {
		poll := time.NewTicker(killPoll)
		defer poll.Stop()
		killC = poll.C
	}
	// abort kills the worker and drains what it wrote before dying.
	abort := func() (time.Time, error) {
		at, err := pr.s.kill()
		if err != nil && !errors.Is(err, os.ErrProcessDone) {
			return at, fmt.Errorf("killing worker: %w", err)
		}
		var herr error
		for f := range pr.s.frames {
			if herr == nil {
				herr = ph.handle(pr, f)
			}
		}
		if err := pr.s.wait(); err != nil {
			return at, err
		}
		if pr.doneAt != 0 && herr == nil {
			// Its end was still in the pipe: it finished, no crash.
			return time.Time{}, nil
		}
		return at, herr
	}
	for {
		select {
		case f, ok := <-pr.s.frames:
			if !ok {
				err := pr.s.wait()
				if ctx.Err() != nil {
					return time.Time{}, ctx.Err() // the worker saw the interrupt first
				}
				if err != nil {
					return time.Time{}, err
				}
				if pr.s.killed { // at its kill point, when it said so
					if pr.selfKilledAt == 0 {
						return time.Time{}, fmt.Errorf("worker died of SIGKILL without reaching its kill point: %s", pr.s.stderr.String())
					}
					return time.Unix(0, pr.selfKilledAt), nil
				}
				if pr.doneAt == 0 {
					return time.Time{}, fmt.Errorf("worker exited before consuming the topic: %s", pr.s.stderr.String())
				}
				return time.Time{}, nil
			}
			if err := ph.handle(pr, f); err != nil {
				_, _ = abort()
				return time.Time{}, err
			}
			if !stall.Stop() {
				<-stall.C
			}
			stall.Reset(r.stall)
		case <-killC:
			switch {
			case pr.doneAt != 0:
				// It finished first: a kill now would be no crash at all.
				killC = nil
			case pr.firstAt != 0 && ph.ledger.Applied() >= killAt:
				return abort()
			}
		case <-stall.C:
			_, _ = abort()
			return time.Time{}, fmt.Errorf("worker sent nothing for %s (is the broker reachable and the group stable?): %s", r.stall, pr.s.stderr.String())
		case <-ctx.Done():
			_, _ = abort()
			return time.Time{}, ctx.Err()
		case <-tick.C:
			r.observe(Event{Point: ph.point, Phase: ph.name, Applied: lastProgress(ph.progress), Records: r.w.Topic.Records})
		}
	}
}
