// Package audit records what happens in a Go service as structured audit
// events, stores them in a queryable schema, exports them, and reads them
// back. It mirrors Datagrok's audit system: the same levels, record types
// and logger methods and, in the SQL stores, the same tables.
//
// # Logging
//
// An [Event] has a UUIDv7 ID, a UTC Time, a [Level], a record Type, a
// Message, typed Params and, for errors, a StackTrace and its [Fingerprint];
// it is attributed to a user and a session. A param whose value is an
// [Entity] references an object: the events naming an object are found by
// one indexed lookup. Params are built with [String], [Int], [Object],
// [Any] ... or given as a map; a string argument is the record type:
//
//	l.Log("query executed", audit.Object("query", "query", id), audit.Int("rows", n), datagrok.QueryStart)
//	l.Log("query executed", map[string]any{"query": audit.Ref("query", id), "rows": n}, datagrok.QueryStart)
//
// Log and Audit log at audit level with type "log", Usage at usage level,
// Error at error level with a stack, and Info, Debug and Warning with no
// type ([Logger.Log] has the argument rules). Each has a Context form whose
// ctx attributes the event and reaches the callbacks. Values are copied when
// logged: the caller may reuse its map at once.
//
// [Logger.Error] takes an error or a message. It records the most specific
// type in the error's chain as [ErrorTypeParam] and the chain as
// [ErrorChainParam]; the stack is the one given, else the error's own
// (pkg/errors, cockroachdb/errors), else the caller's. The [Fingerprint]
// hashes function names only, so a group survives rebuilds and moved code.
//
// Child loggers ([Logger.With], [Logger.WithUser], [Logger.WithSession] ...)
// add params, callbacks or attribution; request code puts a [Subject] in a
// context with [WithSubject]. [Logger.Call] and [Do] record a function call
// with its inputs, its outputs or error, and its duration; [Logger.Go] runs
// a goroutine whose panic or error becomes an error event.
//
// # Where events go
//
// The Logger asks its [Policy] where each event goes: the store, the sinks,
// the service's own slog logger (Options.Printer), or nowhere, at the cost
// of a few nanoseconds. [LogAll] is the default; package settings decides
// per user, group, session and package, live. Params whose key looks secret
// (password, token, api_key ...) and values made with [Secret] are redacted
// before any destination sees them ([Redact]).
//
// A [Store] keeps events (store/sqlite, store/postgres, store/memory) and a
// [Sink] exports them (export/jsonl, export/cloudwatch, export/otlp,
// export/jetstream). Packages auditslog, audithttp, auditgrpc, auditotel and
// auditprom connect the Logger to log/slog, net/http, gRPC, OpenTelemetry
// and Prometheus.
//
// # Delivery guarantees
//
// A logging call queues the event and returns. The store and each sink have
// their own bounded queue and goroutine, which write batches by size and
// time and retry failures with backoff; events from one goroutine reach the
// store in order, and a slow sink fills only its own queue. Nothing is lost
// silently: a full queue makes the call wait (see [Overflow]) and then
// return [ErrQueueFull]; a batch refused as [Permanent] is split to isolate
// the refused events; every drop and failure is counted in [Logger.Stats]
// and reported to Options.ErrorHandler. With Options.Sync a call returns
// after the store's commit; with Options.Spool, once the event is on disk,
// so that a crash or an outage loses nothing ([SpoolOptions], [ErrSpool]).
// [Logger.Flush] waits for delivery; [Logger.Close] flushes, stops every
// goroutine and honours its ctx's deadline. Bad input (nil maps, panicking
// callbacks, huge or unencodable values, invalid UTF-8: see [Text]) never
// panics and never drops the event.
//
// # JSON
//
// An event has one JSON shape, written by [Event.MarshalJSON], which
// describes each field, and read back exactly by [Event.UnmarshalJSON].
// export/jsonl, CloudWatch, auditctl's --json and --csv, the slog printer
// and auditslog use its names:
//
//	{"id":"0190a5e4-...","time":"2026-03-04T05:06:07.120000Z","level":"audit",
//	 "type":"query-start","message":"ran a query","user_id":"alice","session_id":"s1",
//	 "params":{"query":{"kind":"query","id":"q1"},"rows":42,"took":"1.5s"},
//	 "duration_ms":1.5,"stack_trace":"...","fingerprint":"...",
//	 "kinds":{"query":"entity_id","took":"duration"}}
//
// # Writing a store or sink
//
// A store implements [Store] and, to be read, [Reader] (store/storetest is
// its conformance suite); a sink implements [Sink] (export/sinktest). Either
// may implement [Flusher], [Closer], [BatchSizer] and, for sinks, [Namer].
// Errors tell the Logger what to do: [ErrUnavailable] is retried, a
// [Permanent] refusal is isolated by splitting the batch, a [*PartialError]
// names the events the destination lost, and [ErrInvalidEvent],
// [ErrConflict] and [ErrClosed] mean what they say. Readers page with
// [EncodeCursor] and [DecodeCursor], order with [NewestFirst] and filter
// with [Query.Matches].
//
// # Datagrok compatibility
//
// [Logger] is DG.Logger: Log (the same as Audit), Usage, Info, Debug,
// Warning and Error(message, params, stackTrace); Options.Params are its
// static params, a [Callback] its putCallback, [Logger.WithPackage] its
// PackageLogger. An [Event] is a LogMessage: Level is event_types.source,
// Type event_types.friendly_name, Message events.description. Datagrok's
// record types are constants in package datagrok; the root keeps those the
// library emits ([TypeLog] ...). An [Entity] param is stored with
// event_parameters.type 'entity_id', other values as the text [Value.String]
// gives, with their [Kind] alongside. Sinks are Datagrok's export
// destinations.
package audit
