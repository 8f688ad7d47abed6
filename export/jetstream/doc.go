// Package jetstream carries audit events from many services to one audit
// trail through a NATS JetStream stream: a [Sink] publishes each service's
// events, and [Collector]s write them to the store.
//
// # Direct or through JetStream
//
// Write directly (Options.Store of the Logger) when a few services can reach
// the database, and its outages are short enough for the Logger's queue or
// spool. Go through JetStream when many services (or short-lived jobs) log
// to one trail: they need no database credentials nor connections, a
// database outage or migration stalls only the collectors while the stream
// keeps the events (on disk, replicated), and the database sees a few large
// batches from the collectors instead of many small ones.
//
// # Deployment and guarantees
//
//	service ─Sink─▶ ┌───────────────────┐            ┌───────────┐
//	service ─Sink─▶ │ JetStream cluster │ ─fetch──▶  │ collector │ ─COPY─▶ Postgres
//	service ─Sink─▶ │  stream AUDIT, R3 │ ◀─ack───   │ collector │
//	                └───────────────────┘            └───────────┘
//
// Service → stream: the Sink publishes each event as its one JSON shape
// ([audit.Event.MarshalJSON]) to "audit.<level>.<type>" with the header
// Nats-Msg-Id set to the event's ID, and counts it delivered only when the
// stream acknowledged it (stored on a majority of the replicas). A publish
// that fails or times out is sent again with the same ID, so the stream's
// duplicate window ([Stream].Duplicates) stores it once. What the Logger
// could not deliver before its retries ran out is counted failed in its
// Stats; an event the stream refuses for good (too large) is reported and
// returned as an [*audit.PartialError].
//
// Stream → collector → Postgres: the collectors share one durable pull
// consumer, so each message goes to one of them at a time. A collector
// writes a fetched batch with [audit.Store.Write] and acknowledges its
// messages only after Write returned nil. A collector that dies before
// acknowledging loses nothing: the messages are delivered again after the
// consumer's AckWait, to any collector; and Write is idempotent on the event
// ID (a COPY whose duplicates are ignored), so a batch written twice is
// stored once. A message that does not decode as an event, or whose event
// the store refuses for good, is terminated (never delivered again), counted
// in [CollectorStats].Poison and reported as a [*PoisonError]: it cannot
// block the stream. End to end, each event is stored exactly once, from a
// Logger call to a row, as long as the stream keeps it (its MaxAge and
// MaxBytes limits) until a collector writes it.
//
// When a node of the cluster dies, the stream and the consumer elect new
// leaders among the others. Publishes the dead leader did not acknowledge
// time out (Options.AckTimeout) and are sent again, one event first until
// the new leader answers; a collector whose pull request died with the
// consumer's leader misses the server's heartbeats for two seconds and pulls
// again. Both resume within seconds of the election, and nothing is lost or
// stored twice.
//
// Command auditctl runs a collector: auditctl collect --from nats://...
// --stream AUDIT --to postgres://...
//
// Sink and Collector live in one package because they share the stream's
// configuration, the subject scheme and the message format, which must
// agree between the two ends.
//
// # Kafka
//
// Only JetStream is built. A Kafka transport would need the same three
// properties: an idempotent producer (enable.idempotence) keyed by the event
// ID, so retries and partition placement do not duplicate; a consumer group
// for the collectors, so partitions split the work; and offsets committed
// only after the store's Write returned nil (auto-commit off), so a
// collector that dies re-reads what it had not stored. Kafka has no
// per-message termination: poison messages would go to a dead-letter topic.
package jetstream
