// Package sinktest checks that an [audit.Sink] keeps the contract the
// Logger relies on. Every sink of this module runs it, and so should a sink
// written elsewhere:
//
//	func TestConformance(t *testing.T) {
//		sinktest.Run(t, sinktest.Harness{
//			New: func(t testing.TB) (audit.Sink, sinktest.Reader) { ... },
//		})
//	}
//
// The rules, one subtest each:
//
//   - Once: every event of every batch is delivered exactly once, with
//     awkward content too (NUL bytes, invalid UTF-8, long values, every
//     level and kind of param).
//   - FlushAfterSend: after Send and then [audit.Flusher.Flush] returned,
//     the destination holds the events; a Flush with nothing sent is fine.
//   - Concurrent: Sends from several goroutines deliver each event once
//     (run the suite with -race).
//   - NotKeepSlice: changing the caller's slice after Send returned changes
//     nothing that is delivered.
//   - Context: a Send with an ended context returns an error that wraps the
//     context's error and delivers nothing, so the Logger's retry delivers
//     each event once.
//   - Deadline (when Harness.Stall is set): a Send to a destination that
//     has stopped answering returns when its context's deadline passes,
//     with an error wrapping context.DeadlineExceeded, and Close with a
//     deadline returns too.
//   - Closed: after [audit.Closer.Close], Send and Flush fail with errors
//     wrapping [audit.ErrClosed], and Close again returns nil.
//   - PartialLoss (when Harness.Refuse is set): a batch holding one event
//     the destination refuses for good returns an *[audit.PartialError]
//     with Lost 1, and the rest is delivered once.
package sinktest
