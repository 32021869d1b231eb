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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
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
	// cut and stalled say which partition is on, for Heal.
	cut, stalled bool
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
		for _, t := range profileToxics(p) {
			if _, err := px.Toxics.AddToxicJson(strings.NewReader(t)); err != nil {
				x.Close()
				return nil, fmt.Errorf("adding toxic %s for broker %s: %w", t, b, err)
			}
		}
		x.routes[b] = px.Listen
	}
	return x, nil
}

// profileToxics are the profile's toxics as toxiproxy's JSON: the whole latency
// on the broker's answers (downstream), so a request's round trip grows by
// it whatever its size; the bandwidth cap both ways.
func profileToxics(p Profile) []string {
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
	x.cut = true
}

// Stall partitions the clients from the cluster the other way a network
// fails: every connection stays open and no byte gets through either way
// until Heal, when the held bytes go on in order — a black hole that
// heals, with no reset for the client to notice. New connections are
// accepted and stall too.
func (x *Proxy) Stall() error {
	for _, px := range x.proxies {
		for _, dir := range []string{"upstream", "downstream"} {
			t := fmt.Sprintf(`{"name": "stall-%s", "type": %q, "stream": %q, "toxicity": 1.0}`, dir, holdType, dir)
			if _, err := px.Toxics.AddToxicJson(strings.NewReader(t)); err != nil {
				return fmt.Errorf("stalling proxy %s: %w", px.Name, err)
			}
		}
	}
	x.stalled = true
	return nil
}

// Heal ends a Cut (each proxy listens again on the address it had) or a
// Stall (the held bytes go on).
func (x *Proxy) Heal() error {
	for _, px := range x.proxies {
		switch {
		case x.cut:
			if err := px.Start(); err != nil {
				return fmt.Errorf("healing the partition: proxy %s on %s: %w", px.Name, px.Listen, err)
			}
		case x.stalled:
			for _, dir := range []string{"upstream", "downstream"} {
				if err := px.Toxics.RemoveToxic(context.Background(), "stall-"+dir); err != nil {
					return fmt.Errorf("healing the stall: proxy %s: %w", px.Name, err)
				}
			}
		}
	}
	x.cut, x.stalled = false, false
	return nil
}

// holdType is the toxic type of a stall, registered in toxiproxy's
// registry of toxic types (the library keeps it; there is no other way to
// add a type).
const holdType = "commitbench-hold"

func init() { toxics.Register(holdType, new(hold)) }

// hold is a toxic that passes nothing on until it is removed, then passes
// on everything it held, in order. toxiproxy's timeout toxic drops what
// it stops and closes the connection when removed: a reset after all.
type hold struct{}

// Pipe holds every chunk until interrupted (the toxic's removal, or the
// chain changing), then writes them out, as toxiproxy's latency toxic
// does with the chunk it delays.
func (hold) Pipe(stub *toxics.ToxicStub) {
	var held []*stream.StreamChunk
	for {
		select {
		case <-stub.Interrupt:
			for _, c := range held {
				stub.Output <- c
			}
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			held = append(held, c)
		}
	}
}
