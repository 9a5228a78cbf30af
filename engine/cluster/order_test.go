package cluster

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/operator"

	"github.com/pushgate/pushgate/internal/waitfor"
)

type orderRecorder struct {
	mu  sync.Mutex
	ids []string
}

func (r *orderRecorder) add(o *operator.Order) {
	r.mu.Lock()
	r.ids = append(r.ids, o.ID)
	r.mu.Unlock()
}

func (r *orderRecorder) want(ids ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if fmt.Sprint(r.ids) != fmt.Sprint(ids) {
		return fmt.Errorf("orders %v, want %v", r.ids, ids)
	}
	return nil
}

// Operator orders reach every worker (--workers): live, and — for the revocations still in
// force — a worker that connects later too; a disconnect is not replayed to it.
func TestLinkCarriesOperatorOrders(t *testing.T) {
	s, path := startLink(t, LinkConfig{})
	c1, _ := dialReady(t, path, 1)
	var r1 orderRecorder
	c1.OnOrder(r1.add)
	now := time.Now()
	s.Order(&operator.Order{ID: "d1", Kind: operator.KindDisconnect, TenantID: "t", Subject: "u", At: now})
	s.Order(&operator.Order{ID: "r1", Kind: operator.KindRevoke, TokenID: "j", Until: now.Add(time.Hour), At: now})
	s.Order(&operator.Order{ID: "r0", Kind: operator.KindRevoke, TokenID: "old", Until: now.Add(-time.Second), At: now})
	waitfor.Check(t, 5*time.Second, func() error { return r1.want("d1", "r1") })

	c2, _ := dialReady(t, path, 2)
	var r2 orderRecorder
	waitfor.Check(t, 5*time.Second, func() error {
		if n := c2.orders.InForce(); n != 1 {
			return fmt.Errorf("%d revocations in force on the new worker", c2.orders.InForce())
		}
		return nil
	})
	c2.OnOrder(r2.add)
	if err := r2.want("r1"); err != nil {
		t.Error(err)
	}
}
