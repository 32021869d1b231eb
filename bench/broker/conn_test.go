package broker

import (
	"context"
	"net"
	"strings"
	"testing"
)

// Behind a network profile, the dialer reaches a broker through its proxy
// and refuses one that has none, rather than reaching it around the
// profile.
func TestDialerRoutesThroughProxies(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := dialer(nil, map[string]string{"broker-a:9092": ln.Addr().String()})
	c, err := dial(context.Background(), "tcp", "broker-a:9092")
	if err != nil {
		t.Fatalf("dialing a proxied broker: %v", err)
	}
	c.Close()
	if _, err := dial(context.Background(), "tcp", ln.Addr().String()); err == nil || !strings.Contains(err.Error(), "not behind the network profile's proxy") {
		t.Errorf("dialing a broker with no proxy: %v, want a refusal", err)
	}
}
