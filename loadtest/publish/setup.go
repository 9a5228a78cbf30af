package publish

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// EnsureStream creates or replaces the stream id (public subscribe, one
// event namespace:name) through the configuration API
// (PATCH /configuration/v2/configuration/platform/push-service), using a
// token with the configuration-admin role.
func EnsureStream(ctx context.Context, c *http.Client, baseURL, token, id, namespace, name string) error {
	body := `{"operation":"UPDATE","update":{` + strconv.Quote(id) + `:{"id":` + strconv.Quote(id) +
		`,"name":` + strconv.Quote(id) + `,"publicSubscribe":true,"subscriberRoles":[],"events":[{"namespace":` +
		strconv.Quote(namespace) + `,"name":` + strconv.Quote(name) + `}]}}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch,
		strings.TrimRight(baseURL, "/")+"/configuration/v2/configuration/platform/push-service", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("create stream: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("create stream: %s: %s", resp.Status, msg)
	}
	return nil
}
