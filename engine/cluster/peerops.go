package cluster

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/control"
	"github.com/pushgate/pushgate/engine/edge"
	"github.com/pushgate/pushgate/engine/operator"
)

// The operator routes of a Kafka-mode deployment with --cluster-listen ask every live instance
// of the directory: this instance answers from its own edge, the others over their internal
// listeners (signed like forwarded sessions, answered only with the cluster secret), so a
// connections listing and a delivery receipt cover the whole deployment.

// internalOpsPrefix is where an instance answers its peers' operator questions.
const internalOpsPrefix = "/pushgate-internal/"

// peerOpsTimeout bounds one question to one peer.
const peerOpsTimeout = 3 * time.Second

// opsHandler answers the peers' operator questions on the internal listener.
type opsHandler struct {
	gate    *Gate
	edge    *edge.Server
	control *control.Plane
}

func (h opsHandler) ServeRequest(r *conn.Request, l conn.Link) conn.WSHandler {
	now := h.gate.now()
	mac, err := verify(h.gate.secret, r.Raw, now)
	if err == nil && !h.gate.firstUse(mac, now) {
		err = errors.New("cluster: replayed request")
	}
	if err != nil {
		h.gate.Rejected.Add(1)
		l.Respond(&conn.Response{Status: 403, ContentType: "application/json", Close: true,
			Body: [][]byte{[]byte(`{"errorMessage":"cluster authentication failed"}`)}})
		return nil
	}
	var v any
	switch r.Path {
	case internalConnectionsPath:
		v = h.edge.Connections(operator.Filter{TenantID: r.Query.Get("tenant"), Stream: r.Query.Get("stream"), Subject: r.Query.Get("sub")})
	case internalReceiptPath:
		out := []operator.InstanceReceipt{}
		id := r.Query.Get("id")
		if rc, ok := h.edge.Receipt(id, r.Query.Get("sub")); ok {
			if w := h.control.Webhooks; w != nil {
				f, ok := w.EventReceipt(id)
				if !ok && rc.SourceRecord != "" {
					f, ok = w.EventReceipt(rc.SourceRecord)
				}
				if ok {
					rc.Webhooks = &operator.WebhookFigures{Queued: f.Queued, Delivered: f.Delivered, Dead: f.Dead}
				}
			}
			out = append(out, rc)
		}
		v = out
	default:
		l.Respond(&conn.Response{Status: 404, ContentType: "application/json", Body: [][]byte{[]byte(`{"errorMessage":"not found"}`)}})
		return nil
	}
	b, _ := json.Marshal(v)
	l.Respond(&conn.Response{Status: 200, ContentType: "application/json", Body: [][]byte{b}})
	return nil
}

// instanceEdges are every live instance's edges, as the control half's operator routes ask them.
type instanceEdges struct {
	i       *Instance
	edge    *edge.Server
	control *control.Plane
}

func (e instanceEdges) Connections(f operator.Filter) ([]operator.Connection, error) {
	q := url.Values{}
	for k, v := range map[string]string{"tenant": f.TenantID, "stream": f.Stream, "sub": f.Subject} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return askPeers(e, internalConnectionsPath, q, func() []operator.Connection { return e.edge.Connections(f) })
}

func (e instanceEdges) Receipts(id, sub string) ([]operator.InstanceReceipt, error) {
	q := url.Values{"id": {id}}
	if sub != "" {
		q.Set("sub", sub)
	}
	return askPeers(e, internalReceiptPath, q, func() []operator.InstanceReceipt {
		if r, ok := e.edge.Receipt(id, sub); ok {
			return []operator.InstanceReceipt{r}
		}
		return nil
	})
}

// askPeers joins this instance's answer and every other live instance's. A peer that does not
// answer fails the question: a partial answer would look whole.
func askPeers[T any](e instanceEdges, path string, q url.Values, local func() []T) ([]T, error) {
	var peers []string
	for _, p := range e.i.Peers() {
		if p.ID != e.i.ID {
			peers = append(peers, p.Addr)
		}
	}
	results := make([][]T, len(peers))
	errs := make([]error, len(peers))
	var wg sync.WaitGroup
	for k, addr := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[k], errs[k] = peerGet[T](addr, path, q, e.i.cfg.Secret)
		}()
	}
	out := local()
	wg.Wait()
	for k := range peers {
		if errs[k] != nil {
			return nil, fmt.Errorf("cluster: %s of instance at %s: %w", path, peers[k], errs[k])
		}
		out = append(out, results[k]...)
	}
	return out, nil
}

// peerGet asks one peer: a signed GET over a fresh connection, the JSON answer decoded.
func peerGet[T any](addr, path string, q url.Values, secret []byte) ([]T, error) {
	c, err := net.DialTimeout("tcp", addr, peerOpsTimeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(peerOpsTimeout))
	raw := []byte("GET " + path + "?" + q.Encode() + " HTTP/1.1\r\nHost: pushgate\r\nConnection: close\r\n\r\n")
	if _, err := c.Write(Sign(secret, raw, time.Now())); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var out []T
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return out, nil
}
