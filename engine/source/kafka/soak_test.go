//go:build soak

package kafka

import (
	"testing"
	"time"
)

// The long fault runs of reliability.md K1/K3: go test -tags soak -run Soak -v ./engine/source/kafka/

func TestSoakOutage10s(t *testing.T) {
	if r := outage(t, 10*time.Second, productionTimings); r > 2*time.Second {
		t.Errorf("resumed %s after recovery, want <= 2s", r)
	}
}

func TestSoakHang10s(t *testing.T) {
	if r := hang(t, 10*time.Second, productionTimings); r > 2*time.Second {
		t.Errorf("resumed %s after the hang, want <= 2s", r)
	}
}
