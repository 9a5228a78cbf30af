package client

import "time"

// SetNow replaces the clock of o (tests only).
func SetNow(o *Outage, now func() time.Time) { o.now = now }
