package main

import (
	"errors"
	"flag"
	"time"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/cluster"
	"github.com/pushgate/pushgate/engine/kafka/client"
)

// clusterFlags are the "Many instances" settings (README): several Kafka-mode instances behind a
// load balancer without affinity, forwarding each other the requests of their sessions.
type clusterFlags struct {
	listen, advertise, secret, id *string
	heartbeat                     *time.Duration
}

func addClusterFlags(fs *flag.FlagSet) clusterFlags {
	return clusterFlags{
		listen:    fs.String("cluster-listen", "", "internal address other instances forward session traffic to, e.g. 0.0.0.0:8091 (set = many-instances mode; needs --kafka-brokers and --cluster-secret)"),
		advertise: fs.String("cluster-advertise", "", "address the other instances dial for this one (default: --cluster-listen's, with 0.0.0.0 replaced by this host's first non-loopback address)"),
		secret:    fs.String("cluster-secret", "", "shared secret authenticating instance-to-instance requests, at least 16 bytes (prefer PUSHGATE_CLUSTER_SECRET)"),
		id:        fs.String("instance-id", "", "this instance's id in session ids, [a-z0-9-]{1,32} (default: random per start)"),
		heartbeat: fs.Duration("cluster-heartbeat", 5*time.Second, "period of this instance's announcement on the config topic; peers drop it after 3 missed"),
	}
}

// instance prepares the cluster membership (nil when --cluster-listen is empty) and sets c's
// session-id prefix and forwarding hook.
func (f clusterFlags) instance(c *engine.Config) (*cluster.Instance, error) {
	if *f.listen == "" {
		if *f.secret != "" || *f.advertise != "" {
			return nil, errors.New("--cluster-secret and --cluster-advertise need --cluster-listen")
		}
		return nil, nil
	}
	switch {
	case c.Kafka == nil && c.AMQP == nil:
		return nil, errors.New("--cluster-listen needs --kafka-brokers or --amqp-url (instances find each other on the config topic or the broker)")
	case *f.secret == "":
		return nil, errors.New("--cluster-listen needs --cluster-secret (PUSHGATE_CLUSTER_SECRET)")
	}
	if c.Kafka != nil {
		c.Kafka.Clustered = true // no "peers but no --cluster-listen" warning for this process
	}
	in, err := cluster.NewInstance(cluster.InstanceConfig{
		ID: *f.id, Listen: *f.listen, Advertise: *f.advertise, Secret: []byte(*f.secret), Kafka: kafkaOrZero(c), AMQP: c.AMQP, Logger: c.Logger, Heartbeat: *f.heartbeat,
	})
	if err != nil {
		return nil, err
	}
	return in, nil
}

func kafkaOrZero(c *engine.Config) client.Config {
	if c.Kafka == nil {
		return client.Config{}
	}
	return *c.Kafka
}
