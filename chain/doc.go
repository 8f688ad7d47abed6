// Package chain makes an audit trail tamper-evident: a store given a
// [Writer] (postgres.Options.Chain, sqlite.Options.Chain) writes, in the
// transaction of every batch, a record of the batch into the table
// chain_digests, and [Verify] (auditctl verify) recomputes the records from
// the tables and reports what was changed, deleted or inserted.
//
// # Records
//
// A record holds the writer's id, its sequence number (1, 2, ... per
// writer), its time, the number of events and the times of the first and
// last, the SHA-256 of the writer's previous record, and the SHA-256 of its
// entries: one per event the transaction inserted, by id, with the event's
// time, level and the SHA-256 of a canonical encoding of the event as
// stored (its events row but digest_id, the name of its event type, and each
// param value row with its param's name and type, as written after
// redaction and text repair). The record's own SHA-256 covers all of these,
// and, with a [Key], is signed (Ed25519, or HMAC-SHA256). Each event names
// its record in events.digest_id.
//
// A retried batch (see the stores' Write) gets a record of exactly the
// events its transaction inserted: events stored by an earlier attempt are
// in that attempt's record, none in two, none in no record. The
// datagrok-started events the stores write themselves, one per session,
// are in no record; Verify counts them apart, and checks that each has the
// id derived from its session, the right type and no params, so that such
// an event cannot be forged freely.
//
// # Model
//
// The chain is CloudTrail's: a hash chain of per-batch digests, rather than
// a Merkle tree as Certificate Transparency and Trillian keep. A batch is
// already the unit of the store's transaction, so one record per batch
// costs one INSERT and hashing in Go; verification reads everything once,
// which a trail checked in full (not by inclusion proofs for single events)
// needs anyway. A tree would add proofs of inclusion and of consistency
// between two heads that no reader of this trail asks for.
//
// # What it proves, and what not
//
// Verify detects, for the events a chained store wrote:
//   - any change to an event's stored rows (message, user, session, time,
//     level, type, param values, param and type names);
//   - an event deleted (its entry has no event), unless a retention
//     expiry record covers its level and time ([Writer] via the stores'
//     RecordExpiry): then it is counted as expired;
//   - an event inserted around the writer (in no record, or naming a record
//     that does not list it);
//   - records deleted, altered or reordered (gaps in seq, broken links,
//     hashes that do not match), and, with a key, records not signed with it;
//   - with checkpoints exported to a place the database's owner cannot
//     change (a file on another machine, CloudWatch through
//     Options.CheckpointSink): the end of the chain cut off, and the chain
//     rewritten wholesale, up to the last checkpoint.
//
// It does not detect:
//   - a rewrite by someone who holds the signing key (or, without a key,
//     anyone who can write the tables) of everything after the last
//     exported checkpoint, or the tail cut without checkpoints;
//   - events never written (the process stopped, the queue dropped them:
//     see the Logger's Stats), and anything the writing process itself was
//     made to log;
//   - changes to rows outside events (users_sessions, users, groups).
//
// # Setup
//
// Run the service's store as a role that may only insert and read
// ("auditctl migrate --grant-writer ROLE": INSERT and SELECT on every
// table, chain_digests included), and the readers as another
// ("--grant-reader"); run migrations and retention as the owner. Keep the
// signing key with the service only (an Ed25519 private key from
// "openssl genpkey -algorithm ed25519", read with [ParseKey]), and give
// verifiers the public key ("openssl pkey -pubout"). Send checkpoints
// somewhere the database's owner cannot write, and run
// "auditctl verify --key pub.pem --checkpoint checkpoints.jsonl"
// regularly: it exits 5 when anything is wrong.
//
// Verify reads one snapshot. It streams the events by id and their values
// by event (in the primary keys' order: no join, no sort), and rebuilds
// each record's entries hash as it goes; only a record that does not match
// is read again, entry by entry, to name what changed. Its memory holds one
// hash state per record (about 200 bytes for a batch of up to thousands of
// events) and a few pages of rows, none per event. On Postgres the two
// streams read on two more connections of the store's pool, which import
// the snapshot (pg_export_snapshot) and are decoded ahead in goroutines,
// so that the server and the hashing overlap; through a pgx pool
// (postgres.NewPool) the rows come in binary format, which is the
// fastest (BENCHMARKS.md). A pool that cannot give those connections (a
// limit under three, or none free within half a second) gets server-side
// cursors in the one transaction instead.
package chain
