// Package cloudwatch exports audit events to Amazon CloudWatch Logs, as
// Datagrok's export blocks do, through aws-sdk-go-v2's cloudwatchlogs client.
//
// An [Exporter] is an [audit.Sink]: give it to the Logger, which hands it
// batches from its own queue and goroutine, or call [Exporter.Send] directly.
//
// # Blocks
//
// [Options.Blocks] are matched in order; the first enabled block whose levels
// and record types match an event takes it (put specific blocks before
// general ones). An event no block takes is not exported (counted in
// [Stats].Unmatched). A block names the log group, the stream per record
// type with a default stream, the params that go along, the batch size, the
// format (a JSON object or a text line), and optionally its own connection.
// The connection is an aws.Config (the standard credential chain, an assumed
// role or static keys) or a ready client ([API]).
//
// Every message carries the event's ID: the "id" field in JSON, a leading
// "[id]" in text. Strings are made valid UTF-8 without NUL by [audit.Text].
//
// # What Send does
//
// Send delivers before it returns; the exporter keeps no queue of its own
// (the Logger has one per sink). For each block and stream it sorts the
// events by time (stable, so events logged in the same millisecond keep
// their order) and cuts them into requests that keep every rule of
// PutLogEvents: at most BatchSize (10,000) events, at most 1,048,576 bytes
// counted as UTF-8 bytes + 26 per event, spanning less than 24 hours. An
// event over the per-event limit ([Options.MaxEventSize]: 1 MiB, or 256 KiB
// for the limit before April 2025) is truncated at a UTF-8 boundary with a
// visible "…[truncated N bytes]" marker, or split into parts that each start
// with "[id k/n] " ([Options.Oversize]).
//
// Events the service would reject for their time are held back and reported:
// older than 14 days ([ErrTooOld]), older than the block's Retention
// ([ErrExpired]), more than 2 hours ahead of [Options.Now] ([ErrTooNew]).
// Their timestamps are never changed: an audit record keeps its time. Events
// the service rejects anyway (rejectedLogEventsInfo in an HTTP 200, with its
// index semantics) are reported the same way.
//
// A missing stream is created when PutLogEvents says it is missing, and the
// group only when the stream's creation says the group is missing, so a
// role without logs:CreateLogGroup works when the group exists. The exporter
// never asks whether a stream exists: while PutLogEvents succeeds it is
// known to, so there is nothing to cache and no extra call.
//
// Throttling, 5xx answers and connection failures are retried, each call
// at most [Options.MaxAttempts] times with exponential backoff and full
// jitter. A request the service refuses as invalid (InvalidParameterException)
// is cut in halves until the poison events are alone; they are reported
// ([ErrPoison]) and the others delivered.
//
// # Errors and losses
//
// Losses that retrying cannot fix (too old, expired, too new, poison) go to
// [Options.OnError] as an [*EventsError] with the events' IDs, and are
// counted in [Stats]. When they are Send's only losses, Send returns an
// [*audit.PartialError] with their number, which the Logger counts as failed
// in its own Stats without retrying or reporting them again. Send returns
// another error only
// for events it could not deliver but a later Send might: the service kept
// failing past the retries, the connection failed, the block's credentials
// were refused, or ctx ended. That error wraps [audit.ErrUnavailable] when
// the cause is transient. After such an error the Logger sends the batch
// again; the exporter remembers which events of it were already delivered
// (or reported) and does not send them twice.
//
// Delivery is at least once: when the service stored a request but the
// answer was lost (the connection dropped), the exporter cannot know and
// sends it again. Each message's event ID lets readers drop the duplicate.
//
// # Shutdown
//
// [Exporter.Close] refuses new Sends and waits for those in flight until its
// context ends, then cancels them; each cancelled Send returns what it did
// not deliver.
package cloudwatch
