// Package rabbittest runs a throw-away RabbitMQ broker for the tests: Debian's rabbitmq-server
// (installed by `make rabbitmq-deps`), started on free ports with its own node name, data, log and
// configuration files and Erlang cookie (a temporary HOME), and stopped after. epmd is shared (the
// node name is unique). One broker per test package: start it in TestMain with Main.
package rabbittest
