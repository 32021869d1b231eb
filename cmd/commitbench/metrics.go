package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/commitbench/commitbench/bench/promexport"
)

// metricsAddrHelp is --metrics-addr's help, the same on every command.
const metricsAddrHelp = "serve Prometheus metrics at http://HOST:PORT/metrics during the run (an empty host is 127.0.0.1; port 0 picks a free one); off when empty"

// serveMetrics binds --metrics-addr before anything runs, so an address in
// use is one error up front, and serves a registry of its own on it. With
// no address it serves nothing and returns a nil registry. stop ends the
// serving.
func serveMetrics(addr string, stderr io.Writer) (reg *prometheus.Registry, stop func(), err error) {
	if addr == "" {
		return nil, func() {}, nil
	}
	ln, err := promexport.Listen(addr)
	if errors.Is(err, promexport.ErrAddrInUse) {
		return nil, nil, fmt.Errorf("--metrics-addr %s: %w; choose a free port (127.0.0.1:0 picks one) or stop what listens there", addr, err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--metrics-addr %s: %w; give host:port on this machine, e.g. 127.0.0.1:9464", addr, err)
	}
	reg = promexport.NewRegistry()
	srv := promexport.Serve(ln, reg)
	fmt.Fprintf(stderr, "metrics: %s\n", srv.URL())
	return reg, func() {
		if err := srv.Close(); err != nil {
			fmt.Fprintln(stderr, "warning: stopping the metrics endpoint:", err)
		}
	}, nil
}
