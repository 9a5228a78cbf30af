package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/pushgate/pushgate/engine/webhook"
)

// webhookFlags are the webhook sender's settings (README "Webhooks"); the retry schedule is a
// comma list parsed after the flags.
type webhookFlags struct{ schedule *string }

func addWebhookFlags(fs *flag.FlagSet, s *webhook.Settings) webhookFlags {
	fs.DurationVar(&s.Timeout, "webhook-timeout", 15*time.Second, "bound on one webhook attempt (connect, send, response)")
	fs.BoolVar(&s.Guard.AllowPrivate, "webhook-allow-private", false, "let webhooks reach loopback, private, link-local and metadata addresses (development only; development mode already allows loopback)")
	fs.DurationVar(&s.DisableAfter, "webhook-disable-after", 120*time.Hour, "disable a webhook failing without a success for this long (negative = never)")
	fs.IntVar(&s.MaxInFlight, "webhook-max-in-flight", 4, "concurrent attempts per webhook endpoint")
	fs.IntVar(&s.MaxPending, "webhook-max-pending", webhook.DefaultMaxPending, "bound on the webhook deliveries held in memory (waiting, in flight, due for a retry; ~2 KB each with a 100 B event): beyond it, events that webhooks list are refused with 503 and Retry-After (Kafka, RabbitMQ: retried later); negative = no bound")
	fs.DurationVar(&s.BreakerCooldown, "webhook-breaker-cooldown", 30*time.Second, "how long an endpoint's circuit stays open after 5 consecutive failures (doubles, up to 20x, while probes fail)")
	fs.StringVar(&s.SecretsKey, "webhook-secrets-key", "", "seal webhook signing secrets in the store and on the Kafka config topic with this key (the same on every instance; prefer PUSHGATE_WEBHOOK_SECRETS_KEY)")
	fs.DurationVar(&s.RotationOverlap, "webhook-rotation-overlap", 24*time.Hour, "how long the previous secret keeps signing after a rotation")
	fs.BoolVar(&s.EarlyAck, "webhook-early-ack", false, "answer POST /event/v1/events before the event's webhook deliveries are durable (less CPU with few events in flight; a crash before their journal write, ~1 ms later, may lose them)")
	return webhookFlags{
		schedule: fs.String("webhook-retry-schedule", "0s,5s,5m,30m,2h,5h,10h,10h", "comma list of delays before each webhook attempt (±20% jitter); its length is the number of attempts"),
	}
}

// apply parses the retry schedule into s.
func (f webhookFlags) apply(s *webhook.Settings) error {
	var out []time.Duration
	for field := range strings.SplitSeq(*f.schedule, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(field))
		if err != nil || d < 0 {
			return fmt.Errorf("--webhook-retry-schedule: want a comma list of non-negative durations like 0s,5s,5m, got %q", *f.schedule)
		}
		out = append(out, d)
	}
	s.Schedule = out
	return nil
}
