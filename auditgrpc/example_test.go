package auditgrpc_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/auditgrpc"
	"github.com/auditkit/audit/store/memory"
)

// Every call to the server becomes one event.
func Example() {
	store := memory.New(memory.Options{})
	logger, err := audit.New(audit.Options{Store: store, Sync: true})
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close(context.Background())

	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(auditgrpc.UnaryServerInterceptor(logger, nil)),
		grpc.ChainStreamInterceptor(auditgrpc.StreamServerInterceptor(logger, nil)),
	)
	srv.RegisterService(&echoDesc, &echo{logger: logger}) // the service's generated Register function
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	_ = conn.Invoke(context.Background(), "/test.Echo/Say", wrapperspb.String("hi"), new(wrapperspb.StringValue))
	_ = conn.Invoke(context.Background(), "/test.Echo/Say", wrapperspb.String("code:internal"), new(wrapperspb.StringValue))

	page, _ := store.Read(context.Background(), audit.Query{Types: []string{auditgrpc.Type}})
	for i := len(page.Events) - 1; i >= 0; i-- {
		e := page.Events[i]
		code, _ := e.Param("code")
		fmt.Println(e.Level, e.Message, code)
	}
	// Output:
	// usage /test.Echo/Say OK
	// error /test.Echo/Say Internal
}
