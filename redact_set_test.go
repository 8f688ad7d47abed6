package audit_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/audittest"
	"github.com/auditkit/audit/store/memory"
)

// TestSetRedactWhileLogging swaps the rule while several goroutines log:
// an event logged before the swap began keeps ssn, one logged after it
// returned has ssn and card redacted, and every event is redacted by one
// rule whole, with the HMAC key of Options.
func TestSetRedactWhileLogging(t *testing.T) {
	key := []byte("k")
	st := memory.New(memory.Options{})
	l, err := audit.New(audit.Options{Store: st, Redact: audit.Redact{HMACKey: key}})
	if err != nil {
		t.Fatal(err)
	}
	var phase atomic.Int32 // 0 before SetRedact, 1 during, 2 after
	var seen sync.Map      // seq -> [2]int32: phase before and after Log
	var wg sync.WaitGroup
	const workers, each = 4, 150
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				seq := fmt.Sprint(w*each + i)
				before := phase.Load()
				if err := l.Log("pay", map[string]any{"seq": seq, "ssn": "123-45-" + seq, "card": "4111"}); err != nil {
					t.Error(err)
				}
				seen.Store(seq, [2]int32{before, phase.Load()})
				if i == each/2 && w == 0 {
					phase.Store(1)
					if err := l.SetRedact(audit.Redact{Keys: []string{"ssn"}, Patterns: []*regexp.Regexp{regexp.MustCompile("^card$")}}); err != nil {
						t.Error(err)
					}
					phase.Store(2)
				}
			}
		})
	}
	wg.Wait()
	if err := l.SetRedact(audit.Redact{Patterns: []*regexp.Regexp{nil}}); !errors.Is(err, audit.ErrInvalidOptions) {
		t.Errorf("SetRedact(nil pattern) = %v, want ErrInvalidOptions", err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs := audittest.Stored(t, st)
	if len(evs) != workers*each {
		t.Fatalf("stored %d events, want %d", len(evs), workers*each)
	}
	var old, redacted int
	for _, e := range evs {
		p := map[string]string{}
		for _, x := range e.Params {
			p[x.Key] = x.Value.String()
		}
		v, _ := seen.Load(p["seq"])
		ph := v.([2]int32)
		ssnHidden := p["ssn"] == audit.RedactHMAC(key, "123-45-"+p["seq"])
		cardHidden := p["card"] == audit.RedactHMAC(key, "4111")
		switch {
		case ssnHidden != cardHidden:
			t.Errorf("event %s redacted by two rules: %v", p["seq"], p)
		case ph[0] == 2 && !ssnHidden:
			t.Errorf("event %s logged after SetRedact not redacted: %v", p["seq"], p)
		case ph[1] == 0 && ssnHidden:
			t.Errorf("event %s logged before SetRedact redacted: %v", p["seq"], p)
		case ssnHidden:
			redacted++
		default:
			old++
		}
	}
	if old == 0 || redacted == 0 {
		t.Errorf("%d events under the old rule, %d under the new: want some of each", old, redacted)
	}
}
