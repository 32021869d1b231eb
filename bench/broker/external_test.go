package broker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/commitbench/commitbench/bench/broker"
	"github.com/commitbench/commitbench/bench/broker/brokertest"
	"github.com/commitbench/commitbench/bench/cluster"
)

func TestExternalTLSAndSCRAM(t *testing.T) {
	const secret = "s3cret-Passw0rd"
	f := brokertest.StartSecuredFake(t, "bench", secret)
	conn := cluster.Conn{
		Bootstrap: f.Cluster.ListenAddrs(),
		TLS:       &cluster.TLS{CAFile: f.CAFile},
		SASL:      &cluster.SASL{Mechanism: "SCRAM-SHA-256", Username: "bench", PasswordFile: f.PasswordFile},
	}
	ctx := context.Background()
	b, err := broker.Start(ctx, "external", broker.Options{Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	if d := b.Describe(); d.Kind != "external" || d.Brokers != 1 || !strings.HasPrefix(d.Version, "Kafka") {
		t.Errorf("description %+v", d)
	}
	if got := broker.ConnOf(b); got.SASL == nil || got.TLS == nil {
		t.Errorf("ConnOf lost the security settings: %+v", got)
	}

	// A wrong password is one clear error that does not echo it.
	t.Setenv("CB_TEST_PASSWORD", "wrong-"+secret)
	bad := conn
	bad.SASL = &cluster.SASL{Mechanism: "SCRAM-SHA-256", Username: "bench", PasswordEnv: "CB_TEST_PASSWORD"}
	_, err = broker.Start(ctx, "external", broker.Options{Conn: bad})
	if err == nil {
		t.Fatal("connected with a wrong password")
	}
	if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "SASL") {
		t.Errorf("error %q echoes the password or does not point at SASL", err)
	}

	// Without the CA, the server's certificate is not trusted.
	noCA := conn
	noCA.TLS = &cluster.TLS{}
	if _, err := broker.Start(ctx, "external", broker.Options{Conn: noCA}); err == nil {
		t.Error("trusted a self-signed certificate without its CA")
	}
	// An unset password variable is named, not guessed.
	unset := conn
	unset.SASL = &cluster.SASL{Mechanism: "PLAIN", Username: "bench", PasswordEnv: "CB_TEST_UNSET_VARIABLE"}
	if _, err := broker.Start(ctx, "external", broker.Options{Conn: unset}); err == nil || !strings.Contains(err.Error(), "CB_TEST_UNSET_VARIABLE is not set") {
		t.Errorf("unset password variable: %v", err)
	}
}
