package jsonl

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/auditkit/audit"
	"github.com/google/uuid"
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

type line struct {
	ID          string            `json:"id"`
	Time        string            `json:"time"`
	Level       string            `json:"level"`
	Type        string            `json:"type"`
	Message     string            `json:"message"`
	Params      json.RawMessage   `json:"params"`
	Kinds       map[string]string `json:"kinds"`
	StackTrace  string            `json:"stack_trace"`
	Fingerprint string            `json:"fingerprint"`
	SessionID   string            `json:"session_id"`
	UserID      string            `json:"user_id"`
	DurationMS  *float64          `json:"duration_ms"`
	DurationNS  *int64            `json:"duration_ns"`
	Raw         map[string]string `json:"raw"`
	RawKeys     map[string]string `json:"raw_keys"`
}

// lineDecoder restores one line's strings from raw, counting the entries it
// uses so that leftovers show.
type lineDecoder struct {
	l                   *line
	raw, rawKeys, kinds int // entries used
	err                 error
}

func decodeLine(b []byte) (audit.Event, error) {
	var l line
	if err := json.Unmarshal(b, &l); err != nil {
		return audit.Event{}, err
	}
	var e audit.Event
	var err error
	if e.ID, err = uuid.Parse(l.ID); err != nil {
		return e, fmt.Errorf("id: %w", err)
	}
	if e.Time, err = time.Parse(time.RFC3339Nano, l.Time); err != nil {
		return e, fmt.Errorf("time: %w", err)
	}
	e.Time = e.Time.UTC()
	if e.Level, err = audit.ParseLevel(l.Level); err != nil {
		return e, err
	}
	d := &lineDecoder{l: &l}
	e.Type = d.text("/type", l.Type)
	e.Message = d.text("/message", l.Message)
	e.StackTrace = d.text("/stack_trace", l.StackTrace)
	e.Fingerprint = d.text("/fingerprint", l.Fingerprint)
	e.SessionID = d.text("/session_id", l.SessionID)
	e.UserID = d.text("/user_id", l.UserID)
	switch {
	case l.DurationNS != nil:
		e.Duration = time.Duration(*l.DurationNS)
	case l.DurationMS != nil:
		e.Duration = time.Duration(*l.DurationMS * float64(time.Millisecond))
	}
	if len(l.Params) > 0 && !bytes.Equal(l.Params, []byte("null")) {
		if e.Params, err = d.params(l.Params); err != nil {
			return e, fmt.Errorf("params: %w", err)
		}
	}
	if d.err != nil {
		return e, d.err
	}
	if d.raw != len(l.Raw) || d.rawKeys != len(l.RawKeys) || d.kinds != len(l.Kinds) {
		return e, errors.New("raw, raw_keys or kinds name fields the line does not have")
	}
	return e, nil
}

// text returns the original of the string written at pointer: from raw if
// it has an entry, else the written string.
func (d *lineDecoder) text(pointer, written string) string {
	return d.lookup(d.l.Raw, &d.raw, pointer, written)
}

func (d *lineDecoder) lookup(m map[string]string, used *int, key, written string) string {
	enc, ok := m[key]
	if !ok {
		return written
	}
	*used++
	orig, err := base64.StdEncoding.DecodeString(enc)
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("raw entry %q: %w", key, err)
	}
	return string(orig)
}

func (d *lineDecoder) params(j json.RawMessage) ([]audit.Param, error) {
	dec := json.NewDecoder(bytes.NewReader(j))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object")
	}
	var params []audit.Param
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string) // object keys are strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
		v, err := d.value("/params/"+escapePointer(key), key, raw)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
		params = append(params, audit.Param{Key: d.lookup(d.l.RawKeys, &d.rawKeys, key, key), Value: v})
	}
	return params, nil
}

func (d *lineDecoder) value(pointer, key string, j json.RawMessage) (audit.Value, error) {
	kind := infer(j)
	if name, ok := d.l.Kinds[key]; ok {
		d.kinds++
		if kind, ok = audit.ParseKind(name); !ok {
			return audit.Value{}, fmt.Errorf("unknown kind %q", name)
		}
	}
	switch kind {
	case audit.KindNull:
		if string(j) != "null" {
			return audit.Value{}, fmt.Errorf("kind null but value %s", j)
		}
		return audit.NullValue(), nil
	case audit.KindJSON:
		if _, ok := d.l.Raw[pointer]; ok {
			return audit.ParseValue(audit.KindJSON, d.text(pointer, ""), "")
		}
		return audit.ParseValue(audit.KindJSON, string(j), "")
	case audit.KindEntity:
		var ent struct {
			Kind string `json:"kind"`
			ID   string `json:"id"`
		}
		if err := json.Unmarshal(j, &ent); err != nil {
			return audit.Value{}, fmt.Errorf("kind entity_id: %w", err)
		}
		return audit.EntityValue(audit.Ref(d.text(pointer+"/kind", ent.Kind), d.text(pointer+"/id", ent.ID))), nil
	case audit.KindString, audit.KindTime, audit.KindDuration:
		var s string
		if err := json.Unmarshal(j, &s); err != nil {
			return audit.Value{}, fmt.Errorf("kind %v: %w", kind, err)
		}
		if kind == audit.KindString {
			return audit.StringValue(d.text(pointer, s)), nil
		}
		return audit.ParseValue(kind, s, "")
	case audit.KindFloat64:
		if len(j) > 0 && j[0] == '"' { // NaN and infinities
			s, err := strconv.Unquote(string(j))
			if err != nil {
				return audit.Value{}, err
			}
			return audit.ParseValue(kind, s, "")
		}
	}
	// Numbers and booleans: the JSON text is the value's text.
	return audit.ParseValue(kind, string(j), "")
}
