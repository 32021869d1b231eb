package runner

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/consume"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
	"github.com/commitbench/commitbench/bench/strategy"
	"github.com/commitbench/commitbench/bench/wire"
)

// member is one worker process of a scenario's group.
type member struct {
	idx, slot int
	s         *process
	joined    bool // it reported an assignment (possibly empty)
	exited    bool
	// pausedCount is its slot's count when it was SIGSTOPped, and
	// zombie what it applied after resuming until it heard it had lost
	// its partitions (-1: not yet).
	pausedCount, zombie int64
	paused, resumed     bool
	// pausedAt is when it stopped itself at a pause point it was asked
	// to stop at (pauseAsked); zero: not yet.
	pausedAt   time.Time
	pauseAsked bool
}

// partTrack follows one partition through the group.
type partTrack struct {
	end       int64
	owner     *member // nil: nobody owns it now
	holder    *member // the member that owned it last
	ownerNext int64   // how far the owner got since it was given it (-1: not yet)
	// lastAt is each process's last record of it (or the moment the
	// harness stopped the process), and revoked the last record a process
	// had of it when it gave it up.
	lastAt  map[*process]int64
	revoked map[*process]int64
	pending *handover
}

// handover is a partition given to a member, waiting for its first record.
type handover struct {
	ev     int // the event whose window it fell in (-1: before the first)
	to     *process
	selfAt int64 // its own last record before it gave the partition up and got it back
}

// eventState is one event's running figures.
type eventState struct {
	spec.Event
	planned, at   int64
	startNs, done int64
	members       int
	dupAtStart    int64
	assigned      int
	moved         int
	open          int // hand-overs still waiting for their first record
	lastEnd       int64
	gapSum, gapMx int64
	rejected      map[string]int64
	pausedMember  *member
	// fault is set for a fault's window (nil: a group event). stallMx is
	// the longest stretch without a record applied that ended in the
	// window; healedAt when a lasting fault ended, recovery the time from
	// then to the next record applied (-1: none yet); hits and remove a
	// commit-errors fault's broker-side count and removal.
	fault    *spec.Fault
	stallMx  int64
	healedAt int64
	recovery int64
	hits     func() int64
	remove   func()
	// leadersMoved (leader-move) are the partitions whose leader changed.
	leadersMoved int
	failed       int      // members that failed in the window and were restarted
	failures     []string // their errors' last words
}

// step is one action of an event and what it waits for.
type step struct {
	act  func() error
	done func() bool
}

// scenarioRun is the state of one scenario phase.
type scenarioRun struct {
	r       *Runner
	ph      *phase
	p       spec.Point
	g       *spec.Group
	frames  chan memberFrame
	quit    chan struct{}
	members []*member
	nextIdx int
	parts   map[int32]*partTrack
	events  []*eventState
	cur     int // index of the running event, -1 before the first
	steps   []step
	acted   bool
	rng     *rand.Rand
	began   time.Time
	first   int64
	reject  map[string]int64
	// lastApplied and lastProgress are the ledger's count at its last
	// change and when that was seen (the no-progress figures).
	lastApplied  int64
	lastProgress time.Time
	// asyncErr is the error of a step's work run off the loop.
	asyncErr error
	// stopping: the scenario is over and its members were told to leave.
	stopping bool
	// restarts are failed members waiting for their replacement, the
	// last of which started at restartedAt.
	restarts    []*member
	restartedAt time.Time
}

type memberFrame struct {
	m      *member
	f      wire.Frame
	closed bool
}

// scenario runs a group's scenario phase: p.Group.Members workers in one
// consumer group consume the topic while the workload's events happen to
// them, placed by the group's consumption of the topic.
func (r *Runner) scenario(ctx context.Context, p spec.Point, strat consume.Strategy) (*results.Scenario, error) {
	ph, err := r.newPhase(ctx, p, strat, "group")
	if ph != nil {
		defer ph.close(context.WithoutCancel(ctx))
	}
	if err != nil {
		return nil, err
	}
	sc := &scenarioRun{r: r, ph: ph, p: p, g: p.Group, frames: make(chan memberFrame, 4096), quit: make(chan struct{}),
		parts: map[int32]*partTrack{}, cur: -1, reject: map[string]int64{}}
	defer close(sc.quit)
	defer sc.killAll()
	h := fnv.New64a()
	fmt.Fprintf(h, "%s#%d", p.Key, p.Repetition)
	sc.rng = rand.New(rand.NewPCG(uint64(r.w.Crashes.Seed), h.Sum64()))
	for part, end := range r.end {
		sc.parts[part] = &partTrack{end: end, ownerNext: -1, lastAt: map[*process]int64{}, revoked: map[*process]int64{}}
	}
	faults := 0
	for _, it := range spec.Schedule(r.w.Events, r.w.Faults) {
		ev := &eventState{planned: int64(it.At * float64(r.w.Topic.Records)), rejected: map[string]int64{}, recovery: -1}
		if it.Fault != nil {
			if err := r.canFault(faults, it.Fault); err != nil {
				return nil, err
			}
			faults++
			ev.Event, ev.fault = spec.Event{Kind: it.Kind, At: it.At}, it.Fault
		} else {
			ev.Event = *it.Event
		}
		sc.events = append(sc.events, ev)
	}
	defer sc.removeFaults()
	if sc.g.Protocol == spec.ProtocolConsumer {
		// The broker keeps a KIP-848 group's session timeout.
		if err := broker.SetConsumerGroupSession(ctx, r.admCl, ph.cfg.Group, sc.g.SessionTimeout.D(), false); err != nil {
			return nil, err
		}
	}
	sc.began = time.Now()
	for range sc.g.Members {
		if _, err := sc.startMember(ctx, nil); err != nil {
			return nil, err
		}
	}
	if err := sc.loop(ctx); err != nil {
		return nil, err
	}
	sc.removeFaults() // what is left of them must not fail the end markers
	if strat.Effects == strategy.EffectsTopic || strat.Relay {
		// Members never know the group is done: the harness marks every
		// output partition complete once they all left.
		if err := writeEndMarkers(ctx, r.conn, ph.cfg.Output, r.end); err != nil {
			return nil, err
		}
	}
	return sc.outcome(ctx)
}

// startMember starts a member: a new one, or the replacement of old (its
// slot and instance id, so a static member takes its partitions back).
func (sc *scenarioRun) startMember(ctx context.Context, old *member) (*member, error) {
	m := &member{zombie: -1}
	if old != nil {
		m.idx, m.slot = old.idx, old.slot
	} else {
		m.idx, m.slot = sc.nextIdx, sc.freeSlot()
		sc.nextIdx++
	}
	cfg := sc.ph.cfg
	cfg.Member, cfg.LedgerSlot, cfg.InstanceID = sc.g, m.slot, ""
	if sc.g.Static() {
		cfg.InstanceID = fmt.Sprintf("%s-m%d", cfg.Group, m.idx)
	}
	s, err := start(ctx, sc.r.worker, cfg)
	if err != nil {
		return nil, err
	}
	m.s = s
	sc.members = append(sc.members, m)
	go func() {
		for f := range s.frames {
			select {
			case sc.frames <- memberFrame{m: m, f: f}:
			case <-sc.quit:
				return
			}
		}
		select {
		case sc.frames <- memberFrame{m: m, closed: true}:
		case <-sc.quit:
		}
	}()
	return m, nil
}

// freeSlot is the lowest ledger slot no live member uses.
func (sc *scenarioRun) freeSlot() int {
	for slot := 0; ; slot++ {
		if !slices.ContainsFunc(sc.members, func(m *member) bool { return !m.exited && m.slot == slot }) {
			return slot
		}
	}
}

func (sc *scenarioRun) live() []*member {
	var out []*member
	for _, m := range sc.members {
		if !m.exited {
			out = append(out, m)
		}
	}
	return out
}

// killAll SIGKILLs whatever still runs (an error ended the phase).
func (sc *scenarioRun) killAll() {
	for _, m := range sc.members {
		if !m.exited {
			_ = m.s.cmd.Process.Signal(syscall.SIGCONT)
			_, _ = m.s.kill()
		}
	}
}

// loop feeds the members' frames, runs the events as the group's
// consumption reaches them, and ends the members once every partition was
// consumed to its end by its current owner after the last event.
func (sc *scenarioRun) loop(ctx context.Context) error {
	r := sc.r
	stall := time.NewTimer(r.stall)
	defer stall.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	lastObs := time.Now()
	for {
		select {
		case mf := <-sc.frames:
			if mf.closed {
				if err := sc.exited(ctx, mf.m); err != nil {
					return err
				}
				if sc.stopping && len(sc.live()) == 0 {
					return nil
				}
				continue
			}
			if err := sc.handle(mf.m, mf.f); err != nil {
				return err
			}
			if !stall.Stop() {
				select {
				case <-stall.C:
				default:
				}
			}
			stall.Reset(r.stall)
		case now := <-tick.C:
			sc.progressed(now)
			if sc.stopping {
				continue
			}
			if err := sc.advance(ctx); err != nil {
				return err
			}
			if sc.complete() {
				sc.stopping = true
				for _, m := range sc.live() {
					if err := m.s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
						return fmt.Errorf("stopping member %d: %w", m.idx, err)
					}
				}
			}
			if time.Since(lastObs) > 200*time.Millisecond {
				lastObs = time.Now()
				r.observe(Event{Point: sc.p, Phase: "group", Applied: sc.ph.ledger.Applied(), Records: r.w.Topic.Records})
			}
		case <-stall.C:
			return fmt.Errorf("the group's members sent nothing for %s (is the broker reachable and the group stable?); %s", r.stall, sc.unfinished())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// unfinished says which partitions the scenario still waits for, and why.
func (sc *scenarioRun) unfinished() string {
	var out []string
	for _, p := range slices.Sorted(maps.Keys(sc.parts)) {
		pt := sc.parts[p]
		switch {
		case pt.owner == nil:
			out = append(out, fmt.Sprintf("partition %d has no owner", p))
		case pt.ownerNext < pt.end:
			out = append(out, fmt.Sprintf("partition %d: member %d got to %d of %d", p, pt.owner.idx, pt.ownerNext, pt.end))
		}
	}
	for _, m := range sc.live() {
		if m.pauseAsked && m.pausedAt.IsZero() {
			out = append(out, fmt.Sprintf("member %d was asked to pause at a point and never reached it", m.idx))
		}
	}
	if len(out) == 0 {
		return "every partition is consumed to its end"
	}
	return strings.Join(out, ", ")
}

// exited reaps a member whose frames ended. A member the harness did not
// kill must have left cleanly.
func (sc *scenarioRun) exited(ctx context.Context, m *member) error {
	m.exited = true
	if err := m.s.wait(); err != nil {
		// In a fault's window a member may give up, as franz-go advises
		// a transactional producer whose End failed: the harness
		// restarts it, as an orchestrator would, and counts it. Outside
		// one a failed member is the run's failure.
		ev := sc.event(sc.cur)
		if ev == nil || ev.fault == nil || ev.failed >= maxFailures || sc.stopping {
			return fmt.Errorf("group member %d: %w", m.idx, err)
		}
		ev.failed++
		ev.failures = append(ev.failures, lastWords(err))
		fmt.Fprintf(sc.r.log, "%s rep %d: group member %d failed in the %s's window, restarting it once the fault is over: %v\n", sc.p.Key, sc.p.Repetition, m.idx, ev.Kind, err)
		sc.dropOwner(m)
		sc.restarts = append(sc.restarts, m)
		return nil
	}
	sc.dropOwner(m)
	return nil
}

// lastWords is a failed member's error on one line, at most 300 bytes.
func lastWords(err error) string {
	w := strings.Join(strings.Fields(err.Error()), " ")
	if len(w) > 300 {
		w = w[:300] + "…"
	}
	return w
}

// maxFailures bounds the members restarted in one fault's window: a
// member that fails over and over is the run's failure.
const maxFailures = 5

// restartFailed starts the replacements of failed members once the
// fault's steps are over, a second apart (a crash-looping process is
// backed off by its orchestrator too).
func (sc *scenarioRun) restartFailed(ctx context.Context) error {
	if len(sc.restarts) == 0 || len(sc.steps) > 0 || time.Since(sc.restartedAt) < time.Second {
		return nil
	}
	m := sc.restarts[0]
	sc.restarts, sc.restartedAt = sc.restarts[1:], time.Now()
	_, err := sc.startMember(ctx, m)
	return err
}

// dropOwner forgets that m owns partitions: it is gone.
func (sc *scenarioRun) dropOwner(m *member) {
	for _, pt := range sc.parts {
		if pt.owner == m {
			pt.owner = nil
		}
	}
}

// handle takes one frame of member m.
func (sc *scenarioRun) handle(m *member, f wire.Frame) error {
	switch f.Kind {
	case wire.Assigned:
		m.joined = true
		pt, ok := sc.parts[f.Partition]
		if !ok {
			return nil // -1: joined with nothing
		}
		// Moved: another member had it (a dynamic member's successor is
		// another member; a static one's, with its instance id, is not).
		prev := pt.holder
		moved := prev != nil && (prev.idx != m.idx || !sc.g.Static() && prev.s != m.s)
		h := &handover{ev: sc.cur, to: m.s, selfAt: pt.revoked[m.s]}
		sc.dropHandover(pt)
		pt.owner, pt.holder, pt.ownerNext, pt.pending = m, m, -1, h
		if ev := sc.event(h.ev); ev != nil {
			ev.assigned++
			ev.open++
			if moved {
				ev.moved++
			}
		}
	case wire.Revoked, wire.Lost:
		if m.resumed && m.zombie < 0 {
			m.zombie = f.B - m.pausedCount
		}
		pt, ok := sc.parts[f.Partition]
		if !ok {
			return nil
		}
		pt.revoked[m.s] = pt.lastAt[m.s]
		if pt.owner == m {
			pt.owner = nil
			sc.dropHandover(pt)
		}
	case wire.PartProgress:
		pt, ok := sc.parts[f.Partition]
		if !ok {
			return fmt.Errorf("group member %d reported partition %d, which the topic does not have", m.idx, f.Partition)
		}
		if sc.first == 0 || f.A < sc.first {
			sc.first = f.A
		}
		pt.lastAt[m.s] = max(pt.lastAt[m.s], f.A)
		if pt.owner != m {
			return nil
		}
		pt.ownerNext = max(pt.ownerNext, f.B)
		if h := pt.pending; h != nil && h.to == m.s {
			pt.pending = nil
			sc.closeHandover(pt, h, f.A)
		}
	case wire.Paused:
		// It stopped itself at the point the pause asked for.
		at := time.Unix(0, f.A)
		m.paused, m.pausedAt, m.pausedCount = true, at, sc.ph.ledger.Slot(m.slot).Applied
		sc.stopped(m, at)
	case wire.Failed:
		name := consume.FailureName(f.B)
		sc.reject[name]++
		if ev := sc.event(sc.cur); ev != nil {
			ev.rejected[name]++
		}
	case wire.Start:
		// Where the owner resumes (its group's committed offset): a
		// partition committed to its end has nothing left for it.
		if pt, ok := sc.parts[f.Partition]; ok && pt.owner == m {
			pt.ownerNext = max(pt.ownerNext, f.A)
			if f.A >= pt.end {
				sc.dropHandover(pt) // nothing left: it will never process
			}
		}
	case wire.RelayLag:
		sc.ph.lags = append(sc.ph.lags, sample{at: f.A, v: f.B})
	case wire.First, wire.Commit, wire.CommitOnWire, wire.AutoCommit, wire.Progress, wire.Done:
	default:
		return fmt.Errorf("unknown frame kind %q from group member %d", f.Kind, m.idx)
	}
	return nil
}

// closeHandover measures a hand-over at its first record (at): the gap
// since the partition's last record elsewhere, or by the same process
// before it gave the partition up.
func (sc *scenarioRun) closeHandover(pt *partTrack, h *handover, at int64) {
	ev := sc.event(h.ev)
	if ev == nil {
		return
	}
	ev.open--
	from := h.selfAt
	for proc, t := range pt.lastAt {
		if proc != h.to && t < at {
			from = max(from, t)
		}
	}
	ev.lastEnd = max(ev.lastEnd, at)
	if from > 0 {
		gap := at - from
		ev.gapSum += gap
		ev.gapMx = max(ev.gapMx, gap)
	}
}

// dropHandover forgets a partition's pending hand-over that ended
// without a record on it: given away again, or with nothing left.
func (sc *scenarioRun) dropHandover(pt *partTrack) {
	if h := pt.pending; h != nil {
		pt.pending = nil
		if ev := sc.event(h.ev); ev != nil {
			ev.open--
		}
	}
}

func (sc *scenarioRun) event(i int) *eventState {
	if i < 0 || i >= len(sc.events) {
		return nil
	}
	return sc.events[i]
}

// stopped marks the partitions m owns as last processed now: the harness
// stopped it.
func (sc *scenarioRun) stopped(m *member, at time.Time) {
	for _, pt := range sc.parts {
		if pt.owner == m {
			pt.lastAt[m.s] = max(pt.lastAt[m.s], at.UnixNano())
		}
	}
}

// progressed samples the ledger: a change ends a stretch without
// progress (the current window's longest is kept), and the first after a
// lasting fault ended is its recovery.
func (sc *scenarioRun) progressed(now time.Time) {
	a := sc.ph.ledger.Applied()
	if a == sc.lastApplied {
		return
	}
	if ev := sc.event(sc.cur); ev != nil && !sc.lastProgress.IsZero() {
		ev.stallMx = max(ev.stallMx, int64(now.Sub(sc.lastProgress)))
		if ev.healedAt != 0 && ev.recovery < 0 {
			ev.recovery = max(0, now.UnixNano()-ev.healedAt)
		}
	}
	sc.lastApplied, sc.lastProgress = a, now
}

// advance runs the current event's steps and starts the next event when
// the group's consumption reaches it.
func (sc *scenarioRun) advance(ctx context.Context) error {
	if sc.asyncErr != nil {
		return sc.asyncErr
	}
	if err := sc.restartFailed(ctx); err != nil {
		return err
	}
	for len(sc.steps) > 0 {
		st := sc.steps[0]
		if !sc.acted {
			sc.acted = true
			if err := st.act(); err != nil {
				return err
			}
		}
		if !st.done() {
			return nil
		}
		sc.steps, sc.acted = sc.steps[1:], false
		if len(sc.steps) == 0 {
			sc.events[sc.cur].done = time.Now().UnixNano()
		}
	}
	next := sc.cur + 1
	if next >= len(sc.events) {
		return nil
	}
	ev := sc.events[next]
	applied := sc.ph.ledger.Applied()
	if applied < ev.planned || !sc.settled() {
		return nil
	}
	sc.cur = next
	ev.at, ev.startNs = applied, time.Now().UnixNano()
	ev.dupAtStart = sc.ph.ledger.Tally().Duplicates
	sc.steps = sc.plan(ctx, ev)
	fmt.Fprintf(sc.r.log, "%s rep %d: %s at %d records (planned %d)\n", sc.p.Key, sc.p.Repetition, ev.Kind, applied, ev.planned)
	return nil
}

// settled reports whether every member joined, every partition has an
// owner, and no member owns more than its share (one topic: every
// balancer evens the counts out; a cooperative rebalance still moving
// partitions to a new member does not): an event starts on a stable group.
func (sc *scenarioRun) settled() bool {
	live := sc.live()
	for _, m := range live {
		if !m.joined {
			return false
		}
	}
	share := (len(sc.parts) + len(live) - 1) / max(len(live), 1)
	owns := map[*member]int{}
	for _, pt := range sc.parts {
		if pt.owner == nil {
			return false
		}
		if owns[pt.owner]++; owns[pt.owner] > share {
			return false
		}
	}
	return true
}

// complete reports whether the scenario is over: every event done, and
// every partition consumed to its end by its current owner.
func (sc *scenarioRun) complete() bool {
	if len(sc.steps) > 0 || sc.cur+1 < len(sc.events) || len(sc.restarts) > 0 {
		return false
	}
	for _, pt := range sc.parts {
		if pt.owner == nil || pt.ownerNext < pt.end {
			return false
		}
	}
	return true
}

// plan turns an event into its steps.
func (sc *scenarioRun) plan(ctx context.Context, ev *eventState) []step {
	if ev.fault != nil {
		return sc.planFault(ctx, ev)
	}
	pick := func(n int) []*member {
		live := sc.live()
		sc.rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
		return live[:min(n, len(live))]
	}
	// A started member is ready, as an orchestrator waits for it, once it
	// joined and the group settled again: every partition has an owner.
	joined := func(m **member) func() bool {
		return func() bool { return *m != nil && ((*m).joined && sc.settled() || (*m).exited) }
	}
	exited := func(m *member) func() bool { return func() bool { return m.exited } }
	replace := func(old *member) step {
		var repl *member
		return step{act: func() error {
			var err error
			repl, err = sc.startMember(ctx, old)
			return err
		}, done: joined(&repl)}
	}
	signal := func(m *member, sig syscall.Signal) error {
		sc.stopped(m, time.Now())
		if err := m.s.cmd.Process.Signal(sig); err != nil {
			return fmt.Errorf("signalling group member %d: %w", m.idx, err)
		}
		return nil
	}
	var steps []step
	switch ev.Kind {
	case spec.EventKill:
		for _, m := range pick(ev.Members) {
			ev.members++
			steps = append(steps, step{act: func() error {
				sc.stopped(m, time.Now())
				_, err := m.s.kill()
				return err
			}, done: exited(m)})
			if ev.Replaces() {
				steps = append(steps, replace(m))
			}
		}
	case spec.EventRollingRestart:
		for _, m := range sc.live() {
			ev.members++
			var sent time.Time
			steps = append(steps, step{act: func() error {
				sent = time.Now()
				return signal(m, syscall.SIGTERM)
			}, done: func() bool {
				if !m.exited && ev.Grace > 0 && time.Since(sent) > ev.Grace.D() && !m.s.killed {
					_, _ = m.s.kill() // the grace is over
				}
				return m.exited
			}}, replace(m))
		}
	case spec.EventScaleOut:
		for range ev.Members {
			ev.members++
			steps = append(steps, replace(nil))
		}
	case spec.EventScaleIn:
		live := sc.live()
		for _, m := range live[max(0, len(live)-ev.Members):] {
			ev.members++
			steps = append(steps, step{act: func() error { return signal(m, syscall.SIGTERM) }, done: exited(m)})
		}
	case spec.EventPause:
		m := sc.pickOwner()
		ev.members, ev.pausedMember = 1, m
		if ev.Point != "" {
			// The member stops itself at the point (a Paused frame); the
			// pause lasts from then.
			steps = append(steps, step{act: func() error {
				m.pauseAsked = true
				if err := m.s.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
					return fmt.Errorf("asking group member %d to pause at %s: %w", m.idx, ev.Point, err)
				}
				return nil
			}, done: func() bool { return !m.pausedAt.IsZero() && time.Since(m.pausedAt) >= ev.For.D() }},
				step{act: func() error {
					m.resumed = true
					return m.s.cmd.Process.Signal(syscall.SIGCONT)
				}, done: func() bool { return true }})
			break
		}
		var at time.Time
		steps = append(steps, step{act: func() error {
			at = time.Now()
			m.paused, m.pausedCount = true, sc.ph.ledger.Slot(m.slot).Applied
			return signal(m, syscall.SIGSTOP)
		}, done: func() bool { return time.Since(at) >= ev.For.D() }},
			step{act: func() error {
				m.resumed = true
				return m.s.cmd.Process.Signal(syscall.SIGCONT)
			}, done: func() bool { return true }})
	}
	return steps
}

// pickOwner picks the live member with the most records left in the
// partitions it owns (the first such, in start order): the one a pause
// makes a zombie, which still has commits to make.
func (sc *scenarioRun) pickOwner() *member {
	live := sc.live()
	best, left := live[0], int64(-1)
	for _, m := range live {
		var n int64
		for _, pt := range sc.parts {
			if pt.owner == m {
				n += pt.end - max(pt.ownerNext, 0)
			}
		}
		if n > left {
			best, left = m, n
		}
	}
	return best
}

// outcome turns the phase into its result.
func (sc *scenarioRun) outcome(ctx context.Context) (*results.Scenario, error) {
	end := time.Now()
	eff, err := sc.ph.effects(ctx)
	if err != nil {
		return nil, err
	}
	tally := eff.Tally()
	relay, err := sc.ph.relay(ctx)
	if err != nil {
		return nil, err
	}
	s := &results.Scenario{
		Relay:           relay,
		Members:         sc.g.Members,
		IdleMembers:     max(0, sc.g.Members-len(sc.parts)),
		Lost:            tally.Lost,
		Duplicates:      tally.Duplicates,
		RejectedCommits: sc.reject,
		Events:          []results.EventOutcome{},
	}
	if sc.first > 0 {
		s.WallSeconds = float64(end.UnixNano()-sc.first) / 1e9
		s.RecordsPerSec = float64(tally.Records) / s.WallSeconds
	}
	replays := sc.ph.ledger.Tally().Duplicates
	started := 0
	for _, ev := range sc.events {
		if ev.startNs != 0 {
			started++
		}
	}
	for i, ev := range sc.events {
		if ev.startNs == 0 {
			continue // the group finished before its consumption reached it
		}
		// Windows are read off the shared ledger: what was processed
		// again between this event's start and the next's.
		next := replays
		if i+1 < len(sc.events) && sc.events[i+1].startNs != 0 {
			next = sc.events[i+1].dupAtStart
		}
		replayed := next - ev.dupAtStart
		var dups *int64
		switch {
		case sc.ph.strat.Effects == strategy.EffectsLedger:
			dups = &replayed
		case started == 1:
			dups = &tally.Duplicates
		}
		o := results.EventOutcome{
			Kind: ev.Kind, PlannedAtRecords: ev.planned, AtRecords: ev.at,
			StartMs: float64(ev.startNs-sc.began.UnixNano()) / 1e6, ActionsMs: float64(ev.done-ev.startNs) / 1e6,
			Members: ev.members, ReplayedRecords: replayed, Duplicates: dups,
			PartitionsAssigned: ev.assigned, PartitionsMoved: ev.moved,
			GapSumMs: float64(ev.gapSum) / 1e6, GapMaxMs: float64(ev.gapMx) / 1e6,
			RejectedCommits: ev.rejected,
			NoProgressMaxMs: float64(ev.stallMx) / 1e6,
			MembersFailed:   ev.failed,
			MemberFailures:  ev.failures,
		}
		if ev.recovery >= 0 {
			ms := float64(ev.recovery) / 1e6
			o.RecoveryMs = &ms
		}
		if ev.hits != nil {
			n := ev.hits()
			o.InjectedErrors = &n
		}
		if ev.fault != nil {
			o.Variant = ev.fault.Variant()
		}
		if ev.fault != nil && ev.fault.Kind == spec.FaultLeaderMove {
			n := ev.leadersMoved
			o.LeadersMoved = &n
		}
		if ev.lastEnd > 0 && ev.open == 0 {
			ms := float64(ev.lastEnd-ev.startNs) / 1e6
			o.RebalanceMs = &ms
		}
		if m := ev.pausedMember; m != nil && m.zombie >= 0 {
			z := m.zombie
			o.ZombieRecords = &z
		}
		s.Events = append(s.Events, o)
	}
	return s, nil
}
