package capacity

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commitbench/commitbench/bench/metrics"
	"github.com/commitbench/commitbench/bench/results"
)

// schedule is a step's open-loop plan: n committers share an aggregate
// rate, each sending at rate/n, their sends interleaved so that the
// aggregate is evenly spaced (committer i's k-th commit is due at
// (i + k·n)/rate). Times are offsets from the step's start.
type schedule struct {
	rate float64
	n    int
	dur  time.Duration
}

// at is when committer i's k-th commit is due.
func (s schedule) at(i, k int) time.Duration {
	return time.Duration((float64(i) + float64(k)*float64(s.n)) / s.rate * float64(time.Second))
}

// sample is one commit: when it was due, sent and answered (offsets from
// the step's start, on the monotonic clock), and its error.
type sample struct {
	due, sent, done time.Duration
	err             error
}

// tally gathers a step's samples. The window [from, to) decides what
// counts: a commit due inside it is scheduled (its latencies recorded,
// or its failure counted), one sent inside it counts towards the send
// rate, one answered inside it towards the commit rate.
type tally struct {
	from, to time.Duration

	mu                           sync.Mutex
	service, intended, lag       *hdrhistogram.Histogram
	scheduled, sent, answered    int64
	failed                       int64
	byErr                        map[string]int64
	firstErr                     map[string]error
	liveSent, liveDone, liveFail atomic.Int64
}

func newTally(from, to time.Duration) *tally {
	return &tally{
		from: from, to: to,
		service: metrics.NewHistogram(), intended: metrics.NewHistogram(), lag: metrics.NewHistogram(),
		byErr: map[string]int64{}, firstErr: map[string]error{},
	}
}

func (t *tally) in(d time.Duration) bool { return d >= t.from && d < t.to }

func (t *tally) add(s sample) {
	t.liveSent.Add(1)
	if s.err != nil {
		t.liveFail.Add(1)
	} else {
		t.liveDone.Add(1)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.in(s.sent) {
		t.sent++
	}
	if s.err == nil && t.in(s.done) {
		t.answered++
	}
	if !t.in(s.due) {
		return // warm-up
	}
	t.scheduled++
	metrics.Record(t.lag, s.sent-s.due)
	if s.err != nil {
		t.failed++
		name := errorName(s.err)
		t.byErr[name]++
		if _, ok := t.firstErr[name]; !ok {
			t.firstErr[name] = s.err
		}
		return
	}
	metrics.Record(t.service, s.done-s.sent)
	metrics.Record(t.intended, s.done-s.due)
}

// live is the step's progress so far: commits answered, without error and
// with one, over the whole step.
func (t *tally) live() (sent, answered, failed int64) {
	return t.liveSent.Load(), t.liveDone.Load(), t.liveFail.Load()
}

// fill writes the tally's figures into st.
func (t *tally) fill(st *results.CapacityStep) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	win := (t.to - t.from).Seconds()
	st.WindowS = win
	st.Scheduled, st.Sent, st.Answered, st.Failed = t.scheduled, t.sent, t.answered, t.failed
	st.SentPerSec, st.CommitsPerSec = float64(t.sent)/win, float64(t.answered)/win
	st.SenderKeptUp = st.SentPerSec >= results.SenderShortfall*st.TargetCommitsPerSec
	st.FailedByError = map[string]int64{}
	for k, v := range t.byErr {
		st.FailedByError[k] = v
	}
	st.SendLag = metrics.Summarize(t.lag)
	st.ServiceLatency, st.IntendedLatency = metrics.Summarize(t.service), metrics.Summarize(t.intended)
	var err error
	if st.ServiceLatencyHist, err = metrics.Encode(t.service); err != nil {
		return err
	}
	st.IntendedLatencyHist, err = metrics.Encode(t.intended)
	return err
}

// drive runs one step's schedule on the committers and waits for every
// answer (each bounded by the commit timeout). Open loop, a committer
// sends each commit when it is due, whether or not the ones before it
// were answered; closed loop, it waits for each answer before sending the
// next, late if need be. Either way every latency is also measured from
// the commit's due time. start is the step's start on the monotonic
// clock.
func drive(ctx context.Context, cs []*committer, s schedule, closed bool, timeout time.Duration, start time.Time, t *tally) {
	var inflight sync.WaitGroup
	send := func(c *committer, due time.Duration) {
		sent := time.Since(start)
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err := c.commit(cctx)
		cancel()
		t.add(sample{due: due, sent: sent, done: time.Since(start), err: err})
	}
	var loops sync.WaitGroup
	for i, c := range cs {
		loops.Go(func() {
			timer := time.NewTimer(0)
			defer timer.Stop()
			<-timer.C
			for k := 0; ; k++ {
				due := s.at(i, k)
				if due >= s.dur {
					return
				}
				if wait := due - time.Since(start); wait > 0 {
					timer.Reset(wait)
					select {
					case <-ctx.Done():
						return
					case <-timer.C:
					}
				} else if ctx.Err() != nil {
					return
				}
				if closed {
					send(c, due)
					continue
				}
				inflight.Go(func() { send(c, due) })
			}
		})
	}
	loops.Wait()
	inflight.Wait()
}
