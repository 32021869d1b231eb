package broker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/commitbench/commitbench/bench/cluster"
)

// ClientOpts returns the client options that reach the broker c names.
func ClientOpts(c cluster.Conn) ([]kgo.Opt, error) {
	if len(c.Bootstrap) == 0 {
		return nil, errors.New("no bootstrap address: set broker.bootstrap")
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Bootstrap...)}
	var tlsCfg *tls.Config
	if c.TLS != nil {
		var err error
		if tlsCfg, err = tlsConfig(c.TLS); err != nil {
			return nil, err
		}
	}
	if tlsCfg != nil || len(c.Proxies) > 0 {
		opts = append(opts, kgo.Dialer(dialer(tlsCfg, c.Proxies)))
	}
	if c.SASL != nil {
		m, err := saslMechanism(c.SASL)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// dialer reaches each broker, through its network proxy when proxies is
// set, over TLS when cfg is: the TLS session is with the broker (named by
// its own host), the proxy only forwards bytes.
func dialer(cfg *tls.Config, proxies map[string]string) func(ctx context.Context, network, host string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return func(ctx context.Context, network, host string) (net.Conn, error) {
		addr := host
		if len(proxies) > 0 {
			p, ok := proxies[host]
			if !ok {
				return nil, fmt.Errorf("broker %s is not behind the network profile's proxy (it was not in the cluster's metadata when the run began)", host)
			}
			addr = p
		}
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil || cfg == nil {
			return conn, err
		}
		c := cfg.Clone()
		if c.ServerName == "" {
			if h, _, err := net.SplitHostPort(host); err == nil {
				c.ServerName = h
			}
		}
		tc := tls.Client(conn, c)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		return tc, nil
	}
}

func tlsConfig(t *cluster.TLS) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("broker.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("broker.tls.ca_file: %s holds no PEM certificate", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("broker.tls: cert_file and key_file go together; set both or neither")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			// The error names files, never key material.
			return nil, fmt.Errorf("broker.tls: loading the client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// password reads the SASL password from where the configuration names it.
func saslPassword(s *cluster.SASL) (string, error) {
	switch {
	case s.PasswordEnv != "" && s.PasswordFile != "":
		return "", errors.New("broker.sasl: set password_env or password_file, not both")
	case s.PasswordEnv != "":
		p, ok := os.LookupEnv(s.PasswordEnv)
		if !ok {
			return "", fmt.Errorf("broker.sasl.password_env: the environment variable %s is not set", s.PasswordEnv)
		}
		return p, nil
	case s.PasswordFile != "":
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("broker.sasl.password_file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", errors.New("broker.sasl: no password source; set password_env (a variable's name) or password_file")
}

func saslMechanism(s *cluster.SASL) (sasl.Mechanism, error) {
	pass, err := saslPassword(s)
	if err != nil {
		return nil, err
	}
	switch strings.ToUpper(s.Mechanism) {
	case "PLAIN":
		return plain.Auth{User: s.Username, Pass: pass}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: s.Username, Pass: pass}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: s.Username, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("broker.sasl.mechanism: unknown %q; use one of %s", s.Mechanism, strings.Join(cluster.Mechanisms, ", "))
}

// Connector is a broker that needs more than bootstrap addresses to reach.
type Connector interface {
	Conn() cluster.Conn
}

// ConnOf returns how to reach b: its own Conn when it has one, else its
// plain bootstrap addresses.
func ConnOf(b Broker) cluster.Conn {
	if c, ok := b.(Connector); ok {
		return c.Conn()
	}
	return cluster.Conn{Bootstrap: b.Addrs()}
}
