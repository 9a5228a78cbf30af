package main

import (
	"flag"
	"strings"
	"testing"

	"github.com/pushgate/pushgate/engine/config"
	"github.com/pushgate/pushgate/engine/kafka/client"
)

func TestAMQPFlags(t *testing.T) {
	parse := func(args ...string) (config.Config, error) {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		af := addAMQPFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		var c config.Config
		return c, af.apply(&c)
	}
	c, err := parse("--amqp-url", "amqps://push:secret@rabbit:5671/adsp")
	if err != nil || c.AMQP == nil || c.AMQP.Exchange != "domain-events" || c.AMQP.URL != "amqps://push:secret@rabbit:5671/adsp" {
		t.Fatalf("parsed %+v, %v", c.AMQP, err)
	}
	if c, err := parse(); err != nil || c.AMQP != nil {
		t.Fatalf("no --amqp-url: %+v, %v", c.AMQP, err)
	}
	if _, err := parse("--amqp-url", "http://rabbit"); err == nil {
		t.Fatal("an http:// URL was accepted")
	}
	// With Kafka too: a start-up error.
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	af := addAMQPFlags(fs)
	_ = fs.Parse([]string{"--amqp-url", "amqp://rabbit/"})
	c = config.Config{Kafka: &client.Config{Brokers: []string{"k:9092"}}}
	if err := af.apply(&c); err == nil || !strings.Contains(err.Error(), "choose one") {
		t.Fatalf("AMQP and Kafka at once: %v", err)
	}
}
