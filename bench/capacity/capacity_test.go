package capacity

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/results"
	"github.com/commitbench/commitbench/bench/spec"
)

// fake is a kfake cluster of the test's own (with its own control hooks)
// as a broker.Broker.
type fake struct{ c *kfake.Cluster }

func (f fake) Addrs() []string { return f.c.ListenAddrs() }
func (f fake) Describe() cluster.Description {
	return cluster.Description{Kind: "embedded", Version: "kfake", Brokers: 1, OffsetsReplication: 1}
}
func (f fake) Close() error { f.c.Close(); return nil }

func newFake(t *testing.T) fake {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return fake{c}
}

func admin(t *testing.T, b broker.Broker) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func embedded(t *testing.T, delay time.Duration) broker.Broker {
	t.Helper()
	b, err := broker.StartEmbedded(broker.Options{CommitDelay: delay})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// A committer that never joins its group commits with generation -1 and no
// member id; kfake stores the offsets, and the group has no member.
func TestCommitWithoutMembership(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := embedded(t, 0)
	adm := admin(t, b)
	created, err := adm.CreateTopic(ctx, 3, -1, nil, "t")
	if err != nil || created.Err != nil {
		t.Fatal(err, created.Err)
	}
	c, err := newCommitter(broker.ConnOf(b), "g", "t", [16]byte(created.ID), 3, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if err := c.prime(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.commit(ctx); err != nil {
		t.Fatal(err)
	}
	offs, err := adm.FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(3) {
		if o, ok := offs.Lookup("t", p); !ok || o.Err != nil || o.At != 2 {
			t.Errorf("partition %d: committed %+v, want offset 2 (the second commit)", p, o)
		}
	}
	groups, err := adm.DescribeGroups(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if g := groups["g"]; len(g.Members) != 0 || g.State != "Empty" {
		t.Errorf("group %+v: want an empty group, no member", g)
	}
	// A commit for a partition the topic does not have is refused, and
	// named by its Kafka error.
	bad, err := newCommitter(broker.ConnOf(b), "g2", "t", [16]byte(created.ID), 4, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.close()
	if err := bad.commit(ctx); errorName(err) != "UNKNOWN_TOPIC_OR_PARTITION" {
		t.Errorf("commit beyond the topic's partitions: %v (%s)", err, errorName(err))
	}
}

// Every committer holds at most the descriptors CheckFDs counts for it;
// asking for more committers than the limit allows is refused up front.
func TestDescriptorsPerCommitter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := embedded(t, 0)
	adm := admin(t, b)
	created, err := adm.CreateTopic(ctx, 1, -1, nil, "t")
	if err != nil || created.Err != nil {
		t.Fatal(err, created.Err)
	}
	fds := func() int {
		e, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd")
		}
		return len(e)
	}
	before := fds()
	const n = 20
	var cs []*committer
	for i := range n {
		c, err := newCommitter(broker.ConnOf(b), "g"+string(rune('a'+i)), "t", [16]byte(created.ID), 1, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
		cs = append(cs, c)
	}
	if err := primeAll(ctx, cs, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	per := float64(fds()-before) / n
	t.Logf("%.2f descriptors per committer", per)
	if per > fdsPerCommitter+fdsPerCommitterInBroker {
		t.Errorf("%.1f descriptors per committer (client and in-process broker), CheckFDs counts %d", per, fdsPerCommitter+fdsPerCommitterInBroker)
	}
	err = CheckFDs(1<<30, true)
	if err == nil || !strings.Contains(err.Error(), "RLIMIT_NOFILE") || !strings.Contains(err.Error(), "lower --groups") {
		t.Errorf("a billion committers: %v", err)
	}
	if err := CheckFDs(10, true); err != nil {
		t.Errorf("10 committers: %v", err)
	}
}

// The open schedule interleaves the committers evenly at the aggregate
// rate and ends with the step.
func TestScheduleEvenlySpaced(t *testing.T) {
	s := schedule{rate: 1000, n: 4, dur: time.Second}
	var dues []time.Duration
	for i := range 4 {
		for k := 0; s.at(i, k) < s.dur; k++ {
			dues = append(dues, s.at(i, k))
		}
	}
	if len(dues) != 1000 {
		t.Fatalf("%d commits due in a second at 1000/s", len(dues))
	}
	if s.at(1, 0) != time.Millisecond || s.at(0, 1) != 4*time.Millisecond {
		t.Errorf("committer 1 first due at %s, committer 0 again at %s; want 1ms and 4ms", s.at(1, 0), s.at(0, 1))
	}
}

// capacityRun sweeps c against b and returns its steps.
func capacityRun(t *testing.T, b broker.Broker, c spec.Capacity, opts ...Option) []results.CapacityStep {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var steps []results.CapacityStep
	opts = append(opts, WithStepDone(func(s results.CapacityStep) error { steps = append(steps, s); return nil }))
	if err := Run(ctx, b, c, opts...); err != nil {
		t.Fatal(err)
	}
	return steps
}

// With every OffsetCommit held at the broker, a fixed number of committers
// is answered at most committers/delay times a second: the knee moves down
// with the delay. 40 committers at 200 ms saturate at 200 commits/s, so
// 400/s is past their knee; at 20 ms they saturate at 2,000/s, so 400/s is
// well below it. Both delays are far above kfake's own microseconds and
// the milliseconds a loaded machine adds, so noise does not decide the
// ratio of two p99s.
func TestKneeMovesWithCommitDelay(t *testing.T) {
	c := spec.Capacity{Groups: []int{40}, PartitionsPerCommit: []int{1}, Rates: []float64{400, 100},
		StepDuration: spec.Duration(1200 * time.Millisecond), Warmup: spec.Duration(200 * time.Millisecond), CommitTimeout: spec.Duration(10 * time.Second)}
	knee := func(delay time.Duration) results.Knee {
		steps := capacityRun(t, embedded(t, delay), c)
		for _, s := range steps {
			t.Logf("delay %s: %g/s sent %.0f/s answered %.0f/s p99 %.0fµs (n=%d) send lag p99 %.0fµs failed %d", delay, s.TargetCommitsPerSec, s.SentPerSec, s.CommitsPerSec,
				s.IntendedLatency.P99Us, s.IntendedLatency.Count, s.SendLag.P99Us, s.Failed)
		}
		ks := results.Knees(steps)
		if len(ks) != 1 {
			t.Fatalf("%d knees", len(ks))
		}
		t.Log(ks[0])
		return ks[0]
	}
	slow, fast := knee(200*time.Millisecond), knee(20*time.Millisecond)
	if !slow.Found || slow.AtCommitsPerSec > 400 {
		t.Errorf("200 ms per commit, 40 committers: %s; want a knee at or below 400 commits/s", slow)
	}
	// On a machine that stalls the committers themselves the 400/s step
	// may be passed over as disturbed (listed, not a knee): still no knee.
	judged := fast.UpToCommitsPerSec >= 400 || len(fast.Disturbed) > 0 && fast.Disturbed[0].AtCommitsPerSec == 400
	if fast.Found || !judged {
		t.Errorf("20 ms per commit, 40 committers: %s; want no knee up to 400 commits/s", fast)
	}
}

// stallingBroker holds every OffsetCommit that arrives in [from, from+d)
// until from+d: a coordinator that stops answering for d, as a GC pause or
// a coordinator moving would.
func stallingBroker(t *testing.T, d time.Duration, from *atomic.Pointer[time.Time]) fake {
	f := newFake(t)
	f.c.ControlKey(int16(kmsg.OffsetCommit), func(kmsg.Request) (kmsg.Response, error, bool) {
		f.c.KeepControl()
		if at := from.Load(); at != nil {
			if end := at.Add(d); time.Now().After(*at) && time.Now().Before(end) {
				f.c.SleepControl(func() { time.Sleep(time.Until(end)) })
			}
		}
		return nil, nil, false
	})
	return f
}

// armStall starts the stall a fixed time into every step.
type armStall struct {
	after time.Duration
	from  *atomic.Pointer[time.Time]
}

func (a armStall) Planned(int) {}
func (a armStall) StepStarted(string, int, float64, func() (int64, int64, int64)) {
	at := time.Now().Add(a.after)
	a.from.Store(&at)
}
func (a armStall) StepFinished(results.CapacityStep) {}

// A coordinator that stalls for 300 ms: measured from the intended send
// time, the commits due during the stall waited for it, so the latency is
// at least the stall (less one send interval) and the p99 shows it. A
// closed loop sends nothing while it waits, and its service times — what a
// closed-loop benchmark reports — hide the stall in one sample.
func TestOpenLoopShowsCoordinatorStall(t *testing.T) {
	const (
		stall = 300 * time.Millisecond
		rate  = 200.0
	)
	interval := time.Duration(float64(time.Second) / rate)
	c := spec.Capacity{Groups: []int{1}, PartitionsPerCommit: []int{1}, Rates: []float64{rate},
		StepDuration: spec.Duration(1500 * time.Millisecond), Warmup: spec.Duration(100 * time.Millisecond), CommitTimeout: spec.Duration(10 * time.Second)}
	var from atomic.Pointer[time.Time]
	b := stallingBroker(t, stall, &from)
	arm := WithObserver(armStall{after: 400 * time.Millisecond, from: &from})
	open := capacityRun(t, b, c, arm, WithRunID("open"))[0]
	closed := capacityRun(t, b, c, arm, WithRunID("closed"), WithClosedLoop())[0]
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	t.Logf("open: intended p99 %.0fµs max %.0fµs, service p99 %.0fµs (n=%d)", open.IntendedLatency.P99Us, open.IntendedLatency.MaxUs, open.ServiceLatency.P99Us, open.ServiceLatency.Count)
	t.Logf("closed: intended p99 %.0fµs, service p99 %.0fµs max %.0fµs (n=%d), send lag max %.0fµs", closed.IntendedLatency.P99Us, closed.ServiceLatency.P99Us, closed.ServiceLatency.MaxUs, closed.ServiceLatency.Count, closed.SendLag.MaxUs)
	if open.Loop != results.LoopOpen || closed.Loop != results.LoopClosed {
		t.Errorf("loops recorded as %q and %q", open.Loop, closed.Loop)
	}
	if got := open.IntendedLatency.MaxUs; got < us(stall-interval) {
		t.Errorf("open loop: the longest intended-time latency is %.0fµs, less than the %s stall", got, stall-interval)
	}
	if got := open.IntendedLatency.P99Us; got < us(stall/2) {
		t.Errorf("open loop: intended-time p99 %.0fµs hides the %s stall", got, stall)
	}
	// Sent on schedule, the commits due during the stall queued behind it:
	// their service time holds the stall too.
	if got := open.ServiceLatency.P99Us; got < us(stall/2) {
		t.Errorf("open loop: service p99 %.0fµs; commits sent during the %s stall should have waited for it", got, stall)
	}
	if got := closed.ServiceLatency.P99Us; got >= us(stall/2) {
		t.Errorf("closed loop: service p99 %.0fµs; a closed loop was expected to hide the %s stall there", got, stall)
	}
	if got := closed.IntendedLatency.P99Us; got < us(stall/2) {
		t.Errorf("closed loop: intended-time p99 %.0fµs hides the %s stall", got, stall)
	}
	if open.Failed != 0 || closed.Failed != 0 {
		t.Errorf("failed commits: open %v, closed %v", open.FailedByError, closed.FailedByError)
	}
}

// A recorded sweep writes every step, readable, with its manifest, and
// links latest-capacity to it; one whose broker cannot be reached writes
// nothing.
func TestRecord(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	w := spec.DefaultCapacity()
	w.Capacity.Groups, w.Capacity.Rates = []int{2}, []float64{50, 100}
	w.Capacity.StepDuration, w.Capacity.Warmup = spec.Duration(300*time.Millisecond), spec.Duration(50*time.Millisecond)
	out, err := Record(ctx, w, RecordOptions{ResultsDir: dir, RunID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	steps, err := results.ReadCapacity(filepath.Join(dir, LatestLink))
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2 || steps[0].TargetCommitsPerSec != 50 || steps[1].Step != 2 || steps[0].Broker.Kind != "embedded" || steps[0].Broker.Note == "" {
		t.Errorf("steps read back: %+v", steps)
	}
	var m Manifest
	if b, err := os.ReadFile(filepath.Join(dir, "r", "run.json")); err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("manifest: %v", err)
	}
	if m.Status != "complete" || m.Finished != 2 || m.Planned != 2 || m.Kind != "capacity" {
		t.Errorf("manifest %+v", m)
	}
	var table strings.Builder
	if err := out.Print(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"coordinator capacity on embedded", "kfake is an in-memory fake", "2 groups × 1 partition", "2 of 2 steps finished (complete)"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("printout lacks %q:\n%s", want, table.String())
		}
	}

	w.Broker = spec.Broker{Kind: "external", Bootstrap: []string{"127.0.0.1:1"}, TopicPrefix: "commitbench-"}
	_, err = Record(ctx, w, RecordOptions{ResultsDir: filepath.Join(dir, "unreachable"), RunID: "u"})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the external cluster") {
		t.Errorf("unreachable broker: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "unreachable")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an unreachable broker left %v", err)
	}
}
