package network

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// echo serves one line-echoing listener on loopback.
func echo(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadBytes('\n')
					if err != nil {
						return
					}
					if _, err := c.Write(line); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends a line through the proxy and waits for its echo.
func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadBytes('\n'); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// Every round trip through the proxy takes at least the profile's
// latency (a lower bound: the toxic holds each answer that long), and the
// route leads to the upstream it was started for.
func TestProxyAddsTheRoundTrip(t *testing.T) {
	up := echo(t)
	const latency = 15 * time.Millisecond
	px, err := Start(Profile{Latency: latency}, []string{up})
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	to, ok := px.Routes()[up]
	if !ok || to == up {
		t.Fatalf("routes %v: no proxy for %s", px.Routes(), up)
	}
	c, err := net.Dial("tcp", to)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for i := range 5 {
		if d := roundTrip(t, c, r); d < latency {
			t.Errorf("round trip %d took %s, below the %s the profile adds", i, d, latency)
		}
	}
}

// A profile in fractions of a millisecond is refused: toxiproxy would
// round it silently.
func TestProxyRefusesSubMillisecond(t *testing.T) {
	if _, err := Start(Profile{Latency: 1500 * time.Microsecond}, []string{"127.0.0.1:1"}); err == nil {
		t.Error("a 1.5ms latency was accepted")
	}
}

// cpuTime is this process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkProxyCPU is the proxy's own cost: the CPU this process spends
// per MB carried through a proxy with no toxic there and back (a sink
// upstream that echoes nothing but reads all), beside a direct
// connection's, reported as cpu-ms/MB. Run: go test -bench ProxyCPU
// ./bench/network.
func BenchmarkProxyCPU(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	chunk := make([]byte, 64<<10)
	for _, proxied := range []bool{false, true} {
		name := "direct"
		if proxied {
			name = "proxied"
		}
		b.Run(name, func(b *testing.B) {
			addr := ln.Addr().String()
			if proxied {
				px, err := Start(Profile{}, []string{addr})
				if err != nil {
					b.Fatal(err)
				}
				defer px.Close()
				addr = px.Routes()[addr]
			}
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.SetBytes(int64(len(chunk)))
			before := cpuTime(b)
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			mb := float64(b.N) * float64(len(chunk)) / 1e6
			b.ReportMetric(float64(cpuTime(b)-before)/1e6/mb, "cpu-ms/MB")
		})
	}
}

// BenchmarkProxyRoundTrip is what the proxy adds to a small request's
// round trip (a 100-byte line and its echo, one at a time, as a commit
// and its answer): direct, through a proxy without toxics, and with 1 ms
// of latency. ns/op is the round trip. Run: go test -bench
// ProxyRoundTrip ./bench/network.
func BenchmarkProxyRoundTrip(b *testing.B) {
	up := echo(b)
	line := append(make([]byte, 99), '\n')
	for _, tt := range []struct {
		name string
		p    *Profile
	}{{"direct", nil}, {"proxied", &Profile{}}, {"proxied-1ms", &Profile{Latency: time.Millisecond}}} {
		b.Run(tt.name, func(b *testing.B) {
			addr := up
			if tt.p != nil {
				px, err := Start(*tt.p, []string{up})
				if err != nil {
					b.Fatal(err)
				}
				defer px.Close()
				addr = px.Routes()[up]
			}
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			r := bufio.NewReader(c)
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(line); err != nil {
					b.Fatal(err)
				}
				if _, err := r.ReadBytes('\n'); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A stall passes no byte either way while it is on, keeps the connection
// open, and delivers what it held, in order, once healed; a cut resets the
// connection and a new one works after it healed.
func TestProxyStallsAndCuts(t *testing.T) {
	up := echo(t)
	px, err := Start(Profile{}, []string{up})
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	to := px.Routes()[up]
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", to)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	c, r := dial()
	roundTrip(t, c, r)

	if err := px.Stall(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("one\ntwo\n")); err != nil {
		t.Fatal(err)
	}
	// Nothing may come back while stalled. The deadline can only let a
	// broken stall pass unseen, never fail a working one.
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if line, err := r.ReadBytes('\n'); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %q, %v through a stall; want nothing until the deadline", line, err)
	}
	// After the heal the held lines come at once; the deadline only turns
	// a stall that lost them into a failure rather than a hang.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := px.Heal(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"one\n", "two\n"} {
		if line, err := r.ReadBytes('\n'); err != nil || string(line) != want {
			t.Fatalf("after the stall: read %q, %v; want %q", line, err, want)
		}
	}
	roundTrip(t, c, r) // the same connection, still open

	px.Cut()
	if _, err := r.ReadBytes('\n'); err == nil {
		t.Fatal("a connection survived the cut")
	}
	if err := px.Heal(); err != nil {
		t.Fatal(err)
	}
	c2, r2 := dial()
	roundTrip(t, c2, r2)
}
