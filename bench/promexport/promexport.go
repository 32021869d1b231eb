// Package promexport serves what a run or a capacity sweep has measured so
// far as Prometheus metrics: progress, the last finished point's
// throughput and commit latency, the replays per crash, and a capacity
// sweep's steps. It reads only what the harness already has — the
// progress events and each finished Result or step — so nothing is added
// to a worker's per-record path. Every metric lives in a registry of its
// own (no global state); Listen binds the address before anything runs.
package promexport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Path is where the metrics are served.
const Path = "/metrics"

// ErrAddrInUse: something listens on the address already.
var ErrAddrInUse = errors.New("the address is already in use")

// NewRegistry returns a registry of its own holding this process's Go
// runtime and process metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Listen binds addr (host:port; an empty host is 127.0.0.1, so the
// metrics stay on loopback unless a host is named). Port 0 picks a free
// port; the listener's Addr says which.
func Listen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%s: %w", net.JoinHostPort(host, port), ErrAddrInUse)
	}
	if err != nil {
		return nil, err
	}
	return ln, nil
}

// Server serves a registry's metrics on a listener.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Serve serves reg at Path on ln until Close.
func Serve(ln net.Listener, reg *prometheus.Registry) *Server {
	mux := http.NewServeMux()
	mux.Handle(Path, promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln, done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s
}

// URL is where the metrics can be scraped.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + Path }

// Close stops serving, letting a scrape in progress finish for a moment.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
