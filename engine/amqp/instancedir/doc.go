// Package instancedir is the directory of pushgate instances on RabbitMQ, for several instances
// behind a balancer without sticky sessions (README "Many instances"): the owner routing of
// engine/cluster needs to map an instance id (the prefix of its Engine.IO session ids) to its
// internal address, which Kafka mode reads from the config topic.
//
// Every instance publishes an announcement {id, addr, heartbeat, interval} every Interval to the
// durable topic exchange "pushgate.instances" (routing key "instance.<id>", transient messages),
// and a leave message when it stops gracefully. Each reads them through its own queue
// "pushgate.instances.<id>" bound with "#" (expiring 10 intervals after its consumer is gone). A
// peer is alive while its last announcement is younger than Missed of its intervals plus one
// second; announcements made before an instance's queue existed are not seen, so a new instance
// knows its peers after at most one interval.
package instancedir
