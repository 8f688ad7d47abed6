package audit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/export/jsonl"
	"github.com/auditkit/audit/store/memory"
)

func Example() {
	ctx := context.Background()
	store := memory.New(memory.Options{})
	logger, err := audit.New(audit.Options{Store: store})
	if err != nil {
		panic(err)
	}
	alice := logger.WithUser("alice", "analysts").WithSession("s-1")
	alice.Log("query executed", audit.Object("query", "query", "q-42"), audit.Int("rows", 1234), datagrok.QueryStart)
	alice.Usage("menu item clicked", map[string]any{"item": "File | Open"}, datagrok.MainMenuItemClick)
	if err := logger.Close(ctx); err != nil {
		panic(err)
	}

	page, _ := store.Read(ctx, audit.Query{Object: &audit.Entity{Kind: "query", ID: "q-42"}})
	for _, e := range page.Events {
		rows, _ := e.Param("rows")
		fmt.Println(e.Level, e.Type, e.UserID, e.Message, rows)
	}
	// Output:
	// audit query-start alice query executed 1234
}

func ExampleLogger_Error() {
	store := memory.New(memory.Options{})
	logger, _ := audit.New(audit.Options{Store: store, Sync: true})
	defer logger.Close(context.Background())

	_, err := os.Open("/does/not/exist")
	logger.Error(fmt.Errorf("load settings: %w", err), audit.String("path", "/does/not/exist"))

	page, _ := store.Read(context.Background(), audit.Query{Levels: []audit.Level{audit.LevelError}})
	e := page.Events[0]
	errType, _ := e.Param(audit.ErrorTypeParam)
	chain, _ := e.Param(audit.ErrorChainParam)
	fmt.Println(e.Type, e.Message)
	fmt.Println(errType) // the first type in the chain that is not a generic wrapper
	fmt.Println(chain)
	fmt.Println(strings.Contains(e.StackTrace, "ExampleLogger_Error"), len(e.Fingerprint))
	// Output:
	// error load settings: open /does/not/exist: no such file or directory
	// *fs.PathError
	// [{"type":"*fmt.wrapError","message":"load settings: open /does/not/exist: no such file or directory"},{"type":"*fs.PathError","message":"open /does/not/exist: no such file or directory"},{"type":"syscall.Errno","message":"no such file or directory"}]
	// true 32
}

// Params can be built with typed constructors, given as a map, or both; a
// string is the record type, and any other argument is kept under
// audit.BadArgKey rather than lost.
func ExampleLogger_Log() {
	store := memory.New(memory.Options{})
	logger, _ := audit.New(audit.Options{Store: store, Sync: true})
	defer logger.Close(context.Background())

	logger.Log("query executed",
		audit.Object("query", "query", "q-42"),
		audit.Int("rows", 1234),
		audit.Duration("took", 250*time.Millisecond),
		map[string]any{"cached": true},
		datagrok.QueryStart,
		3.5, // a mistake: kept as !BADARG5
	)

	page, _ := store.Read(context.Background(), audit.Query{})
	e := page.Events[0]
	fmt.Println(e.Type)
	for _, p := range e.Params {
		fmt.Println(p.Key, p.Value)
	}
	// Output:
	// query-start
	// !BADARG5 3.5
	// cached true
	// query q-42
	// rows 1234
	// took 250ms
}

// The Context forms pass the call's context to the callbacks, which can
// copy what it carries (here a request id) into the event, and attribute
// the event to the context's subject.
func ExampleLogger_LogContext() {
	type requestID struct{}
	store := memory.New(memory.Options{})
	logger, _ := audit.New(audit.Options{Store: store, Sync: true,
		Callback: func(ctx context.Context, e *audit.Event) {
			if id, ok := ctx.Value(requestID{}).(string); ok {
				e.Set("request_id", id)
			}
		}})
	defer logger.Close(context.Background())

	ctx := context.WithValue(context.Background(), requestID{}, "r-7")
	ctx = audit.WithSubject(ctx, audit.Subject{UserID: "alice"})
	logger.UsageContext(ctx, "report exported", audit.String("format", "csv"))

	page, _ := store.Read(context.Background(), audit.Query{})
	e := page.Events[0]
	id, _ := e.Param("request_id")
	fmt.Println(e.UserID, e.Type, e.Message, id)
	// Output:
	// alice usage report exported r-7
}

func ExampleLogger_WithCallback() {
	var out strings.Builder
	logger, _ := audit.New(audit.Options{
		Sinks:  []audit.Sink{jsonl.New(&out, jsonl.Options{})},
		Params: map[string]any{"service": "billing"},
	})
	// The JS putCallback: persistent params on every event.
	pkg := logger.WithPackage("reports").WithCallback(func(_ context.Context, e *audit.Event) { e.Set("persistent", "value") })
	pkg.Info("report built", map[string]any{"pages": 3})
	logger.Close(context.Background())

	events, _ := jsonl.ReadEvents(strings.NewReader(out.String()))
	for _, p := range events[0].Params {
		fmt.Printf("%s=%s\n", p.Key, p.Value)
	}
	// Output:
	// package=reports
	// pages=3
	// persistent=value
	// service=billing
}

func ExampleWithSubject() {
	store := memory.New(memory.Options{})
	logger, _ := audit.New(audit.Options{Store: store, Sync: true})
	defer logger.Close(context.Background())

	// Middleware puts the request's user and session in its context...
	ctx := audit.WithSubject(context.Background(), audit.Subject{UserID: "bob", SessionID: "s-7"})
	// ...and handlers log through it.
	logger.For(ctx).Log("project opened", map[string]any{"project": audit.Ref("project", "p-1")}, datagrok.ProjectOpened)
	logger.LogEvent(ctx, audit.Event{Level: audit.LevelAudit, Type: datagrok.ProjectEdited, Message: "project edited"})

	page, _ := store.Read(context.Background(), audit.Query{UserIDs: []string{"bob"}})
	for _, e := range page.Events {
		fmt.Println(e.Type, e.UserID, e.SessionID)
	}
	// Output:
	// project-edited bob s-7
	// project-opened bob s-7
}

func ExampleLogger_Stats() {
	logger, _ := audit.New(audit.Options{Store: memory.New(memory.Options{}), QueueSize: 1, Overflow: audit.OverflowDrop, ErrorHandler: func(error) {}})
	var dropped int
	for range 100 {
		if err := logger.Log("burst", nil); errors.Is(err, audit.ErrQueueFull) {
			dropped++
		}
	}
	logger.Close(context.Background())
	s := logger.Stats()
	fmt.Println(s.Written+s.Dropped == 100, s.Dropped == uint64(dropped))
	fmt.Println(logger.Log("late", nil))
	// Output:
	// true true
	// audit: closed
}
