package jsonl

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auditkit/audit"
)

// encoder appends events as JSON lines. Its buffers are reused across events.
type encoder struct {
	buf     []byte
	kinds   []kv // written key -> kind name
	raw     []kv // JSON Pointer -> base64 of the original bytes
	rawKeys []kv // written key -> base64 of the original key
	keys    map[string]bool
	scratch bytes.Buffer
}

type kv struct{ k, v string }

// appendEvent appends e as one line, newline included.
func (enc *encoder) appendEvent(e *audit.Event) error {
	if !e.Level.Valid() {
		return fmt.Errorf("%w: %w: %d", audit.ErrInvalidEvent, audit.ErrInvalidLevel, uint8(e.Level))
	}
	enc.kinds, enc.raw, enc.rawKeys = enc.kinds[:0], enc.raw[:0], enc.rawKeys[:0]
	b := enc.buf
	b = append(b, `{"id":`...)
	b = appendString(b, e.ID.String())
	b = append(b, `,"time":`...)
	b = appendString(b, e.Time.UTC().Format(time.RFC3339Nano))
	b = append(b, `,"level":`...)
	b = appendString(b, e.Level.String())
	b = enc.appendField(b, "type", e.Type, false)
	b = enc.appendField(b, "message", e.Message, false)
	if len(e.Params) > 0 {
		b = enc.appendParams(b, e.Params)
	}
	if len(enc.kinds) > 0 {
		b = appendObject(b, "kinds", enc.kinds)
	}
	b = enc.appendField(b, "stack_trace", e.StackTrace, true)
	b = enc.appendField(b, "fingerprint", e.Fingerprint, true)
	b = enc.appendField(b, "session_id", e.SessionID, true)
	b = enc.appendField(b, "user_id", e.UserID, true)
	if e.Duration != 0 {
		b = append(b, `,"duration_ms":`...)
		b = strconv.AppendFloat(b, float64(e.Duration)/float64(time.Millisecond), 'g', -1, 64)
		b = append(b, `,"duration_ns":`...)
		b = strconv.AppendInt(b, int64(e.Duration), 10)
	}
	if len(enc.raw) > 0 {
		b = appendObject(b, "raw", enc.raw)
	}
	if len(enc.rawKeys) > 0 {
		b = appendObject(b, "raw_keys", enc.rawKeys)
	}
	enc.buf = append(b, "}\n"...)
	return nil
}

// appendField appends ,"name":"text" and records the original of s in raw
// when its text form differs.
func (enc *encoder) appendField(b []byte, name, s string, omitEmpty bool) []byte {
	if omitEmpty && s == "" {
		return b
	}
	b = append(b, ',')
	b = appendString(b, name)
	b = append(b, ':')
	return appendString(b, enc.text("/"+name, s))
}

// text returns the text form of s, recording s in raw under pointer when
// they differ.
func (enc *encoder) text(pointer, s string) string {
	t, changed := audit.Text(s)
	if changed {
		enc.raw = append(enc.raw, kv{pointer, base64.StdEncoding.EncodeToString([]byte(s))})
	}
	return t
}

func (enc *encoder) appendParams(b []byte, params []audit.Param) []byte {
	if enc.keys == nil {
		enc.keys = make(map[string]bool, len(params))
	}
	clear(enc.keys)
	b = append(b, `,"params":{`...)
	for i, p := range params {
		if i > 0 {
			b = append(b, ',')
		}
		key := enc.writtenKey(p.Key)
		b = appendString(b, key)
		b = append(b, ':')
		start := len(b)
		b = enc.appendValue(b, "/params/"+escapePointer(key), p.Value)
		if k := p.Value.Kind(); infer(b[start:]) != k {
			enc.kinds = append(enc.kinds, kv{key, k.String()})
		}
	}
	return append(b, '}')
}

// writtenKey returns the key to write for key: its text form, made unique in
// the event, with the original in raw_keys when they differ.
func (enc *encoder) writtenKey(key string) string {
	w, _ := audit.Text(key)
	if enc.keys[w] {
		base := w
		for n := 2; enc.keys[w]; n++ {
			w = base + "#" + strconv.Itoa(n)
		}
	}
	enc.keys[w] = true
	if w != key {
		enc.rawKeys = append(enc.rawKeys, kv{w, base64.StdEncoding.EncodeToString([]byte(key))})
	}
	return w
}

func (enc *encoder) appendValue(b []byte, pointer string, v audit.Value) []byte {
	switch v.Kind() {
	case audit.KindString:
		return appendString(b, enc.text(pointer, v.String()))
	case audit.KindEntity:
		ent, _ := v.Entity()
		b = append(b, '{')
		if ent.Kind != "" {
			b = append(b, `"kind":`...)
			b = appendString(b, enc.text(pointer+"/kind", ent.Kind))
			b = append(b, ',')
		}
		b = append(b, `"id":`...)
		b = appendString(b, enc.text(pointer+"/id", ent.ID))
		return append(b, '}')
	case audit.KindJSON:
		orig := string(v.JSON())
		enc.scratch.Reset()
		var written []byte
		if err := json.Compact(&enc.scratch, v.JSON()); err == nil {
			t, _ := audit.Text(enc.scratch.String())
			written = []byte(t)
		} else {
			// Not JSON after all (a Value read back from a damaged store):
			// write it as a string; raw keeps the text.
			t, _ := audit.Text(orig)
			written = appendString(nil, t)
		}
		if string(written) != orig {
			enc.raw = append(enc.raw, kv{pointer, base64.StdEncoding.EncodeToString([]byte(orig))})
		}
		return append(b, written...)
	}
	// Other kinds are ASCII: numbers, booleans, null and quoted times,
	// durations and non-finite floats.
	j, _ := v.MarshalJSON()
	return append(b, j...)
}

// infer returns the kind a reader assumes for a JSON value without a kinds
// entry.
func infer(j []byte) audit.Kind {
	if len(j) == 0 {
		return audit.KindNull
	}
	switch j[0] {
	case '"':
		return audit.KindString
	case 't', 'f':
		return audit.KindBool
	case 'n':
		return audit.KindNull
	case '{', '[':
		return audit.KindJSON
	}
	if _, err := strconv.ParseInt(string(j), 10, 64); err == nil {
		return audit.KindInt64
	}
	return audit.KindFloat64
}

func appendObject(b []byte, name string, entries []kv) []byte {
	b = append(b, ',')
	b = appendString(b, name)
	b = append(b, ":{"...)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, e.k)
		b = append(b, ':')
		b = appendString(b, e.v)
	}
	return append(b, '}')
}

// escapePointer escapes a key as a JSON Pointer reference token (RFC 6901).
func escapePointer(key string) string {
	if !strings.ContainsAny(key, "~/") {
		return key
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
}

const hex = "0123456789abcdef"

// appendString appends s, which must be valid UTF-8, as a JSON string. Unlike
// encoding/json it leaves <, > and & alone, so the lines read naturally.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != '\u2028' && r != '\u2029' {
				i += size
				continue
			}
			// Line and paragraph separators break some JavaScript readers.
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
			i += size
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
