package auditgrpc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/auditgrpc"
	"github.com/auditkit/audit/store/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echo is a small hand-written service (no generated code): Say answers
// its request, or fails with the code the request names ("code:Internal");
// Chat echoes every message of a bidirectional stream.
type echo struct {
	logger *audit.Logger
}

var echoDesc = grpc.ServiceDesc{
	ServiceName: "test.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Say",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, req any) (any, error) {
				return srv.(*echo).say(ctx, req.(*wrapperspb.StringValue))
			}
			if interceptor == nil {
				return h(ctx, in)
			}
			return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/test.Echo/Say"}, h)
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Chat",
		ServerStreams: true,
		ClientStreams: true,
		Handler: func(srv any, ss grpc.ServerStream) error {
			return srv.(*echo).chat(ss)
		},
	}},
}

var chatDesc = &echoDesc.Streams[0]

func (e *echo) say(ctx context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	// The handler's own event, attributed through the context.
	_ = e.logger.LogEvent(ctx, audit.Event{Level: audit.LevelInfo, Type: "inner", Message: "say " + in.GetValue()})
	if name, ok := strings.CutPrefix(in.GetValue(), "code:"); ok {
		var c codes.Code
		if err := c.UnmarshalJSON([]byte(`"` + strings.ToUpper(name) + `"`)); err != nil {
			return nil, err
		}
		return nil, status.Error(c, "failed on purpose")
	}
	if in.GetValue() == "plain error" {
		return nil, errors.New("not a status")
	}
	return wrapperspb.String("you said " + in.GetValue()), nil
}

func (e *echo) chat(ss grpc.ServerStream) error {
	for {
		in := new(wrapperspb.StringValue)
		if err := ss.RecvMsg(in); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if in.GetValue() == "stop" {
			return status.Error(codes.DataLoss, "lost it")
		}
		if err := ss.SendMsg(in); err != nil {
			return err
		}
	}
}

type env struct {
	store *memory.Store
	conn  *grpc.ClientConn
}

func start(t *testing.T, opts *auditgrpc.Options) *env {
	t.Helper()
	store := memory.New(memory.Options{})
	logger, err := audit.New(audit.Options{Store: store, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(auditgrpc.UnaryServerInterceptor(logger, opts)),
		grpc.ChainStreamInterceptor(auditgrpc.StreamServerInterceptor(logger, opts)),
	)
	srv.RegisterService(&echoDesc, &echo{logger: logger})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent("auditgrpc-test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		if err := <-served; err != nil {
			t.Error(err)
		}
		if err := logger.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return &env{store: store, conn: conn}
}

// events returns the call events (type grpc-request), oldest first.
func (e *env) events(t *testing.T, typ string) []audit.Event {
	t.Helper()
	p, err := e.store.Read(context.Background(), audit.Query{Types: []string{typ}, Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	out := p.Events
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func param(e audit.Event, key string) string {
	v, ok := e.Param(key)
	if !ok {
		return "<none>"
	}
	return v.String()
}

func (e *env) say(t *testing.T, ctx context.Context, msg string) error {
	t.Helper()
	out := new(wrapperspb.StringValue)
	return e.conn.Invoke(ctx, "/test.Echo/Say", wrapperspb.String(msg), out)
}

func TestUnary(t *testing.T) {
	e := start(t, nil)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-request-id", "req-42")
	cases := []struct {
		msg   string
		code  codes.Code
		level audit.Level
	}{
		{"hello", codes.OK, audit.LevelUsage},
		{"code:not_found", codes.NotFound, audit.LevelUsage},
		{"code:permission_denied", codes.PermissionDenied, audit.LevelUsage},
		{"code:internal", codes.Internal, audit.LevelError},
		{"code:data_loss", codes.DataLoss, audit.LevelError},
		{"plain error", codes.Unknown, audit.LevelError},
	}
	for _, c := range cases {
		err := e.say(t, ctx, c.msg)
		if got := status.Code(err); got != c.code {
			t.Fatalf("%q: client got %v, want %v", c.msg, got, c.code)
		}
	}
	got := e.events(t, auditgrpc.Type)
	if len(got) != len(cases) {
		t.Fatalf("%d call events, want %d", len(got), len(cases))
	}
	for i, c := range cases {
		ev := got[i]
		if ev.Level != c.level || ev.Message != "/test.Echo/Say" {
			t.Errorf("%q: level %v message %q, want %v /test.Echo/Say", c.msg, ev.Level, ev.Message, c.level)
		}
		if param(ev, auditgrpc.CodeParam) != c.code.String() || param(ev, auditgrpc.MethodParam) != "/test.Echo/Say" {
			t.Errorf("%q: code %s method %s", c.msg, param(ev, auditgrpc.CodeParam), param(ev, auditgrpc.MethodParam))
		}
		if p := param(ev, auditgrpc.PeerParam); !strings.HasPrefix(p, "127.0.0.1:") {
			t.Errorf("%q: peer %q", c.msg, p)
		}
		if ua := param(ev, auditgrpc.UserAgentParam); !strings.HasPrefix(ua, "auditgrpc-test") {
			t.Errorf("%q: user agent %q", c.msg, ua)
		}
		if id := param(ev, auditgrpc.RequestIDParam); id != "req-42" {
			t.Errorf("%q: request id %q", c.msg, id)
		}
		if _, ok := ev.Param(audit.MSParam); !ok || ev.Duration <= 0 {
			t.Errorf("%q: ms or duration missing (%v)", c.msg, ev.Duration)
		}
		_, hasErr := ev.Param(auditgrpc.ErrorParam)
		if hasErr != (c.code != codes.OK) {
			t.Errorf("%q: error param present %v", c.msg, hasErr)
		}
	}
}

func TestStream(t *testing.T) {
	e := start(t, nil)
	for _, tc := range []struct {
		msgs  []string
		code  codes.Code
		level audit.Level
		recv  int64
		sent  int64
	}{
		{[]string{"a", "b", "c"}, codes.OK, audit.LevelUsage, 3, 3},
		{[]string{"a", "stop"}, codes.DataLoss, audit.LevelError, 2, 1},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cs, err := e.conn.NewStream(ctx, chatDesc, "/test.Echo/Chat")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tc.msgs {
			if err := cs.SendMsg(wrapperspb.String(m)); err != nil {
				t.Fatal(err)
			}
		}
		if err := cs.CloseSend(); err != nil {
			t.Fatal(err)
		}
		var err2 error
		for {
			if err2 = cs.RecvMsg(new(wrapperspb.StringValue)); err2 != nil {
				break
			}
		}
		cancel()
		if got := status.Code(err2); err2 != io.EOF && got != tc.code {
			t.Fatalf("stream ended with %v, want %v", err2, tc.code)
		}
	}
	got := e.events(t, auditgrpc.Type)
	if len(got) != 2 {
		t.Fatalf("%d call events, want 2", len(got))
	}
	want := []struct {
		code       string
		level      audit.Level
		recv, sent string
	}{{"OK", audit.LevelUsage, "3", "3"}, {"DataLoss", audit.LevelError, "2", "1"}}
	for i, w := range want {
		ev := got[i]
		if ev.Message != "/test.Echo/Chat" || ev.Level != w.level || param(ev, auditgrpc.CodeParam) != w.code {
			t.Errorf("stream %d: %q %v %s", i, ev.Message, ev.Level, param(ev, auditgrpc.CodeParam))
		}
		if param(ev, auditgrpc.MsgsReceivedParam) != w.recv || param(ev, auditgrpc.MsgsSentParam) != w.sent {
			t.Errorf("stream %d: received %s sent %s, want %s %s", i,
				param(ev, auditgrpc.MsgsReceivedParam), param(ev, auditgrpc.MsgsSentParam), w.recv, w.sent)
		}
	}
}

func TestOptions(t *testing.T) {
	e := start(t, &auditgrpc.Options{
		Subject: func(ctx context.Context, method string) audit.Subject {
			md, _ := metadata.FromIncomingContext(ctx)
			if v := md.Get("x-user"); len(v) > 0 {
				return audit.Subject{UserID: v[0], SessionID: "s-" + v[0]}
			}
			return audit.Subject{}
		},
		IsError: func(c codes.Code) bool { return c != codes.OK },
		Skip:    func(_ context.Context, method string) bool { return strings.HasSuffix(method, "/Chat") },
		Params: func(ctx context.Context, method string) []audit.Param {
			return []audit.Param{{Key: "tenant", Value: audit.StringValue("acme")}}
		},
		Type: "rpc",
	})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-user", "alice")
	if err := e.say(t, ctx, "code:not_found"); status.Code(err) != codes.NotFound {
		t.Fatal(err)
	}
	cs, err := e.conn.NewStream(ctx, chatDesc, "/test.Echo/Chat")
	if err != nil {
		t.Fatal(err)
	}
	_ = cs.CloseSend()
	if err := cs.RecvMsg(new(wrapperspb.StringValue)); err != io.EOF {
		t.Fatal(err)
	}
	calls := e.events(t, "rpc")
	if len(calls) != 1 {
		t.Fatalf("%d call events, want 1 (the stream skipped)", len(calls))
	}
	c := calls[0]
	if c.Level != audit.LevelError || c.UserID != "alice" || c.SessionID != "s-alice" || param(c, "tenant") != "acme" {
		t.Errorf("call event: level %v user %q session %q tenant %s", c.Level, c.UserID, c.SessionID, param(c, "tenant"))
	}
	inner := e.events(t, "inner")
	if len(inner) != 1 || inner[0].UserID != "alice" {
		t.Errorf("the handler's event is not attributed: %+v", inner)
	}
	if n := len(e.events(t, auditgrpc.Type)); n != 0 {
		t.Errorf("%d events of the default type", n)
	}
}

// TestStreamAttribution: the stream's context, as the handler sees it,
// carries the subject, and so does the call's event.
func TestStreamAttribution(t *testing.T) {
	e := start(t, &auditgrpc.Options{
		Subject: func(ctx context.Context, method string) audit.Subject {
			md, _ := metadata.FromIncomingContext(ctx)
			if v := md.Get("x-user"); len(v) > 0 {
				return audit.Subject{UserID: v[0]}
			}
			return audit.Subject{}
		},
	})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-user", "bob")
	cs, err := e.conn.NewStream(ctx, chatDesc, "/test.Echo/Chat")
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.SendMsg(wrapperspb.String("x")); err != nil {
		t.Fatal(err)
	}
	_ = cs.CloseSend()
	for cs.RecvMsg(new(wrapperspb.StringValue)) == nil {
	}
	calls := e.events(t, auditgrpc.Type)
	if len(calls) != 1 || calls[0].UserID != "bob" {
		t.Fatalf("stream call events %+v, want one attributed to bob", calls)
	}
}
