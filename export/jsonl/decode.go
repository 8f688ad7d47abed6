package jsonl

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/auditkit/audit"
)

// Decoder reads events from JSON lines written by a [Sink].
type Decoder struct {
	r    *bufio.Reader
	line int
}

// NewDecoder returns a Decoder that reads from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: bufio.NewReader(r)}
}

// Decode returns the next event. Blank lines are skipped. At the end of the
// input it returns io.EOF; a line that is not an event returns an error that
// names its line number.
func (d *Decoder) Decode() (audit.Event, error) {
	for {
		b, err := d.r.ReadBytes('\n')
		if len(b) == 0 && err != nil {
			if err == io.EOF {
				return audit.Event{}, io.EOF
			}
			return audit.Event{}, fmt.Errorf("jsonl: read: %w", err)
		}
		d.line++
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		e, derr := decodeLine(b)
		if derr != nil {
			return audit.Event{}, fmt.Errorf("jsonl: line %d: %w", d.line, derr)
		}
		return e, nil
	}
}

// ReadEvents reads every event from r, as [Decoder.Decode] does.
func ReadEvents(r io.Reader) ([]audit.Event, error) {
	d := NewDecoder(r)
	var events []audit.Event
	for {
		e, err := d.Decode()
		if err == io.EOF {
			return events, nil
		}
		if err != nil {
			return events, err
		}
		events = append(events, e)
	}
}

func decodeLine(b []byte) (audit.Event, error) {
	var e audit.Event
	err := e.UnmarshalJSON(b)
	return e, err
}
