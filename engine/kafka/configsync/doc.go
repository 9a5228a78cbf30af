// Package configsync replicates the configuration (tenants, stream documents, webhook endpoint
// state) through the compacted config topic: each instance's store publishes its records there and
// applies the others'. It creates the topic on a fresh cluster (engine/kafka/client's topic admin)
// and skips the instance announcements that share the topic (engine/kafka/directory's keys: the
// one dependency between these packages), warning once when a peer announces itself to a process
// that is not clustered.
//
// Tenants and stream documents replicate through the compacted config topic (default
// "pushgate.config", one partition): key = kind + ":" + key (e.g. "config:core",
// "tenant:urn:ads:…"), value = the JSON of store.Record. ConfigSync.Replicate is the store's
// Options.Replicate (called before the local commit; a failure fails the API call). Start reads
// the whole topic from the beginning into store.ApplyRemote, is Ready once it reached the
// high-water marks seen at start, then publishes the local records the topic lacks (the first start
// of an instance) and keeps applying new records live. Conflict rules are store.ApplyRemote's.
//
// Webhook endpoint state (kind "webhook", key "webhook:" + engine/webhook's endpoint key, which may
// hold any character) rides the same topic; for it the FIRST record of a version wins, while
// compaction keeps a key's LAST record. So when a webhook record was refused and is still the last
// one read for its key, ConfigSync republishes the winner (store.WebhookConflictError.Repair) after
// a jittered wait of about a second, begun only once the topic was read up to the start (a refusal in
// the history is already followed by its repair); the copy is a no-op everywhere and becomes the
// record compaction keeps.
//
// # The configuration topic
//
// ConfigSync creates it when the metadata answer lacks it (unless Config.DisableTopicCreation),
// as engine/kafka/client describes; Starting reports why the configuration is not loaded yet, and
// client.StartupCheck turns it into the API's write gate.
package configsync
