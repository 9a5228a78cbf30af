package push

import (
	"testing"
	"time"
)

// A socket that disconnects before its OnConnect ran (a client closing at once) must not keep an
// expiry timer, and a refresh after the disconnect must not arm one either: each would hold the
// member until the token's exp.
func TestNoExpiryTimerAfterDisconnect(t *testing.T) {
	m := &member{d: &Deps{}, exp: time.Now().Add(time.Hour)}
	m.mu.Lock()
	m.left = true // what OnDisconnect sets
	m.mu.Unlock()
	m.armExpiry() // OnConnect, late
	m.armExpiry() // a refresh, late
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.timer != nil {
		m.timer.Stop()
		t.Fatal("an expiry timer was armed for a socket that already left")
	}
}
