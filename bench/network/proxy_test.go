package network

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// echo serves one line-echoing listener on loopback.
func echo(t *testing.T) string {
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
