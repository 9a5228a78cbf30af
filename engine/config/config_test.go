package config

import (
	"testing"
	"time"
)

// Every assembly applies the same defaults, once: the drain window, the ping settings (which the
// forwarders' timeout derives from) — and a negative drain closes everyone at once in every mode.
func TestDefaultsAppliedOnceForEveryMode(t *testing.T) {
	var c Config
	c.ApplyDefaults()
	if c.DrainTimeout != 10*time.Second || c.PingInterval != 25*time.Second || c.PingTimeout != 20*time.Second {
		t.Fatalf("defaults: drain %v ping %v/%v", c.DrainTimeout, c.PingInterval, c.PingTimeout)
	}
	if c.DrainWindow() != 10*time.Second || c.ForwardTimeout() != 55*time.Second {
		t.Fatalf("drain window %v, forward timeout %v", c.DrainWindow(), c.ForwardTimeout())
	}
	again := c
	again.ApplyDefaults()
	if again.DrainTimeout != c.DrainTimeout || again.PingInterval != c.PingInterval {
		t.Fatal("ApplyDefaults is not idempotent")
	}
	neg := Config{DrainTimeout: -1}
	neg.ApplyDefaults()
	if neg.DrainTimeout != -1 || neg.DrainWindow() != 0 {
		t.Fatalf("a negative drain must mean at once: timeout %v window %v", neg.DrainTimeout, neg.DrainWindow())
	}
}
