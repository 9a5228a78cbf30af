// Package operator is what an operator may do to live connections: list who is listening,
// disconnect a subject, and revoke tokens (the /push/v1/connections and /push/v1/revocations
// routes). An action becomes an Order that every process of the deployment applies to its own
// connections: in one process at once; with --workers the parent passes it to every worker over
// the link (engine/cluster); in Kafka mode it travels as a record on the config topic
// (store.KindOrder), so every instance — this one included, when it reads the record back —
// applies it, and an instance that starts later still honours the revocations that have not ended.
//
// A revocation is honoured until its Until (the token's exp when the operator gives it, else
// MaxTokenLifetime after the revocation, or after IssuedBefore for a subject), by the token
// verifier (auth.Revocations: a revoked token cannot connect, reconnect or refresh) and by the hub
// (the connections opened or refreshed with it end with "token-revoked"). A disconnect ends the
// subject's current connections with "disconnected-by-admin"; the client may reconnect.
package operator
