package spec

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/commitbench/commitbench/bench/cluster"
	"github.com/commitbench/commitbench/bench/strategy"
)

// BrokerKinds are the broker providers a workload may name.
var BrokerKinds = []string{"embedded", "local", "container", "external"}

var compressions = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// Validate checks every field and returns the first problem as an *Error
// naming the field and the fix.
func (w *Workload) Validate() error {
	for _, check := range []func() error{w.validateTarget, w.validateNetwork, w.validateSweep, w.validateRun, w.validateClient, w.validateFaults, w.validateGroups} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateNetwork checks the network profile.
func (w *Workload) validateNetwork() error {
	n := w.Network
	whole := func(d Duration) bool { return d.D()%time.Millisecond == 0 }
	switch {
	case n.Latency < 0:
		return bad("network.latency", fmt.Sprintf("%s is below zero", n.Latency), `use "0s" for none, or a round trip such as "3ms"`)
	case !whole(n.Latency):
		ms := n.Latency.D().Truncate(time.Millisecond)
		return bad("network.latency", fmt.Sprintf("%s is not a whole number of milliseconds (toxiproxy's unit)", n.Latency), fmt.Sprintf("use %s or %s", ms, ms+time.Millisecond))
	case n.Jitter < 0:
		return bad("network.jitter", fmt.Sprintf("%s is below zero", n.Jitter), `use "0s" for none, or e.g. "1ms"`)
	case !whole(n.Jitter):
		return bad("network.jitter", fmt.Sprintf("%s is not a whole number of milliseconds (toxiproxy's unit)", n.Jitter), "round it to whole milliseconds")
	case n.Jitter > n.Latency:
		return bad("network.jitter", fmt.Sprintf("%s exceeds network.latency (%s), so some round trips would be shorter than none", n.Jitter, n.Latency), "keep the jitter at or below the latency")
	case n.BandwidthKBps < 0:
		return bad("network.bandwidth_kbps", fmt.Sprintf("%d is below zero", n.BandwidthKBps), "use 0 for no cap, or KB/s such as 10000")
	}
	return nil
}

// bad is a problem with one field, and its fix.
func bad(field, problem, fix string) error {
	return &Error{Field: field, Problem: problem, Fix: fix}
}

// validateTarget checks the broker, the sink, the topic and the processing cost.
func (w *Workload) validateTarget() error {
	if !slices.Contains(BrokerKinds, w.Broker.Kind) {
		return bad("broker.kind", fmt.Sprintf("unknown broker %q", w.Broker.Kind),
			"use one of: "+strings.Join(BrokerKinds, ", "))
	}
	switch {
	case w.Sink.Kind != "sqlite" && w.Sink.Kind != "postgres":
		return bad("sink.kind", fmt.Sprintf("unknown sink %q", w.Sink.Kind), "use sqlite or postgres")
	case w.Sink.Kind == "sqlite" && w.Sink.DSN != "":
		return bad("sink.dsn", "sqlite takes no DSN (each phase gets its own file)", "remove sink.dsn or use kind: postgres")
	}
	if err := w.Broker.validate(); err != nil {
		return err
	}
	switch {
	case w.Broker.CommitDelay < 0:
		return bad("broker.commit_delay", "must not be negative", `use "0s" for none or a latency such as "2ms"`)
	case w.Broker.CommitDelay > 0 && w.Broker.Kind != "embedded":
		// Real brokers would silently ignore it and commit at their own speed.
		return bad("broker.commit_delay", "only the embedded broker can delay commits, not "+w.Broker.Kind, "remove it, or use kind: embedded")
	}
	t := w.Topic
	switch {
	case t.Partitions < 0 || t.Partitions > 10_000:
		return bad("topic.partitions", fmt.Sprintf("%d is out of range", t.Partitions), "use 1 to 10000")
	case t.Records < 0:
		return bad("topic.records", fmt.Sprintf("%d is negative", t.Records), "use a positive record count such as 200000")
	case t.RecordBytes < 0 || t.RecordBytes > 1<<20:
		return bad("topic.record_bytes", fmt.Sprintf("%d is out of range", t.RecordBytes), "use 1 to 1048576")
	case t.Keys != "none" && t.Keys != "random":
		return bad("topic.keys", fmt.Sprintf("unknown key mode %q", t.Keys), `use "none" or "random"`)
	}
	if w.Processing.CPUMicros < 0 || w.Processing.SleepMicros < 0 {
		return bad("processing", "costs must not be negative", "set cpu_us and sleep_us to 0 or more")
	}
	return nil
}

// validateSweep checks the strategies and the intervals they are swept over.
func (w *Workload) validateSweep() error {
	t := w.Topic
	if len(w.Strategies) == 0 {
		return bad("strategies", "no strategy listed", "list at least one, e.g. [none, at-least-once-sync]")
	}
	seen := map[string]bool{}
	needsInterval := false
	for i, name := range w.Strategies {
		field := fmt.Sprintf("strategies[%d]", i)
		info, err := strategy.Lookup(name)
		if err != nil {
			return bad(field, err.Error(), "correct the name")
		}
		if seen[name] {
			return bad(field, fmt.Sprintf("%q is listed twice", name), "list each strategy once")
		}
		seen[name] = true
		needsInterval = needsInterval || info.TakesInterval()
	}
	if needsInterval && len(w.Intervals) == 0 {
		return bad("intervals", "no commit interval listed", "add e.g. `- records: 1000` or `- every: 1s`")
	}
	for i, iv := range w.Intervals {
		field := fmt.Sprintf("intervals[%d]", i)
		switch {
		case iv.Records < 0:
			return bad(field+".records", fmt.Sprintf("%d is negative", iv.Records), "use a positive record count such as 1000")
		case iv.Every < 0:
			return bad(field+".every", fmt.Sprintf("%s is negative", iv.Every), `use a positive duration such as "1s"`)
		case iv.Records == 0 && iv.Every == 0:
			return bad(field, "commit interval is zero", "set records (> 0), every (> 0) or both")
		case iv.Records > 100_000:
			return bad(field+".records", fmt.Sprintf("%d is out of range", iv.Records), "use 1 to 100000")
		case iv.Records > t.Records:
			return bad(field+".records", fmt.Sprintf("%d is larger than topic.records (%d), so it would never commit", iv.Records, t.Records),
				"lower the interval or raise topic.records")
		case iv.Every > 0 && (iv.Every.D() < 10*time.Millisecond || iv.Every.D() > time.Minute):
			return bad(field+".every", fmt.Sprintf("%s is out of range", iv.Every), `use "10ms" to "60s"`)
		}
		for j := range i {
			if w.Intervals[j] == iv {
				return bad(field, fmt.Sprintf("duplicates intervals[%d]", j), "list each interval once")
			}
		}
	}
	for i, name := range w.Strategies {
		info, _ := strategy.Lookup(name)
		if !info.TakesInterval() {
			continue
		}
		ok := false
		var whys []string
		for _, iv := range w.Intervals {
			a, why := info.Accepts(iv.Records, int64(iv.Every))
			ok = ok || a
			if !a && !slices.Contains(whys, why) {
				whys = append(whys, why)
			}
		}
		if !ok {
			return bad(fmt.Sprintf("strategies[%d]", i), fmt.Sprintf("no listed interval suits %s: %s", name, strings.Join(whys, "; ")),
				"add an interval it accepts or drop the strategy")
		}
	}
	return nil
}

// validateRun checks the repetitions, the warm-up and the crash plan.
func (w *Workload) validateRun() error {
	t := w.Topic
	switch {
	case w.Repetitions < 1 || w.Repetitions > 100:
		return bad("repetitions", fmt.Sprintf("%d is out of range", w.Repetitions), "use 1 to 100 (3 or more to see the spread)")
	case w.WarmupRecords < 0 || w.WarmupRecords >= t.Records:
		return bad("warmup_records", fmt.Sprintf("%d leaves nothing to measure out of %d records", w.WarmupRecords, t.Records),
			"use less than topic.records (the default is a tenth)")
	case w.Crashes.PerPoint < 0 || w.Crashes.PerPoint > 50:
		return bad("crashes.per_point", fmt.Sprintf("%d is out of range", w.Crashes.PerPoint), "use 0 (no crash phase) to 50")
	}
	if kp := w.Crashes.KillPoint; kp != nil {
		if kp.Occurrence < 1 {
			return bad("crashes.kill_point.occurrence", fmt.Sprintf("%d is out of range", kp.Occurrence), "count passages of the point from 1")
		}
		for i, name := range w.Strategies {
			info, _ := strategy.Lookup(name)
			if !slices.Contains(info.KillPoints, kp.Point) {
				return bad("crashes.kill_point.point", fmt.Sprintf("%q is not a kill point of %s (strategies[%d])", kp.Point, name, i),
					"use one of: "+strings.Join(info.KillPoints, ", "))
			}
		}
	}
	return nil
}

// validateClient checks the client settings.
func (w *Workload) validateClient() error {
	c := w.Client
	switch {
	case c.FetchMaxBytes < 1:
		return bad("client.fetch_max_bytes", "must be positive", "use e.g. 16777216")
	case c.FetchMaxPartitionBytes < 1 || c.FetchMaxPartitionBytes > c.FetchMaxBytes:
		return bad("client.fetch_max_partition_bytes", "must be positive and at most fetch_max_bytes", "use e.g. 1048576")
	case c.FetchMaxWait < 0:
		return bad("client.fetch_max_wait", "must not be negative", `use e.g. "100ms"`)
	case c.MaxPollRecords < 1:
		return bad("client.max_poll_records", "must be positive", "use e.g. 500")
	case c.Linger < 0:
		return bad("client.linger", "must not be negative", `use "0s" for none`)
	case !slices.Contains(compressions, c.Compression):
		return bad("client.compression", fmt.Sprintf("unknown codec %q", c.Compression), "use one of: "+strings.Join(compressions, ", "))
	case c.SessionTimeout.D() < time.Second:
		return bad("client.session_timeout", fmt.Sprintf("%s is too short", c.SessionTimeout), `use at least "1s" (the broker bounds it too)`)
	}
	return nil
}

// topicSafe matches what Kafka accepts in a topic name.
var topicSafe = regexp.MustCompile(`^[a-zA-Z0-9._-]*$`)

func (b Broker) validate() error {
	if !topicSafe.MatchString(b.TopicPrefix) || len(b.TopicPrefix) > 100 {
		return bad("broker.topic_prefix", fmt.Sprintf("%q is not a valid start of a topic name", b.TopicPrefix), "use letters, digits, '.', '_' and '-'")
	}
	if b.Nodes != 0 && (b.Kind != "local" || b.Nodes != 1 && b.Nodes != 3) {
		return bad("broker.nodes", fmt.Sprintf("%d nodes on broker %s", b.Nodes, b.Kind), "use 1 or 3, with kind: local")
	}
	if b.Kind != "external" {
		if len(b.Bootstrap) > 0 || b.TLS != nil || b.SASL != nil {
			return bad("broker", fmt.Sprintf("bootstrap, tls and sasl are for kind external, not %s", b.Kind), "set kind: external or remove them")
		}
		return nil
	}
	if len(b.Bootstrap) == 0 {
		return bad("broker.bootstrap", "an external cluster needs its bootstrap addresses", "list host:port pairs, e.g. [kafka1:9092]")
	}
	for i, a := range b.Bootstrap {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return bad(fmt.Sprintf("broker.bootstrap[%d]", i), fmt.Sprintf("%q is not host:port", a), "write it as host:port")
		}
	}
	if s := b.SASL; s != nil {
		if !slices.Contains(cluster.Mechanisms, strings.ToUpper(s.Mechanism)) {
			return bad("broker.sasl.mechanism", fmt.Sprintf("unknown mechanism %q", s.Mechanism), "use one of: "+strings.Join(cluster.Mechanisms, ", "))
		}
		if s.Username == "" {
			return bad("broker.sasl.username", "missing", "set the SASL user")
		}
		if (s.PasswordEnv == "") == (s.PasswordFile == "") {
			return bad("broker.sasl", "the password needs exactly one source", "set password_env (a variable's name) or password_file; never the password itself")
		}
	}
	return nil
}
