// Package cloudwatchtest is a local stand-in for Amazon CloudWatch Logs: an
// HTTP server on 127.0.0.1 that speaks the service's wire protocol (AWS JSON
// 1.1) and enforces the rules of PutLogEvents, so the real
// aws-sdk-go-v2 cloudwatchlogs client, and everything built on it, can be
// tested without an AWS account.
//
// # What it enforces
//
//   - POST /, Content-Type application/x-amz-json-1.1, an X-Amz-Target of
//     Logs_20140328.<Operation>, and a SigV4 Authorization header whose scope
//     is <region>/logs/aws4_request (the signature itself is not checked).
//   - Log group names: 1-512 of [.-_/#A-Za-z0-9], not starting with "aws/";
//     log stream names: 1-512 characters without ':' or '*'.
//   - PutLogEvents: the group and the stream exist (ResourceNotFoundException);
//     1 to 10,000 events; each message at least 1 byte and its UTF-8 bytes + 26
//     at most [Options.MaxEventSize]; the sum of (bytes + 26) at most
//     1,048,576; timestamps non-decreasing; the accepted events spanning at
//     most 24 hours. Breaking any of these is an InvalidParameterException and
//     nothing of the request is stored.
//   - Events older than 14 days, older than the group's retention (see
//     PutRetentionPolicy) or more than 2 hours ahead of the server's clock are
//     not stored; the answer is still HTTP 200 and lists them in
//     rejectedLogEventsInfo with the service's index semantics
//     (tooOldLogEventEndIndex and expiredLogEventEndIndex exclusive,
//     tooNewLogEventStartIndex inclusive).
//   - CreateLogGroup and CreateLogStream answer ResourceAlreadyExistsException
//     when the thing exists; CreateLogStream answers ResourceNotFoundException
//     when the group is missing.
//
// Operations: CreateLogGroup, CreateLogStream, DescribeLogStreams,
// PutLogEvents, GetLogEvents, PutRetentionPolicy. The server's clock is
// injectable ([Options.Now]) so too-old and too-new events are testable.
//
// # Faults
//
// [Server.Inject] queues faults for the next calls of an operation:
// throttling, 500s, a reset connection, or a request that is stored and then
// has its connection dropped before the answer (the duplicate case).
// [Server.RejectMessages] makes every request containing a given text invalid
// (a poison event), [Server.SetLatency] slows every call, and
// [Options.DenyCreateLogGroup] models a least-privilege role.
//
// The rules are written here independently of package cloudwatch, on
// purpose: the server is the oracle the exporter is tested against.
package cloudwatchtest
