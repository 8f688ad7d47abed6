// Package jsonl exports events as JSON lines: one JSON object per event,
// one event per line, to any [io.Writer] (a file, a pipe to a log shipper,
// standard output), and reads such lines back with [ReadEvents] or a
// [Decoder].
//
// # Format
//
// An event is written as
//
//	{"id":"0190a5e4-...","time":"2024-05-01T12:00:00.123456Z","level":"audit",
//	 "type":"query-start","message":"ran a query",
//	 "params":{"query":{"kind":"query","id":"q1"},"rows":42,"took":"1.5s"},
//	 "kinds":{"query":"entity_id","took":"duration"},
//	 "stack_trace":"...","fingerprint":"...","session_id":"s1","user_id":"alice",
//	 "duration_ms":1.5,"duration_ns":1500000}
//
// (on one line). id, time (RFC 3339 with nanoseconds, UTC), level, type and
// message are always present; params, kinds, stack_trace, fingerprint,
// session_id, user_id and the durations only when not empty or zero.
// duration_ms is for people and dashboards; duration_ns is exact.
//
// params holds each param's natural JSON, as [audit.Value.MarshalJSON] writes
// it, in the event's order. Where the JSON alone does not tell the param's
// [audit.Kind], kinds names it ([audit.Kind.String]): a JSON string is read as
// a string, true and false as a bool, null as null, an object or array as
// JSON, an integer that fits int64 as an int64 and any other number as a
// float64; any other kind (uint64, a float64 with an integral value, time,
// duration, entity, JSON that is a scalar, NaN and infinities, which are
// written as strings) is named in kinds.
//
// # Strings that are not text
//
// Audit strings are kept byte for byte, but JSON lines must be valid UTF-8 and
// most log services reject NUL bytes. So every string that is not valid UTF-8
// or holds a NUL byte is written in its [audit.Text] form (invalid bytes
// become U+FFFD, NUL becomes U+2400), and the object "raw" maps the JSON
// Pointer (RFC 6901) of each such string to the standard base64 of its
// original bytes:
//
//	"message":"bad \ufffd byte","raw":{"/message":"YmFkIP8gYnl0ZQ=="}
//
// Pointers are "/message", "/type", "/stack_trace", "/fingerprint",
// "/session_id", "/user_id", "/params/KEY" for a string or JSON param and
// "/params/KEY/kind" and "/params/KEY/id" for an entity. JSON param text is
// written compacted (so that it fits on one line); when that changes it, the
// original text is in raw too. A param key that is not text is written in
// its Text form too, and the object "raw_keys" maps the written key to the
// base64 of the original; if two keys of an event would be written the same,
// the later one gets a "#2" (or "#3", ...) suffix and a raw_keys entry.
//
// With raw, raw_keys and kinds, [ReadEvents] restores every event exactly,
// except that an event without params reads back with nil Params, as from the
// stores.
package jsonl
