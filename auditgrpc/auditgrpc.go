package auditgrpc

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/auditkit/audit"
)

// Type is the default record type of call events.
const Type = "grpc-request"

// Param names of call events, besides [audit.MSParam] ("ms").
const (
	MethodParam       = "method"
	PeerParam         = "peer"
	CodeParam         = "code"
	UserAgentParam    = "user_agent"
	RequestIDParam    = "request_id"
	ErrorParam        = "error"
	MsgsReceivedParam = "msgs_received"
	MsgsSentParam     = "msgs_sent"
)

// Options configure the interceptors. The zero value (or nil) means the
// defaults.
type Options struct {
	// Subject returns who a call is attributed to, from its context (where
	// the service's authentication interceptor, chained before this one,
	// left it) and full method. A non-empty result is put in the call's
	// context with [audit.WithSubject]. Default nil: the attribution already
	// in the context, if any.
	Subject func(ctx context.Context, method string) audit.Subject
	// IsError tells which status codes make the event an error event.
	// Default: Unknown, Internal and DataLoss.
	IsError func(codes.Code) bool
	// Skip, when it returns true, keeps a call (a health check, say) out of
	// the log. Default nil: every call is recorded.
	Skip func(ctx context.Context, method string) bool
	// Params, when set, returns params to add to a call's event; it is
	// called when the call ends, with the call's context.
	Params func(ctx context.Context, method string) []audit.Param
	// Type is the record type of call events. Default [Type].
	Type string
}

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.IsError == nil {
		out.IsError = ServerFault
	}
	if out.Type == "" {
		out.Type = Type
	}
	return out
}

// ServerFault reports whether c is a code for a fault of the server:
// Unknown, Internal or DataLoss. It is the default Options.IsError.
func ServerFault(c codes.Code) bool {
	return c == codes.Unknown || c == codes.Internal || c == codes.DataLoss
}

// UnaryServerInterceptor returns an interceptor that records each unary call
// as an event of logger; see the package documentation.
func UnaryServerInterceptor(logger *audit.Logger, opts *Options) grpc.UnaryServerInterceptor {
	o := opts.withDefaults()
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := logger.Now()
		ctx = o.attribute(ctx, info.FullMethod)
		resp, err := handler(ctx, req)
		o.record(logger, ctx, info.FullMethod, start, err, nil)
		return resp, err
	}
}

// StreamServerInterceptor returns an interceptor that records each streaming
// call as an event of logger when the handler returns; see the package
// documentation.
func StreamServerInterceptor(logger *audit.Logger, opts *Options) grpc.StreamServerInterceptor {
	o := opts.withDefaults()
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := logger.Now()
		ws := &stream{ServerStream: ss, ctx: o.attribute(ss.Context(), info.FullMethod)}
		err := handler(srv, ws)
		o.record(logger, ws.ctx, info.FullMethod, start, err, ws)
		return err
	}
}

func (o *Options) attribute(ctx context.Context, method string) context.Context {
	if o.Subject == nil {
		return ctx
	}
	if s := o.Subject(ctx, method); s.UserID != "" || s.SessionID != "" || s.Package != "" || len(s.Groups) > 0 {
		return audit.WithSubject(ctx, s)
	}
	return ctx
}

// record logs the event of a call that returned err.
func (o *Options) record(logger *audit.Logger, ctx context.Context, method string, start time.Time, err error, ss *stream) {
	if o.Skip != nil && o.Skip(ctx, method) {
		return
	}
	d := logger.Now().Sub(start)
	st := statusOf(err)
	ps := make([]audit.Param, 0, 10)
	ps = append(ps,
		audit.Param{Key: MethodParam, Value: audit.StringValue(method)},
		audit.Param{Key: CodeParam, Value: audit.StringValue(st.Code().String())},
		audit.Param{Key: audit.MSParam, Value: audit.Int64Value(d.Milliseconds())},
	)
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		ps = append(ps, audit.Param{Key: PeerParam, Value: audit.StringValue(p.Addr.String())})
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("user-agent"); len(v) > 0 {
			ps = append(ps, audit.Param{Key: UserAgentParam, Value: audit.StringValue(v[0])})
		}
		if v := md.Get("x-request-id"); len(v) > 0 {
			ps = append(ps, audit.Param{Key: RequestIDParam, Value: audit.StringValue(v[0])})
		}
	}
	if st.Code() != codes.OK {
		ps = append(ps, audit.Param{Key: ErrorParam, Value: audit.StringValue(st.Message())})
	}
	if ss != nil {
		ps = append(ps,
			audit.Param{Key: MsgsReceivedParam, Value: audit.Int64Value(ss.received.Load())},
			audit.Param{Key: MsgsSentParam, Value: audit.Int64Value(ss.sent.Load())},
		)
	}
	if o.Params != nil {
		ps = append(ps, o.Params(ctx, method)...)
	}
	level := audit.LevelUsage
	if o.IsError(st.Code()) {
		level = audit.LevelError
	}
	e := audit.Event{
		Time:     start,
		Level:    level,
		Type:     o.Type,
		Message:  method,
		Params:   ps,
		Duration: d,
	}
	// The call is over; its context may be canceled, the event must not be.
	_ = logger.LogEvent(context.WithoutCancel(ctx), e)
}

// statusOf is the status the server sends for a handler's error, as gRPC
// derives it: the error's own status, a context error's code, or Unknown.
func statusOf(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	if st, ok := status.FromError(err); ok {
		return st
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err)
	}
	return status.New(codes.Unknown, err.Error())
}

// stream gives the handler the attributed context and counts messages.
type stream struct {
	grpc.ServerStream
	ctx            context.Context
	received, sent atomic.Int64 // RecvMsg and SendMsg may run in two goroutines
}

func (s *stream) Context() context.Context { return s.ctx }

func (s *stream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		s.received.Add(1)
	}
	return err
}

func (s *stream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if err == nil {
		s.sent.Add(1)
	}
	return err
}
