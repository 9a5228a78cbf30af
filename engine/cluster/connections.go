package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/pushgate/pushgate/engine/operator"
)

// workerEdges are the parent's view of its workers for the operator routes: each is asked over
// its socket, all at once. A worker that does not answer fails the call: an operator must not
// mistake a partial answer for the whole.
type workerEdges struct{ p *Parent }

func (w workerEdges) Connections(f operator.Filter) ([]operator.Connection, error) {
	q := url.Values{}
	for k, v := range map[string]string{"tenant": f.TenantID, "stream": f.Stream, "sub": f.Subject} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return askWorkers[operator.Connection](w.p, internalConnectionsPath, q)
}

func (w workerEdges) Receipts(id, sub string) ([]operator.InstanceReceipt, error) {
	q := url.Values{"id": {id}}
	if sub != "" {
		q.Set("sub", sub)
	}
	return askWorkers[operator.InstanceReceipt](w.p, internalReceiptPath, q)
}

func askWorkers[T any](p *Parent, path string, q url.Values) ([]T, error) {
	idx := p.Links.Workers()
	results := make([][]T, len(idx))
	errs := make([]error, len(idx))
	var wg sync.WaitGroup
	for k, i := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[k], errs[k] = fetchJSON[T](WorkerSocket(p.run, i), path, q)
		}()
	}
	wg.Wait()
	var out []T
	for k := range idx {
		if errs[k] != nil {
			return nil, fmt.Errorf("cluster: %s of worker %d: %w", path, idx[k], errs[k])
		}
		out = append(out, results[k]...)
	}
	return out, nil
}

func fetchJSON[T any](sock, path string, q url.Values) ([]T, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://worker"+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Close = true
	resp, err := unixHTTPClient(sock).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var out []T
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return out, nil
}
