// Package deploy holds the deployment kit — no Go code: Dockerfile (static binary, non-root,
// distroless), Kubernetes manifests (kubernetes/), Prometheus alert rules (prometheus/) and a
// Grafana dashboard (grafana/). docs/DEPLOY.md explains them. deploy_test.go keeps the kit honest:
// the flags and ports it uses exist in the binary, the probes and the grace period match the
// server's routes and --drain-timeout, every metric the dashboard and the rules query is exported
// by a running Kafka-mode server in each way it runs (one process, --workers 2, Kafka instances),
// and the rules pass `promtool check rules`.
package deploy
