package auditgrpc_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/auditgrpc"
)

type discardStore struct{}

func (discardStore) Write(context.Context, []audit.Event) error { return nil }

// BenchmarkUnary: one unary call over loopback without an interceptor (the
// anchor) and with UnaryServerInterceptor recording it.
func BenchmarkUnary(b *testing.B) {
	logger, err := audit.New(audit.Options{Store: discardStore{}, ErrorHandler: func(error) {}})
	if err != nil {
		b.Fatal(err)
	}
	defer logger.Close(context.Background())
	for _, c := range []struct {
		name string
		opts []grpc.ServerOption
	}{
		{"plain", nil},
		{"interceptor", []grpc.ServerOption{grpc.ChainUnaryInterceptor(auditgrpc.UnaryServerInterceptor(logger, nil))}},
	} {
		b.Run(c.name, func(b *testing.B) {
			srv := grpc.NewServer(c.opts...)
			srv.RegisterService(&echoDesc, &echo{logger: logger.WithPackage("bench")})
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go srv.Serve(lis)
			defer srv.Stop()
			conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			in, out := wrapperspb.String("hi"), new(wrapperspb.StringValue)
			b.ReportAllocs()
			for b.Loop() {
				if err := conn.Invoke(context.Background(), "/test.Echo/Say", in, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
