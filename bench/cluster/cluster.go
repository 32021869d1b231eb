// Package cluster is the ground floor's word for a Kafka cluster: what it
// is (the Description every result records) and how a client reaches it
// (Conn, with TLS and SASL named but never holding a secret). It is plain
// data: the workload, the results and the analysis use it without linking
// a Kafka client; the broker providers fill it in.
package cluster

import (
	"fmt"
	"strings"
	"time"
)

// Description says what a broker is; it is recorded with every result.
type Description struct {
	// Kind is the provider: embedded, local, container or external.
	Kind string `json:"kind"`
	// Version is the broker software and its version.
	Version string `json:"version"`
	// Brokers is the number of broker nodes.
	Brokers int `json:"brokers"`
	// OffsetsReplication is the replication factor of __consumer_offsets.
	OffsetsReplication int `json:"offsets_replication"`
	// EmulatedCommitDelayNs is the delay the harness adds to each request
	// in EmulatedDelayRequests (embedded only), 0 when commits run at the
	// broker's own speed.
	EmulatedCommitDelayNs int64    `json:"emulated_commit_delay_ns"`
	EmulatedDelayRequests []string `json:"emulated_delay_requests,omitempty"`
	// NetworkLatencyNs and NetworkJitterNs are the round trip the
	// harness's network proxy adds to every client connection, and its
	// spread; NetworkBandwidthKBps its cap each way (0: none).
	NetworkLatencyNs     int64 `json:"network_latency_ns,omitempty"`
	NetworkJitterNs      int64 `json:"network_jitter_ns,omitempty"`
	NetworkBandwidthKBps int64 `json:"network_bandwidth_kbps,omitempty"`
	// Note warns how the broker differs from production Kafka.
	Note string `json:"note,omitempty"`
	// StartupSeconds is how long the provider took to bring the broker up
	// (0 for one it only connected to). A measurement, not a setting.
	StartupSeconds float64 `json:"startup_s,omitempty"`
}

// Measured lists the Description's fields (by JSON name) that are
// measurements rather than settings: they may differ between comparable
// runs.
var Measured = []string{"startup_s"}

// Label is a short human label such as "embedded kfake v0.0.0-… (1 broker,
// +2ms emulated commit latency)".
func (d Description) Label() string {
	s := fmt.Sprintf("%s %s (%s", d.Kind, d.Version, plural(d.Brokers, "broker"))
	if d.EmulatedCommitDelayNs > 0 {
		s += ", " + d.DelayNote()
	}
	if n := d.NetworkNote(); n != "" {
		s += ", " + n
	}
	return s + ")"
}

// NetworkNote says what the network proxy added, e.g. "+3ms±1ms round
// trip, 10000 KB/s (toxiproxy)"; empty without one.
func (d Description) NetworkNote() string {
	if d.NetworkLatencyNs == 0 && d.NetworkJitterNs == 0 && d.NetworkBandwidthKBps == 0 {
		return ""
	}
	var parts []string
	if d.NetworkLatencyNs > 0 || d.NetworkJitterNs > 0 {
		s := "+" + time.Duration(d.NetworkLatencyNs).String()
		if d.NetworkJitterNs > 0 {
			s += "±" + time.Duration(d.NetworkJitterNs).String()
		}
		parts = append(parts, s+" round trip")
	}
	if d.NetworkBandwidthKBps > 0 {
		parts = append(parts, fmt.Sprintf("%d KB/s", d.NetworkBandwidthKBps))
	}
	return strings.Join(parts, ", ") + " (toxiproxy)"
}

// DelayNote says which requests the harness delayed and by how much, e.g.
// "+2ms emulated latency on OffsetCommit, TxnOffsetCommit, EndTxn (database
// commits not delayed)"; empty without a delay.
func (d Description) DelayNote() string {
	if d.EmulatedCommitDelayNs <= 0 {
		return ""
	}
	reqs := "OffsetCommit" // what results before the list recorded
	if len(d.EmulatedDelayRequests) > 0 {
		reqs = strings.Join(d.EmulatedDelayRequests, ", ")
	}
	return fmt.Sprintf("+%s emulated latency on %s (database commits not delayed)", time.Duration(d.EmulatedCommitDelayNs), reqs)
}

// KindEmbedded is the in-process fake broker (franz-go's kfake).
const KindEmbedded = "embedded"

// CPUSource says whose CPU time a result's broker_cpu_s is: kfake runs
// inside the harness process, so there it is that whole process's.
func (d Description) CPUSource() string {
	if d.Kind == KindEmbedded {
		return "the harness process, which the embedded broker shares"
	}
	return "the broker processes"
}

func plural(n int, s string) string {
	if n == 1 {
		return "1 " + s
	}
	return fmt.Sprintf("%d %ss", n, s)
}

// Conn is how a client reaches a broker: the bootstrap addresses and, for
// a secured cluster, TLS and SASL. It travels to worker processes, so it
// holds no secret: a password is named by the environment variable or the
// file that holds it, and read where a client is built.
type Conn struct {
	Bootstrap []string `json:"bootstrap" yaml:"bootstrap"`
	TLS       *TLS     `json:"tls,omitempty" yaml:"tls"`
	SASL      *SASL    `json:"sasl,omitempty" yaml:"sasl"`
	// Proxies, when set, routes every connection through the harness's
	// network proxy: each broker's address (host:port) to its proxy's. A
	// broker missing from it is refused rather than reached around the
	// network profile.
	Proxies map[string]string `json:"proxies,omitempty" yaml:"-"`
}

// TLS configures an encrypted connection. Empty files mean the system's
// roots and no client certificate.
type TLS struct {
	CAFile     string `json:"ca_file,omitempty" yaml:"ca_file"`
	CertFile   string `json:"cert_file,omitempty" yaml:"cert_file"`
	KeyFile    string `json:"key_file,omitempty" yaml:"key_file"`
	ServerName string `json:"server_name,omitempty" yaml:"server_name"`
}

// SASL configures authentication. The password comes from PasswordEnv (an
// environment variable's name) or PasswordFile, never from the
// configuration itself.
type SASL struct {
	Mechanism    string `json:"mechanism" yaml:"mechanism"` // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
	Username     string `json:"username" yaml:"username"`
	PasswordEnv  string `json:"password_env,omitempty" yaml:"password_env"`
	PasswordFile string `json:"password_file,omitempty" yaml:"password_file"`
}

// Mechanisms are the SASL mechanisms commitbench speaks.
var Mechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}
