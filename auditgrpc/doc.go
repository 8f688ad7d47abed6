// Package auditgrpc records the calls of a gRPC server as audit events.
//
// [UnaryServerInterceptor] and [StreamServerInterceptor] record one event per
// call, when it ends:
//
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(auditgrpc.UnaryServerInterceptor(logger, nil)),
//		grpc.ChainStreamInterceptor(auditgrpc.StreamServerInterceptor(logger, nil)),
//	)
//
// The event has type "grpc-request" ([Type]), the full method as its
// message ("/billing.Invoices/Approve"), and the params method, peer (the
// client's address), code (the status code's name, "OK", "NotFound", ...),
// ms (whole milliseconds; Event.Duration has the exact time), user_agent
// and request_id (from the x-request-id metadata) when the client sent them,
// error (the status message) when the call failed, and for streams
// msgs_received and msgs_sent.
//
// A call is a usage event, as an HTTP request is in package audithttp,
// whatever its outcome: a NotFound or PermissionDenied is the client's
// business. It is an error event only when the server is at fault: codes
// Unknown, Internal and DataLoss by default, changeable with
// Options.IsError.
//
// Options.Subject attributes a call: its result is put in the call's
// context with [audit.WithSubject], so the handler's own events (logged with
// a context-taking method or logger.For(ctx)) and the call's event are
// attributed to it.
//
// The interceptors do not recover panics: chain a recovery interceptor
// (such as grpc-ecosystem's recovery) inside them, so the panic becomes an
// Internal status that is recorded.
package auditgrpc
