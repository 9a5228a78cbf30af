package main

import (
	"log/slog"
	"os"
	"strings"
)

// migrateReqPath is the Linux (5.14+) switch that moves connections queued on a closing
// SO_REUSEPORT listener to another listener of the group instead of resetting them.
var migrateReqPath = "/proc/sys/net/ipv4/tcp_migrate_req"

// warnWithoutMigrateReq tells operators who share the port between processes that restarts
// will reset the connections queued on the listener being closed, and how to prevent it
// (contract.md, "Several processes"). Nothing is said where the switch does not exist.
func warnWithoutMigrateReq(log *slog.Logger) {
	b, err := os.ReadFile(migrateReqPath)
	if err != nil || strings.TrimSpace(string(b)) != "0" {
		return
	}
	log.Warn("net.ipv4.tcp_migrate_req is 0: connections queued on a listener that closes (a worker restart, a drain) are reset; set it to 1 to hand them to the other processes",
		"fix", "sysctl -w net.ipv4.tcp_migrate_req=1")
}
