package audit_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/store/memory"
)

// printCalls prints the stored events oldest first, without the parts that
// change from run to run (ids, times, durations, stacks).
func printCalls(st *memory.Store) {
	page, _ := st.Read(context.Background(), audit.Query{})
	for i := len(page.Events) - 1; i >= 0; i-- {
		e := page.Events[i]
		fmt.Printf("%s %s user=%s %q", e.Level, e.Type, e.UserID, e.Message)
		for _, p := range e.Params {
			if p.Key != audit.MSParam {
				fmt.Printf(" %s=%s", p.Key, p.Value)
			}
		}
		fmt.Printf(" stack=%t\n", e.Fingerprint != "")
	}
}

func ExampleLogger_Call() {
	st := memory.New(memory.Options{})
	logger, _ := audit.New(audit.Options{Store: st, Sync: true})
	defer logger.Close(context.Background())
	ctx := audit.WithSubject(context.Background(), audit.Subject{UserID: "ann"})

	transfer := func(ctx context.Context, amount int) (balance int, err error) {
		call := logger.Call(ctx, "transfer", map[string]any{"amount": amount})
		defer func() { _ = call.End(map[string]any{"balance": balance}, err) }()
		if amount <= 0 {
			return 100, errors.New("amount must be positive")
		}
		return 100 - amount, nil
	}
	_, _ = transfer(ctx, 30)
	_, _ = transfer(ctx, -5)

	printCalls(st)
	// Output:
	// audit function-call user=ann "transfer" function=transfer in.amount=30 out.balance=70 stack=false
	// error function-call user=ann "amount must be positive" error_type=*errors.errorString function=transfer in.amount=-5 out.balance=100 stack=true
}

func ExampleDo() {
	st := memory.New(memory.Options{})
	logger, _ := audit.New(audit.Options{Store: st, Sync: true})
	defer logger.Close(context.Background())
	ctx := audit.WithSubject(context.Background(), audit.Subject{UserID: "bob"})

	n, err := audit.Do(ctx, logger, "countRows", map[string]any{"table": "orders"},
		func(ctx context.Context) (int, error) { return 42, nil })
	fmt.Println(n, err)
	_, err = audit.Do(ctx, logger, "countRows", map[string]any{"table": "missing"},
		func(ctx context.Context) (int, error) { return 0, errors.New("no such table") })
	fmt.Println(err)

	printCalls(st)
	// Output:
	// 42 <nil>
	// no such table
	// audit function-call user=bob "countRows" function=countRows in.table=orders out.result=42 stack=false
	// error function-call user=bob "no such table" error_type=*errors.errorString function=countRows in.table=missing stack=true
}

func ExampleLogger_Go() {
	st := memory.New(memory.Options{})
	logger, _ := audit.New(audit.Options{Store: st, Sync: true})
	defer logger.Close(context.Background())

	done := logger.Go(context.Background(), "reindex", func(ctx context.Context) error {
		panic("index is corrupt")
	})
	err := <-done // the panic was recovered and recorded; the process goes on
	fmt.Println(err)

	printCalls(st)
	// Output:
	// panic: index is corrupt
	// error error user= "panic: index is corrupt" error_type=string function=reindex stack=true
}
