package chain_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/chain"
	"github.com/auditkit/audit/store/sqlite"
)

// collector is a sink that keeps what it is sent, failing while fail is set.
type collector struct {
	mu     sync.Mutex
	events []audit.Event
	fail   bool
}

func (c *collector) Send(_ context.Context, events []audit.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		return errors.New("sink down")
	}
	c.events = append(c.events, events...)
	return nil
}

// TestCheckpointSink sends a checkpoint every two records to a sink, as
// events that a jsonl file carries and ReadCheckpoints reads back; a
// checkpoint the sink refused is reported and sent with the next record.
func TestCheckpointSink(t *testing.T) {
	sink := &collector{}
	var reported []error
	file := filepath.Join(t.TempDir(), "cp.jsonl")
	w := newWriter(t, chain.Options{CheckpointEvery: 2, CheckpointSink: sink, CheckpointFile: file,
		OnError: func(err error) { reported = append(reported, err) }})
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "a.db"), sqlite.Options{Chain: w})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	write(t, s, events(0, 2), events(2, 2))
	sink.fail = true
	write(t, s, events(4, 2), events(6, 2)) // seq 4's checkpoint refused
	sink.fail = false
	write(t, s, events(8, 2)) // and sent with seq 5
	if len(reported) != 1 {
		t.Errorf("reported %v, want the refused checkpoint", reported)
	}
	var seqs []int64
	lines := filepath.Join(t.TempDir(), "events.jsonl")
	f, err := os.Create(lines)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range append(events(50, 1), sink.events...) { // another event, skipped
		if e.Type == chain.CheckpointType {
			seqs = append(seqs, e.Params[1].Value.Int64())
		}
		b, _ := json.Marshal(e)
		f.Write(append(b, '\n'))
	}
	f.Close()
	if len(seqs) != 2 || seqs[0] != 2 || seqs[1] != 5 {
		t.Errorf("checkpoints sent for seqs %v, want [2 5]", seqs)
	}
	for _, path := range []string{lines, file} {
		cps, err := chain.ReadCheckpoints(path)
		if err != nil || len(cps) != 1 || cps[0].Seq != 5 || cps[0].Writer != w.ID() {
			t.Errorf("%s: %+v, %v; want seq 5 of %s", path, cps, err, w.ID())
		}
		if r := verify(t, s, chain.VerifyOptions{Checkpoints: cps}); !r.OK() {
			t.Errorf("%s: %v", path, r.Problems)
		}
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("checkpoint file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	cp, err := w.Checkpoint(t.Context())
	if err != nil || cp == nil || cp.Seq != 5 {
		t.Errorf("Checkpoint: %+v, %v", cp, err)
	}
}
