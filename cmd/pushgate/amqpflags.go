package main

import (
	"errors"
	"flag"

	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/config"
)

// amqpFlags are the RabbitMQ source's settings (README "RabbitMQ (ADSP event service)").
type amqpFlags struct{ url, exchange, ca *string }

func addAMQPFlags(fs *flag.FlagSet) amqpFlags {
	return amqpFlags{
		url:      fs.String("amqp-url", "", "RabbitMQ URL amqp://user:password@host:5672/vhost (amqps:// for TLS); set = RabbitMQ source, as the ADSP push-service (prefer PUSHGATE_AMQP_URL: it holds the password)"),
		exchange: fs.String("amqp-exchange", rabbit.DefaultExchange, "events exchange, asserted as a durable topic exchange"),
		ca:       fs.String("amqp-tls-ca", "", "PEM CA bundle trusted for amqps:// besides the system roots"),
	}
}

// apply sets c.AMQP when --amqp-url is given; with --kafka-brokers too it is an error.
func (f amqpFlags) apply(c *config.Config) error {
	if *f.url == "" {
		return nil
	}
	if c.Kafka != nil {
		return errors.New("--amqp-url and --kafka-brokers: choose one event source")
	}
	rc := rabbit.Config{URL: *f.url, Exchange: *f.exchange, CAFile: *f.ca}
	if err := rc.Validate(); err != nil {
		return err
	}
	c.AMQP = &rc
	return nil
}
