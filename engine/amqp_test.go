package engine_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/amqp/rabbit"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// RabbitMQ mode with the broker unreachable: the server starts, /readyz answers 503 with the
// reason (the URL without its password) and ingest answers 503.
func TestAMQPBrokerDownNotReadyWithReason(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there
	in := startUnready(t, engine.Config{AMQP: &rabbit.Config{URL: "amqp://push:hunter2@" + addr + "/adsp"}})
	waitfor.Check(t, 10*time.Second, func() error {
		code, _, body := call(t, "GET", in.URL()+"/readyz", "", "")
		if code != 503 {
			return fmt.Errorf("/readyz %d %s", code, body)
		}
		reason := errorMessage(t, body)
		if strings.Contains(reason, "hunter2") {
			t.Fatalf("the password is in the readiness reason: %s", reason)
		}
		if !strings.Contains(reason, "amqp://push@"+addr+"/adsp") || !strings.Contains(reason, "connection refused") {
			return fmt.Errorf("reason %q", reason)
		}
		return nil
	})
}
