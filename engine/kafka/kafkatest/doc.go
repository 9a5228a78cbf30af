// Package kafkatest holds the test helpers the Kafka packages share: a kfake broker that can be
// stopped and restarted on its port, a franz-go producer, a collector of delivered events, log
// capture, and CheckFor (poll a condition with a deadline). Only tests import it.
package kafkatest
