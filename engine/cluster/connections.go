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

// connections lists the connections of every worker (GET /push/v1/connections on the parent),
// asking each over its socket, all at once. A worker that does not answer fails the listing: an
// operator must not mistake a partial list for the whole.
func (p *Parent) connections(f operator.Filter) ([]operator.Connection, error) {
	idx := p.Links.Workers()
	results := make([][]operator.Connection, len(idx))
	errs := make([]error, len(idx))
	var wg sync.WaitGroup
	for k, i := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[k], errs[k] = fetchConnections(WorkerSocket(p.run, i), f)
		}()
	}
	wg.Wait()
	var out []operator.Connection
	for k := range idx {
		if errs[k] != nil {
			return nil, fmt.Errorf("cluster: connections of worker %d: %w", idx[k], errs[k])
		}
		out = append(out, results[k]...)
	}
	return out, nil
}

func fetchConnections(sock string, f operator.Filter) ([]operator.Connection, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q := url.Values{}
	for k, v := range map[string]string{"tenant": f.TenantID, "stream": f.Stream, "sub": f.Subject} {
		if v != "" {
			q.Set(k, v)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://worker"+internalConnectionsPath+"?"+q.Encode(), nil)
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
	var cs []operator.Connection
	if err := json.NewDecoder(resp.Body).Decode(&cs); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return cs, nil
}
