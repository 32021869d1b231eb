// Package network puts a network between the clients and the cluster: a
// userspace proxy (toxiproxy, in-process) per broker that holds the
// broker's answers for a round trip's latency, with jitter, and caps each
// connection's bandwidth both ways. Clients reach it through a dialer that
// maps each broker's address to its proxy (cluster.Conn.Proxies), so no
// broker has to advertise a proxy address and it works against an
// external cluster too. The proxy runs in the harness, not in the measured
// worker, so its CPU is the harness's.
package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// Profile is the network the proxy adds.
type Profile struct {
	// Latency is the round trip added to every request, whole
	// milliseconds (toxiproxy's unit): the broker's answers are held this
	// long.
	Latency time.Duration
	// Jitter spreads each delay uniformly over ±Jitter (≤ Latency).
	Jitter time.Duration
	// BandwidthKBps caps each connection each way, in KB/s (0: no cap).
	BandwidthKBps int64
}

// Enabled reports whether the profile changes anything.
func (p Profile) Enabled() bool {
	return p.Latency > 0 || p.Jitter > 0 || p.BandwidthKBps > 0
}

// Proxy is the running proxies, one per broker.
type Proxy struct {
	proxies []*toxiproxy.Proxy
	routes  map[string]string
}

// Start starts a proxy on loopback for each broker address (host:port)
// with the profile's toxics (a workload's network section, validated).
func Start(p Profile, brokers []string) (*Proxy, error) {
	if p.Latency%time.Millisecond != 0 || p.Jitter%time.Millisecond != 0 {
		return nil, errors.New("network profile: latency and jitter are whole milliseconds (toxiproxy's unit)")
	}
	// The API server is only the proxies' owner (their metrics and
	// logger): it listens nowhere.
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	x := &Proxy{routes: map[string]string{}}
	for i, b := range brokers {
		px := toxiproxy.NewProxy(srv, fmt.Sprintf("broker-%d", i), "127.0.0.1:0", b)
		if err := px.Start(); err != nil {
			x.Close()
			return nil, fmt.Errorf("starting the network proxy for broker %s: %w", b, err)
		}
		x.proxies = append(x.proxies, px)
		for _, t := range toxics(p) {
			if _, err := px.Toxics.AddToxicJson(strings.NewReader(t)); err != nil {
				x.Close()
				return nil, fmt.Errorf("adding toxic %s for broker %s: %w", t, b, err)
			}
		}
		x.routes[b] = px.Listen
	}
	return x, nil
}

// toxics are the profile's toxics as toxiproxy's JSON: the whole latency
// on the broker's answers (downstream), so a request's round trip grows by
// it whatever its size; the bandwidth cap both ways.
func toxics(p Profile) []string {
	var out []string
	add := func(name, kind, stream string, attrs map[string]int64) {
		b, _ := json.Marshal(map[string]any{"name": name, "type": kind, "stream": stream, "toxicity": 1.0, "attributes": attrs})
		out = append(out, string(b))
	}
	if p.Latency > 0 || p.Jitter > 0 {
		add("latency", "latency", "downstream", map[string]int64{"latency": p.Latency.Milliseconds(), "jitter": p.Jitter.Milliseconds()})
	}
	if p.BandwidthKBps > 0 {
		add("bandwidth-up", "bandwidth", "upstream", map[string]int64{"rate": p.BandwidthKBps})
		add("bandwidth-down", "bandwidth", "downstream", map[string]int64{"rate": p.BandwidthKBps})
	}
	return out
}

// Routes maps each broker's address to its proxy's.
func (x *Proxy) Routes() map[string]string { return maps.Clone(x.routes) }

// Close stops every proxy and closes its connections.
func (x *Proxy) Close() {
	for _, px := range x.proxies {
		px.Stop()
	}
	x.proxies = nil
}

// Cut partitions the clients from the cluster: every proxy closes its
// listener and every connection through it, so the clients' requests fail
// and their reconnects are refused until Heal.
func (x *Proxy) Cut() {
	for _, px := range x.proxies {
		px.Stop()
	}
}

// Heal ends a Cut: each proxy listens again on the address it had.
func (x *Proxy) Heal() error {
	for _, px := range x.proxies {
		if err := px.Start(); err != nil {
			return fmt.Errorf("healing the partition: proxy %s on %s: %w", px.Name, px.Listen, err)
		}
	}
	return nil
}
