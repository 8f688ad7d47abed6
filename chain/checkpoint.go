package chain

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/driver"
	"github.com/google/uuid"
)

// CheckpointType is the record type of the events that carry checkpoints
// to an audit.Sink.
const CheckpointType = "audit-checkpoint"

// Checkpoint says that writer Writer had written record Seq, of hash Hash,
// at Time. Kept where the database's owner cannot change it (a file on
// another machine, CloudWatch), it lets [Verify] detect a chain cut short
// (records and their events deleted from the end) or rewritten since.
type Checkpoint struct {
	Writer    string    `json:"writer"`
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"`                // hex SHA-256 of the record
	Time      time.Time `json:"time"`                // the record's
	Signature string    `json:"signature,omitempty"` // hex, the record's signature
}

func checkpointOf(d *driver.Digest) *Checkpoint {
	return &Checkpoint{Writer: d.Writer, Seq: d.Seq, Hash: hex.EncodeToString(d.Hash), Time: d.Created,
		Signature: hex.EncodeToString(d.Signature)}
}

// Event returns the checkpoint as an event of type [CheckpointType], level
// audit, with params writer, seq, hash, time and signature.
func (c *Checkpoint) Event() audit.Event {
	id, _ := uuid.NewV7()
	return audit.Event{ID: id, Time: time.Now(), Level: audit.LevelAudit, Type: CheckpointType,
		Message: fmt.Sprintf("chain checkpoint %s seq %d", c.Writer, c.Seq),
		Params: []audit.Param{audit.String("writer", c.Writer), audit.Int64("seq", c.Seq), audit.String("hash", c.Hash),
			audit.Time("time", c.Time), audit.String("signature", c.Signature)}}
}

// AppendCheckpoint appends c to the file at path as one JSON line, creating
// the file with mode 0600, and syncs it.
func AppendCheckpoint(path string, c *Checkpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadCheckpoints reads a file of checkpoints: JSON lines written by
// [AppendCheckpoint], or events of type [CheckpointType] as the jsonl sink
// writes them (other events are skipped). It returns the latest checkpoint
// (highest seq) of each writer.
func ReadCheckpoints(path string) ([]Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	latest := map[string]int{}
	var out []Checkpoint
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		c, ok, err := parseCheckpoint(line)
		if err != nil {
			return nil, fmt.Errorf("chain: %s:%d: %w", path, n, err)
		}
		if !ok {
			continue
		}
		if i, seen := latest[c.Writer]; !seen {
			latest[c.Writer] = len(out)
			out = append(out, c)
		} else if c.Seq > out[i].Seq {
			out[i] = c
		}
	}
	return out, sc.Err()
}

func parseCheckpoint(line []byte) (Checkpoint, bool, error) {
	var probe struct {
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(line, &probe); err != nil {
		return Checkpoint{}, false, err
	}
	if probe.Type == nil {
		var c Checkpoint
		if err := json.Unmarshal(line, &c); err != nil {
			return c, false, err
		}
		if c.Writer == "" || c.Seq < 1 {
			return c, false, fmt.Errorf("not a checkpoint: no writer or seq")
		}
		return c, true, nil
	}
	if *probe.Type != CheckpointType {
		return Checkpoint{}, false, nil
	}
	var e audit.Event
	if err := json.Unmarshal(line, &e); err != nil {
		return Checkpoint{}, false, err
	}
	var c Checkpoint
	for _, p := range e.Params {
		switch p.Key {
		case "writer":
			c.Writer = p.Value.String()
		case "seq":
			c.Seq = p.Value.Int64()
		case "hash":
			c.Hash = p.Value.String()
		case "time":
			c.Time = p.Value.Time()
		case "signature":
			c.Signature = p.Value.String()
		}
	}
	return c, c.Writer != "" && c.Seq > 0, nil
}
