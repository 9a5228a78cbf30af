package transport

import (
	"testing"

	"github.com/pushgate/pushgate/engine/conn"
)

// refusingLink refuses every item, telling why when it can.
type refusingLink struct {
	fakeLink
	why conn.Outcome
}

func (l *refusingLink) Enqueue([]byte) bool                { return false }
func (l *refusingLink) EnqueueOutcome([]byte) conn.Outcome { return l.why }

type plainRefusingLink struct{ fakeLink }

func (l *plainRefusingLink) Enqueue([]byte) bool { return false }

// A drop says whether the connection was a slow consumer or closed already; a link that cannot
// tell counts as a slow consumer (its Enqueue refuses only over the cap once it is open).
func TestEnqueueOutcome(t *testing.T) {
	ok := &fakeLink{}
	if l, o := EnqueueOutcome(ok, []byte("x")); o != conn.Queued || l != ok {
		t.Errorf("queued: %v %v", l, o)
	}
	for _, why := range []conn.Outcome{conn.DroppedSlow, conn.DroppedClosed} {
		if l, o := EnqueueOutcome(&refusingLink{why: why}, []byte("x")); o != why || l != nil {
			t.Errorf("refused (%v): %v %v", why, l, o)
		}
	}
	if _, o := EnqueueOutcome(&plainRefusingLink{}, []byte("x")); o != conn.DroppedSlow {
		t.Errorf("plain refusal: %v", o)
	}
}
