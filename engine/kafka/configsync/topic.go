package configsync

import (
	"context"
	"errors"

	"github.com/pushgate/pushgate/engine/kafka/client"
)

// openTopic returns the bounds of the configuration topic, creating the topic when it is missing.
// It retries (with backoff) until the topic can be read, or returns ok=false once the sync is
// closed.
func (c *ConfigSync) openTopic() (offs map[int]client.Bounds, ok bool) {
	for attempt := 1; ; attempt++ {
		offs, err := c.cn.Offsets(c.ctx, c.cfg.ConfigTopic)
		if err == nil {
			c.tl.Resolved(c.cfg.ConfigTopic)
			c.lastErr.Store(nil)
			ctx, cancel := context.WithTimeout(c.ctx, c.cfg.PublishTimeout)
			c.cfg.CheckCompacted(ctx, c.cn)
			cancel()
			return offs, true
		}
		if c.ctx.Err() != nil {
			return nil, false
		}
		var mt *client.MissingTopic
		var te *client.TopicError
		if errors.As(err, &mt) {
			err = c.cfg.EnsureConfigTopic(c.ctx, c.cn, mt.Brokers)
		}
		switch {
		case err == nil: // created, here or by another instance: look again shortly
			attempt = 0
		case errors.As(err, &te):
			c.tl.Report(te)
		default:
			c.stats.FetchErrors.Add(1)
			c.rl.Warn("metadata", "kafka: config topic unavailable, retrying", "topic", c.cfg.ConfigTopic, "error", err)
		}
		if err != nil {
			c.lastErr.Store(&err)
		}
		if !client.SleepCtx(c.ctx, client.Backoff(max(attempt, 1), c.cfg.BackoffMax)) {
			return nil, false
		}
	}
}

// Starting reports why the configuration is not loaded yet: nil once the topic was read to the
// end once (later outages are not a start-up). API writes wait for it (StartupCheck).
func (c *ConfigSync) Starting() error {
	select {
	case <-c.ready:
		return nil
	default:
	}
	return c.Ready()
}
