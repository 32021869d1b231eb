// Package spec reads workload files: the YAML format, its validation (every
// error names the field and the fix) and the expansion of a workload into
// the Points of a sweep.
package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/commitbench/commitbench/bench/cluster"
	"go.yaml.in/yaml/v3"
)

// Workload is one workload file: a topic shape, a processing cost, the
// strategies and commit intervals to sweep, and the client settings, all set
// explicitly so that every result can say what produced it.
type Workload struct {
	// Name identifies the workload in results; defaults to the file name.
	Name string `yaml:"name" json:"name"`
	// Description is free text for reports.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Broker selects where the topic lives.
	Broker Broker `yaml:"broker" json:"broker"`
	// Topic is the shape of the source topic.
	Topic Topic `yaml:"topic" json:"topic"`
	// Processing is the cost of handling one record.
	Processing Processing `yaml:"processing" json:"processing"`
	// Strategies are the commit strategies to compare.
	Strategies []string `yaml:"strategies" json:"strategies"`
	// Intervals are the commit intervals to sweep.
	Intervals []Interval `yaml:"intervals" json:"intervals"`
	// Repetitions is how often each point runs; the spread is reported.
	Repetitions int `yaml:"repetitions" json:"repetitions"`
	// WarmupRecords are processed before throughput is measured.
	WarmupRecords int64 `yaml:"warmup_records" json:"warmup_records"`
	// Crashes plans the SIGKILLs of the crash phase.
	Crashes Crashes `yaml:"crashes" json:"crashes"`
	// Client holds the Kafka client settings.
	Client Client `yaml:"client" json:"client"`
	// Sink is the database of the strategies whose effects land in one.
	Sink Sink `yaml:"sink" json:"sink"`
	// Groups are the consumer-group set-ups to sweep; each point with a
	// group runs a scenario phase, in which Events happen to the group,
	// instead of a crash phase.
	Groups []Group `yaml:"groups" json:"groups,omitempty"`
	// Events happen to each group during its scenario phase, in order.
	Events []Event `yaml:"events" json:"events,omitempty"`
	// Faults go wrong under the group during its scenario phase, on the
	// events' schedule (a workload with faults and no group runs one of
	// one member).
	Faults []Fault `yaml:"faults" json:"faults,omitempty"`
	// Network is the network between every client and the cluster
	// (a proxy in the harness adds it), for every broker kind.
	Network Network `yaml:"network" json:"network"`
}

// Network is a network profile: what a remote cluster's network adds to
// every client connection (the workers', the seeding's, the relay's).
type Network struct {
	// Latency is the round trip added to every request, in whole
	// milliseconds (toxiproxy's unit); 0: none.
	Latency Duration `yaml:"latency" json:"latency_ns"`
	// Jitter spreads each round trip uniformly over ±Jitter.
	Jitter Duration `yaml:"jitter" json:"jitter_ns"`
	// BandwidthKBps caps each connection each way, in KB/s (0: no cap).
	BandwidthKBps int64 `yaml:"bandwidth_kbps" json:"bandwidth_kbps"`
}

// Enabled reports whether the profile changes anything.
func (n Network) Enabled() bool { return n.Latency > 0 || n.Jitter > 0 || n.BandwidthKBps > 0 }

// Sink is the database the exactly-once family writes to.
type Sink struct {
	// Kind is sqlite (a file per phase, the default) or postgres.
	Kind string `yaml:"kind" json:"kind"`
	// DSN locates PostgreSQL. It may hold a password, so it is never
	// written to results; prefer the COMMITBENCH_PG_DSN environment
	// variable or --sink-dsn to writing it in a workload file.
	DSN string `yaml:"dsn" json:"-"`
}

// Broker selects the broker provider.
type Broker struct {
	// Kind is the provider: embedded (the default).
	Kind string `yaml:"kind" json:"kind"`
	// CommitDelay, on the embedded broker, holds every OffsetCommit,
	// TxnOffsetCommit and EndTxn this long to emulate a remote cluster's
	// round trip (database commits are not delayed). Results are labelled
	// with it and with the requests it delayed.
	CommitDelay Duration `yaml:"commit_delay" json:"commit_delay_ns"`
	// Bootstrap, TLS and SASL reach an external cluster. SASL names where
	// its password is (an environment variable or a file), never the
	// password itself.
	Bootstrap []string      `yaml:"bootstrap" json:"bootstrap,omitempty"`
	TLS       *cluster.TLS  `yaml:"tls" json:"tls,omitempty"`
	SASL      *cluster.SASL `yaml:"sasl" json:"sasl,omitempty"`
	// Nodes is the local broker's node count: 1, or 3 with the offsets and
	// transaction topics replicated three times (0: 1, or
	// $COMMITBENCH_KAFKA_NODES).
	Nodes int `yaml:"nodes" json:"nodes,omitempty"`
	// TopicPrefix starts the name of every topic the run creates.
	TopicPrefix string `yaml:"topic_prefix" json:"topic_prefix"`
	// KeepTopics leaves the run's topics in place afterwards.
	KeepTopics bool `yaml:"keep_topics" json:"keep_topics"`
}

// Conn is how clients reach the external cluster the workload names.
func (b Broker) Conn() cluster.Conn {
	return cluster.Conn{Bootstrap: b.Bootstrap, TLS: b.TLS, SASL: b.SASL}
}

// Topic is the source topic's shape.
type Topic struct {
	// Partitions of the source topic.
	Partitions int32 `yaml:"partitions" json:"partitions"`
	// Records seeded before the sweep; every point consumes all of them.
	Records int64 `yaml:"records" json:"records"`
	// RecordBytes is each record's value size.
	RecordBytes int `yaml:"record_bytes" json:"record_bytes"`
	// Keys: "none" (round-robin partitioning) or "random" (16-byte keys).
	Keys string `yaml:"keys" json:"keys"`
}

// Processing is the work done per record.
type Processing struct {
	// CPUMicros spins the CPU this many microseconds per record.
	CPUMicros float64 `yaml:"cpu_us" json:"cpu_us"`
	// SleepMicros sleeps this many microseconds per record (I/O-like cost).
	SleepMicros float64 `yaml:"sleep_us" json:"sleep_us"`
}

// Interval is when a strategy commits: every Records records, every Every
// of time, or whichever comes first when both are set.
type Interval struct {
	// Records triggers a commit after this many processed records.
	Records int64 `yaml:"records,omitempty" json:"records,omitempty"`
	// Every triggers a commit after this much time since the last one.
	Every Duration `yaml:"every,omitempty" json:"every_ns,omitempty"`
}

// Kind is "count", "time", "hybrid", or "" for the zero interval.
func (i Interval) Kind() string {
	switch {
	case i.Records > 0 && i.Every > 0:
		return "hybrid"
	case i.Records > 0:
		return "count"
	case i.Every > 0:
		return "time"
	}
	return ""
}

// String is the interval's one label, as workloads write it and every
// table, figure and report shows it: "100rec", "5s", "100rec|5s", or "-"
// for no interval.
func (i Interval) String() string {
	switch i.Kind() {
	case "hybrid":
		return fmt.Sprintf("%drec|%s", i.Records, i.Every)
	case "count":
		return fmt.Sprintf("%drec", i.Records)
	case "time":
		return i.Every.String()
	}
	return "-"
}

// Crashes plans the crash phase of each point.
type Crashes struct {
	// PerPoint is how many times the worker is SIGKILLed; 0 skips the phase.
	PerPoint int `yaml:"per_point" json:"per_point"`
	// Seed makes the kill moments repeatable.
	Seed int64 `yaml:"seed" json:"seed"`
	// KillPoint, when set, replaces the random moments: each worker in
	// turn, until PerPoint kills have landed, SIGKILLs itself the
	// Occurrence-th time it reaches the named point of its loop.
	KillPoint *KillPoint `yaml:"kill_point,omitempty" json:"kill_point,omitempty"`
}

// KillPoint is a named point of a worker's loop and which passage of it
// kills the worker.
type KillPoint struct {
	// Point is one of the strategy's kill points (strategy.KillPoints).
	Point string `yaml:"point" json:"point"`
	// Occurrence counts passages of the point from 1.
	Occurrence int `yaml:"occurrence" json:"occurrence"`
}

// Client holds every client setting that shapes a measurement. Each has a
// default here, never an implicit library default, and results record them.
type Client struct {
	FetchMaxBytes          int32    `yaml:"fetch_max_bytes" json:"fetch_max_bytes"`
	FetchMaxPartitionBytes int32    `yaml:"fetch_max_partition_bytes" json:"fetch_max_partition_bytes"`
	FetchMaxWait           Duration `yaml:"fetch_max_wait" json:"fetch_max_wait_ns"`
	MaxPollRecords         int      `yaml:"max_poll_records" json:"max_poll_records"`
	Linger                 Duration `yaml:"linger" json:"linger_ns"`
	Compression            string   `yaml:"compression" json:"compression"`
	SessionTimeout         Duration `yaml:"session_timeout" json:"session_timeout_ns"`
	StaticMembership       *bool    `yaml:"static_membership" json:"static_membership"`
}

// Static reports whether static membership is on (the default).
func (c Client) Static() bool { return c.StaticMembership == nil || *c.StaticMembership }

// Defaults for fields a workload leaves out.
var defaults = Workload{
	Broker: Broker{Kind: "embedded"},
	Topic:  Topic{Partitions: 8, Records: 200_000, RecordBytes: 100, Keys: "none"},
	Client: Client{
		FetchMaxBytes:          16 << 20,
		FetchMaxPartitionBytes: 1 << 20,
		FetchMaxWait:           Duration(100 * time.Millisecond),
		MaxPollRecords:         500,
		Linger:                 0,
		Compression:            "none",
		SessionTimeout:         Duration(6 * time.Second),
	},
	Repetitions: 1,
}

// Error is a workload problem: the file, the field, what is wrong and how
// to fix it.
type Error struct {
	File, Field, Problem, Fix string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString("; " + e.Fix)
	}
	return b.String()
}

// Load reads, defaults and validates a workload file. Edits (a command
// line's overrides) apply to the file's settings before the defaults and
// the checks, which then judge the workload that will run: a broker fault
// in a file without a broker kind is valid once --broker local says where.
func Load(path string, edits ...func(*Workload)) (*Workload, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading workload: %w", err)
	}
	w, err := Parse(data, edits...)
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			se.File = path
			return nil, se
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if w.Name == "" {
		w.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return w, nil
}

// unknownField matches the decoder's complaint about a field it does not
// know, to turn it into the user's words.
var unknownField = regexp.MustCompile(`(line \d+): field (\S+) not found in type (\S+)`)

// Parse decodes a workload from YAML, applies edits, fills in defaults and
// validates it. Unknown fields are errors: a misspelt setting must not
// silently fall back to a default.
func Parse(data []byte, edits ...func(*Workload)) (*Workload, error) {
	var w Workload
	if err := decodeStrict(data, &w, map[string]string{"capacity": "this is a capacity sweep file: run it with `commitbench capacity FILE`"}); err != nil {
		return nil, err
	}
	for _, edit := range edits {
		edit(&w)
	}
	w.applyDefaults()
	if err := w.Validate(); err != nil {
		return nil, err
	}
	return &w, nil
}

// decodeStrict decodes YAML into v, every unknown field an error in the
// user's words; hints gives the fix for top-level fields that belong to
// another kind of file.
func decodeStrict(data []byte, v any, hints map[string]string) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return &Error{Problem: "the workload file is empty", Fix: "see workloads/README.md for the format"}
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := unknownField.FindStringSubmatch(msg); m != nil {
			fix := "check its spelling and place against workloads/README.md"
			if h, ok := hints[m[2]]; ok && m[3] == strings.TrimPrefix(fmt.Sprintf("%T", v), "*") {
				fix = h
			}
			return &Error{Problem: fmt.Sprintf("%s: unknown field %q", m[1], m[2]), Fix: fix}
		}
		return &Error{Problem: "malformed YAML: " + msg,
			Fix: "fix the YAML (the format is in workloads/README.md)"}
	}
	return nil
}

func (w *Workload) applyDefaults() {
	d := defaults
	if w.Broker.Kind == "" {
		w.Broker.Kind = d.Broker.Kind
	}
	if w.Broker.TopicPrefix == "" {
		w.Broker.TopicPrefix = "commitbench-"
	}
	if w.Sink.Kind == "" {
		w.Sink.Kind = "sqlite"
	}
	if w.Topic.Partitions == 0 {
		w.Topic.Partitions = d.Topic.Partitions
	}
	if w.Topic.Records == 0 {
		w.Topic.Records = d.Topic.Records
	}
	if w.Topic.RecordBytes == 0 {
		w.Topic.RecordBytes = d.Topic.RecordBytes
	}
	if w.Topic.Keys == "" {
		w.Topic.Keys = d.Topic.Keys
	}
	if w.Repetitions == 0 {
		w.Repetitions = d.Repetitions
	}
	if w.WarmupRecords == 0 {
		w.WarmupRecords = w.Topic.Records / 10
	}
	c := &w.Client
	if c.FetchMaxBytes == 0 {
		c.FetchMaxBytes = d.Client.FetchMaxBytes
	}
	if c.FetchMaxPartitionBytes == 0 {
		c.FetchMaxPartitionBytes = d.Client.FetchMaxPartitionBytes
	}
	if c.FetchMaxWait == 0 {
		c.FetchMaxWait = d.Client.FetchMaxWait
	}
	if c.MaxPollRecords == 0 {
		c.MaxPollRecords = d.Client.MaxPollRecords
	}
	if c.Compression == "" {
		c.Compression = d.Client.Compression
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = d.Client.SessionTimeout
	}
	if c.StaticMembership == nil {
		on := true
		c.StaticMembership = &on
	}
	w.applyFaultDefaults()
	w.applyGroupDefaults()
}
