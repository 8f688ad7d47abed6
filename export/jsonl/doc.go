// Package jsonl exports events as JSON lines: one JSON object per event,
// one event per line, to any [io.Writer] (a file, a pipe to a log shipper,
// standard output), and reads such lines back with [ReadEvents] or a
// [Decoder]. The package creates no file: open one for the trail with mode
// 0600 (os.OpenFile(name, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)), as
// the quickstart example does, so that only its owner reads it.
//
// # Format
//
// Each line is an event in its one JSON shape, [audit.Event.MarshalJSON]
// (see the audit package documentation, section JSON):
//
//	{"id":"0190a5e4-...","time":"2024-05-01T12:00:00.123456Z","level":"audit",
//	 "type":"query-start","message":"ran a query","user_id":"alice",
//	 "params":{"query":{"kind":"query","id":"q1"},"rows":42},
//	 "duration_ms":1.5,"kinds":{"query":"entity_id"}}
//
// The shape is lossless: strings that are not text (invalid UTF-8, NUL
// bytes, which most log services reject) are written in their [audit.Text]
// form with the original bytes in "raw", and kinds names the param kinds
// JSON does not tell. So [ReadEvents] restores every event exactly, except
// that an event without params reads back with nil Params, as from the
// stores.
package jsonl
