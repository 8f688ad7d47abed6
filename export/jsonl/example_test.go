package jsonl_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/export/jsonl"
)

func ExampleSink() {
	sink := jsonl.New(os.Stdout, jsonl.Options{})
	err := sink.Send(context.Background(), []audit.Event{{
		ID:      uuid.MustParse("0190a5e4-7b1c-7c2e-9f10-6d9a3b2c1e00"),
		Time:    time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC),
		Level:   audit.LevelAudit,
		Type:    datagrok.QueryStart,
		Message: "ran a query",
		Params: []audit.Param{
			audit.P("note", "bad \xff byte"),
			audit.P("query", audit.Ref("query", "q1")),
			audit.P("rows", 42),
		},
		UserID:   "alice",
		Duration: 1500 * time.Millisecond,
	}})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"id":"0190a5e4-7b1c-7c2e-9f10-6d9a3b2c1e00","time":"2024-05-01T12:00:00.123456Z","level":"audit","type":"query-start","message":"ran a query","user_id":"alice","params":{"note":"bad � byte","query":{"kind":"query","id":"q1"},"rows":42},"duration_ms":1500,"kinds":{"query":"entity_id"},"raw":{"/params/note":"YmFkIP8gYnl0ZQ=="}}
}

func ExampleReadEvents() {
	lines := `{"id":"0190a5e4-7b1c-7c2e-9f10-6d9a3b2c1e00","time":"2024-05-01T12:00:00Z","level":"error","type":"error","message":"nul \u2400 here","params":{"took":"1.5s","user":{"kind":"user","id":"u1"}},"kinds":{"took":"duration","user":"entity_id"},"raw":{"/message":"bnVsIAAgaGVyZQ=="}}
`
	events, err := jsonl.ReadEvents(bytes.NewBufferString(lines))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range events {
		fmt.Printf("%s %s %q\n", e.Level, e.Type, e.Message)
		for _, p := range e.Params {
			fmt.Printf("  %s = %v (%v)\n", p.Key, p.Value, p.Value.Kind())
		}
	}
	// Output:
	// error error "nul \x00 here"
	//   took = 1.5s (duration)
	//   user = u1 (entity_id)
}
