// Package audit records what happens in a Go service as structured audit
// events, stores them in a queryable schema, exports them, and reads them
// back. It mirrors the audit system of Datagrok: the same levels, record
// types and logger methods, and, in the SQL stores, the same tables and
// columns (events, event_types, event_parameters, event_parameter_values,
// users_sessions), so queries written for Datagrok's audit tables read ours.
//
// # The model
//
// An [Event] has a UUIDv7 ID (ids sort by time), a UTC Time, a [Level], a
// record Type ("query-start", "project-opened", any custom string), a
// Message, typed Params, and for errors a StackTrace with its
// [Fingerprint]. It is attributed to a session and a user. A param whose
// value is an [Entity] references an object, and every event that names an
// object can be found with one indexed lookup: that is the object's
// activity.
//
// Params follow the message, built with [String], [Int], [Float64],
// [Bool], [Time], [Duration], [Object] (an object reference) and [Any], or
// given as a map[string]any, or both:
//
//	l.Log("query executed", audit.Object("query", "query", id), audit.Int("rows", n), datagrok.QueryStart)
//	l.Log("query executed", map[string]any{"query": audit.Ref("query", id), "rows": n}, datagrok.QueryStart)
//
// A string argument is the record type (for Error, the stack trace); see
// [Logger.Log] for the rules, including what happens to an argument of
// another type. Values are converted to [Value]s when the event is logged:
// scalars are kept without allocating, composite values are snapshotted as
// JSON, and values that cannot be encoded become a descriptive "!ERROR: ..."
// string. The caller may reuse or change its map (and what it holds) as soon
// as the call returns. Every logging method has a Context form
// ([Logger.LogContext] ...), whose ctx attributes the event and reaches the
// callbacks.
//
// # Levels
//
// debug, info, warning, error, audit and usage, as in Datagrok's LOG_LEVEL.
// [Logger.Log] and [Logger.Audit] log at audit level with type "log",
// [Logger.Usage] at usage level with type "usage", [Logger.Error] at error
// level with type "error" and a stack trace, and Info, Debug and Warning at
// their levels with no type.
//
// # Errors
//
// [Logger.Error] takes an error value or a message. For an error it records
// the most specific type in its chain as [ErrorTypeParam] (an *fs.PathError
// wrapped by fmt.Errorf is an *fs.PathError) and the whole chain as
// [ErrorChainParam]. The stack is the one given, else the one the error
// carries (pkg/errors, cockroachdb/errors, go-errors), else the caller's.
// Errors group by [Fingerprint], which hashes the names of the functions on
// the stack only, so a group survives rebuilds and edits that move code.
//
// # Attribution and child loggers
//
// [Logger.With], [Logger.WithCallback], [Logger.WithUser],
// [Logger.WithSession] and [Logger.WithPackage] return child loggers that add
// params, a callback or attribution on top of their parent's. Request-scoped
// code attaches a [Subject] to a context with [WithSubject] and uses
// [Logger.For] or [Logger.LogEvent].
//
// # Function calls and goroutines
//
// [Logger.Call] starts recording a function call with its inputs and
// [Call.End] records it, once, with its outputs or error and its duration:
// one event whose params tell inputs ("in.*") from outputs ("out.*"), with
// "ms" and Event.Duration; a failed call is itself the error event, with a
// stack and fingerprint. [Do] wraps a function the same way, and [Logger.Go]
// runs a goroutine whose panic or error is recorded as an error event.
//
// # Meeting the Go ecosystem
//
// Package auditslog is a [log/slog] Handler that turns slog records into
// audit events; Options.Printer writes the events of the print route to the
// service's own *slog.Logger; package audithttp records every HTTP request
// as an http-request usage event (method, ServeMux route, status, ms) and
// recovers handler panics into error events.
//
// # Policy
//
// Before an event is built, the Logger asks its [Policy] where it goes:
// stored, exported to sinks, printed to Options.Printer, or nowhere. The
// default, [LogAll], logs everything; package settings decides per user,
// group, session and package, and can be changed live. A disabled event
// costs a few nanoseconds and no allocation.
//
// # Stores
//
// A [Store] writes batches atomically and idempotently on Event.ID; a
// [Reader] lists events newest first with filters and keyset pagination.
// Implementations: store/memory (in process), store/sqlite (the embedded
// default) and store/postgres (production). store/storetest is the
// conformance suite every store passes.
//
// # Exporters
//
// A [Sink] receives events as they are logged, independently of the store:
// export/jsonl writes JSON lines, export/cloudwatch sends them to Amazon
// CloudWatch Logs.
//
// # JSON
//
// An event has one JSON shape, written by [Event.MarshalJSON] and read back
// exactly by [Event.UnmarshalJSON]; export/jsonl, CloudWatch's JSON format,
// auditctl --json, the CSV headers of auditctl and the keys of the slog
// printer and of auditslog use its names:
//
//	{"id":"0190a5e4-...","time":"2026-03-04T05:06:07.120000Z","level":"audit",
//	 "type":"query-start","message":"ran a query","user_id":"alice","session_id":"s1",
//	 "params":{"query":{"kind":"query","id":"q1"},"rows":42,"took":"1.5s"},
//	 "duration_ms":1.5,"stack_trace":"...","fingerprint":"...",
//	 "kinds":{"query":"entity_id","took":"duration"}}
//
// The fields:
//
//   - id, time (UTC, RFC 3339 with microseconds; a year outside 0-9999 as a
//     sign and six or more digits, +010000-01-01T...), level, type and
//     message are always there; user_id, session_id, params, duration_ms,
//     stack_trace and fingerprint only when not empty or zero.
//   - params holds each param's natural JSON, in the event's order: a
//     string, a number, true or false, null, an object reference as
//     {"kind","id"}, JSON as itself, a time (RFC 3339) or a duration ("1.5s")
//     as a string, NaN and infinities as strings.
//   - kinds names the [Kind] of each param whose JSON does not tell it (a
//     reader assumes string, bool, null, JSON for objects and arrays, int64
//     for integers that fit, float64 for other numbers).
//   - duration_ms is in milliseconds; duration_ns, exact, follows it when
//     the milliseconds do not give back the nanoseconds.
//   - A string that is not valid UTF-8 or holds NUL is written in its
//     [Text] form, and raw maps its JSON Pointer ("/message",
//     "/params/KEY", "/params/KEY/id") to the base64 of the original bytes;
//     raw_keys does the same for param keys.
//
// # Delivery guarantees
//
// By default delivery is asynchronous: a logging call queues the event and
// returns. The store and each sink have their own bounded queue and
// goroutine, which write batches by size (Options.BatchSize) and by time
// (Options.FlushInterval), bound each attempt by Options.WriteTimeout, and
// retry failures with exponential backoff and jitter. Events logged from one
// goroutine reach the store in the order they were logged. A slow or failing
// sink fills only its own queue.
//
// Nothing is lost silently. When the store's queue is full the configured
// [Overflow] applies (wait for room, or drop at once) and the call returns
// [ErrQueueFull] when it gives up: a waiting call gives up once
// Options.BlockTimeout passes without a batch delivered (a write under way
// counts, for up to four times as long), so a healthy but slow store makes
// it wait while a stalled one makes it fail. A full sink
// queue follows the same policy, within the same wait, then drops the event
// for that sink only. The queue gives room back as each batch is written,
// and callers waiting for room are admitted in the order they came, so with
// a healthy store a burst waits instead of failing. A batch refused with a [Permanent] error is split until the refused
// events are isolated, and the others are written; a batch's refusals are
// reported once, with their count and the first of them. Every drop and failure is
// counted in [Logger.Stats] and reported to Options.ErrorHandler; drops are
// summarized in a [DropReport] per destination (the first at once, then at
// most one per Options.DropReportInterval, the rest at Close).
//
// With Options.Sync each call returns after the store's commit, with its
// error.
//
// With Options.Spool each accepted event is appended to a write-ahead log
// on disk before the call returns, and the store and every sink read from
// it at their own pace: a crash of the process or an outage of a
// destination loses nothing, and what was not delivered is delivered after
// the next start (exactly once into stores, at least once with the same
// Event.ID into sinks). A call whose event cannot be made durable returns
// an error wrapping [ErrSpool], so a service can refuse the action (fail
// closed). See [SpoolOptions].
//
// # Shutdown
//
// [Logger.Flush] returns once everything logged before it has been
// delivered. [Logger.Close] is idempotent: it flushes, stops every goroutine
// the Logger started, and honours its context's deadline (what is still
// unwritten then is counted as failed). Logging after Close returns
// [ErrClosed].
//
// # Bad input
//
// Nil maps, panicking callbacks, unencodable values, huge messages and
// values (truncated at Options.MaxMessageBytes / MaxValueBytes with a
// visible marker at a UTF-8 boundary) are all handled without a panic or a
// dropped event. Strings are kept byte for byte in the Event; stores and
// sinks that need valid text apply the lossless rule described at [Text].
//
// # Redaction
//
// Secrets never reach a destination: the Logger redacts params after the
// callbacks and before the printer, spool, store and sinks see the event
// (see [Redact]). By default every param whose key contains password,
// passwd, secret, token, authorization, api_key, cookie or private_key (in
// any case, with or without '-' and '_') is replaced by [RedactedMarker],
// at any depth inside JSON values too, and so is every value wrapped in
// [Secret] or made with [SecretString]. With Options.Redact.HMACKey a value
// becomes "hmac-sha256:<hex>" of its text instead (as Vault's audit devices
// do), so equal values still correlate, and `auditctl hash` prints the text
// to search for. Redact{Off: true} turns key matching off; Secret values are
// redacted even then. Messages and stack traces are not redacted.
// [Logger.SetRedact] changes the rule while logging, keeping the HMAC key;
// package settings feeds it from the "redact" block of the live settings.
//
// # Writing a store or sink
//
// A store implements [Store] (Write a batch atomically and idempotently on
// Event.ID) and, to be read, [Reader]; store/storetest is the conformance
// suite to run against it. A sink implements [Sink]. Either may also
// implement [Flusher] and [Closer] (the Logger calls them from Flush and
// Close), [BatchSizer] (its own batch size) and, for sinks, [Namer] (its
// name in [Stats]). Errors tell the Logger what to do: wrap [ErrUnavailable]
// for failures worth retrying, mark a refusal that retrying cannot fix with
// [Permanent] (the Logger then splits the batch to isolate the refused
// events), return a [*PartialError] when the destination has already
// reported the events it lost, and [ErrInvalidEvent], [ErrConflict] and
// [ErrClosed] for what they name. Readers page with [EncodeCursor] and
// [DecodeCursor], order with [NewestFirst] and filter in memory with
// [Query.Matches].
//
// # Datagrok compatibility
//
// The names follow Datagrok's audit system:
//   - [Logger] is DG.Logger: Log (the same as Audit), Usage, Info, Debug,
//     Warning and Error(message, params, stackTrace); Options.Params are its
//     static params, a [Callback] its putCallback, [Logger.WithPackage] its
//     PackageLogger.
//   - An [Event] is a LogMessage: its Level is event_types.source, its Type
//     event_types.friendly_name, its Message events.description; IsError is
//     events.is_error. The record types Datagrok defines are constants in
//     package datagrok; the root keeps those the library emits ([TypeLog]
//     ...).
//   - A param whose value is an [Entity] is stored with
//     event_parameters.type = 'entity_id', Datagrok's object reference;
//     other values are stored as the text [Value.String] gives (Datagrok's
//     text semantics), with their [Kind] alongside.
//   - Sinks are Datagrok's export destinations (CloudWatch, JSON lines).
package audit
