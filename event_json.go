package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/auditkit/audit/internal/codec"
)

// MarshalJSON encodes e in the one JSON shape of an event (the package
// documentation, section JSON, shows it). It fails only for an invalid Level.
// The fields:
//
//   - id, time (UTC, RFC 3339 with microseconds; a year outside 0-9999 as a
//     sign and six or more digits, +010000-01-01T...), level, type and
//     message are always there; user_id, session_id, params, duration_ms,
//     stack_trace and fingerprint only when not empty or zero.
//   - params holds each param's natural JSON, in the event's order: a
//     string, a number, true or false, null, an object reference as
//     {"kind","id"}, JSON as itself, a time (RFC 3339) or a duration ("1.5s")
//     as a string, NaN and infinities as strings.
//   - kinds names the [Kind] of each param whose JSON does not tell it (a
//     reader assumes string, bool, null, JSON for objects and arrays, int64
//     for integers that fit, float64 for other numbers).
//   - duration_ms is in milliseconds; duration_ns, exact, follows it when
//     the milliseconds do not give back the nanoseconds.
//   - A string that is not valid UTF-8 or holds NUL is written in its
//     [Text] form, and raw maps its JSON Pointer ("/message",
//     "/params/KEY", "/params/KEY/id") to the base64 of the original bytes;
//     raw_keys does the same for param keys.
func (e Event) MarshalJSON() ([]byte, error) {
	var enc eventEncoder
	return enc.appendEvent(make([]byte, 0, 256+32*len(e.Params)), &e)
}

// UnmarshalJSON decodes an event written by [Event.MarshalJSON], restoring
// it exactly. A reader may leave out everything but id, time and level.
func (e *Event) UnmarshalJSON(b []byte) error {
	d, err := decodeEvent(b)
	if err != nil {
		return fmt.Errorf("audit: event JSON: %w", err)
	}
	*e = d
	return nil
}

// eventEncoder holds what one event's encoding collects besides the JSON
// itself.
type eventEncoder struct {
	kinds   []jsonKV // written key -> kind name
	raw     []jsonKV // JSON Pointer -> base64 of the original bytes
	rawKeys []jsonKV // written key -> base64 of the original key
	// The keys written so far: in small, for up to len(small) params,
	// else in keys.
	small  [16]string
	nsmall int
	keys   map[string]bool
}

type jsonKV struct{ k, v string }

func (enc *eventEncoder) appendEvent(b []byte, e *Event) ([]byte, error) {
	if !e.Level.Valid() {
		return nil, fmt.Errorf("%w: %w: %d", ErrInvalidEvent, ErrInvalidLevel, uint8(e.Level))
	}
	b = append(b, `{"id":"`...)
	var id [36]byte
	encodeUUID(id[:], e.ID)
	b = append(b, id[:]...)
	b = append(b, `","time":"`...)
	b = appendTime(b, e.Time)
	b = append(b, `","level":"`...)
	b = append(b, levelNames[e.Level]...)
	b = append(b, '"')
	b = enc.appendField(b, "type", e.Type, false)
	b = enc.appendField(b, "message", e.Message, false)
	b = enc.appendField(b, "user_id", e.UserID, true)
	b = enc.appendField(b, "session_id", e.SessionID, true)
	if len(e.Params) > 0 {
		b = enc.appendParams(b, e.Params)
	}
	if e.Duration != 0 {
		ms := float64(e.Duration) / float64(time.Millisecond)
		b = append(b, `,"duration_ms":`...)
		b = strconv.AppendFloat(b, ms, 'f', -1, 64)
		if time.Duration(math.Round(ms*float64(time.Millisecond))) != e.Duration {
			b = append(b, `,"duration_ns":`...)
			b = strconv.AppendInt(b, int64(e.Duration), 10)
		}
	}
	b = enc.appendField(b, "stack_trace", e.StackTrace, true)
	b = enc.appendField(b, "fingerprint", e.Fingerprint, true)
	if len(enc.kinds) > 0 {
		b = appendJSONObject(b, "kinds", enc.kinds)
	}
	if len(enc.raw) > 0 {
		b = appendJSONObject(b, "raw", enc.raw)
	}
	if len(enc.rawKeys) > 0 {
		b = appendJSONObject(b, "raw_keys", enc.rawKeys)
	}
	return append(b, '}'), nil
}

// encodeUUID writes the canonical text of id into dst (36 bytes).
func encodeUUID(dst []byte, id uuid.UUID) {
	const hexDigits = "0123456789abcdef"
	j := 0
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j], dst[j+1] = hexDigits[c>>4], hexDigits[c&0xf]
		j += 2
	}
}

// timeLayout is RFC 3339 with microseconds, the resolution of events.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// appendTime appends t in UTC as RFC 3339 with microseconds. A year outside
// 0-9999, which RFC 3339 cannot write, is written as ISO 8601's expanded
// year: a sign and at least six digits (+010000-01-01T00:00:00.000000Z).
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	y := t.Year()
	if y >= 0 && y <= 9999 {
		return t.AppendFormat(b, timeLayout)
	}
	if y < 0 {
		b = append(b, '-')
		y = -y
	} else {
		b = append(b, '+')
	}
	ys := strconv.Itoa(y)
	for i := len(ys); i < 6; i++ {
		b = append(b, '0')
	}
	b = append(b, ys...)
	// The rest of the time, in a leap year so that February 29 exists.
	rest := time.Date(2000, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	return rest.AppendFormat(b, timeLayout[4:])
}

// parseTime parses what appendTime writes, and any RFC 3339 time.
func parseTime(s string) (time.Time, error) {
	if s == "" || (s[0] != '+' && s[0] != '-') {
		t, err := time.Parse(time.RFC3339Nano, s)
		return t.UTC(), err
	}
	i := strings.IndexByte(s[1:], '-')
	if i < 4 {
		return time.Time{}, fmt.Errorf("time %q: bad expanded year", s)
	}
	y, err := strconv.Atoi(s[1 : 1+i])
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: bad expanded year", s)
	}
	if s[0] == '-' {
		y = -y
	}
	rest, err := time.Parse(time.RFC3339Nano, "2000"+s[1+i:])
	if err != nil {
		return time.Time{}, err
	}
	rest = rest.UTC()
	return time.Date(y, rest.Month(), rest.Day(), rest.Hour(), rest.Minute(), rest.Second(), rest.Nanosecond(), time.UTC), nil
}

// appendField appends ,"name":"text" and records the original of s in raw
// when its text form differs.
func (enc *eventEncoder) appendField(b []byte, name, s string, omitEmpty bool) []byte {
	if omitEmpty && s == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, enc.text("/"+name, s))
}

// text returns the text form of s, recording s in raw under pointer when
// they differ.
func (enc *eventEncoder) text(pointer, s string) string {
	t, changed := Text(s)
	if changed {
		enc.raw = append(enc.raw, jsonKV{pointer, base64.StdEncoding.EncodeToString([]byte(s))})
	}
	return t
}

func (enc *eventEncoder) appendParams(b []byte, params []Param) []byte {
	b = append(b, `,"params":{`...)
	for i, p := range params {
		if i > 0 {
			b = append(b, ',')
		}
		key := enc.writtenKey(p.Key)
		b = appendJSONString(b, key)
		b = append(b, ':')
		start := len(b)
		b = enc.appendValue(b, key, p.Value)
		if k := p.Value.Kind(); inferKind(b[start:]) != k {
			enc.kinds = append(enc.kinds, jsonKV{key, k.String()})
		}
	}
	return append(b, '}')
}

// writtenKey returns the key to write for key: its text form, made unique in
// the event, with the original in raw_keys when they differ.
func (enc *eventEncoder) writtenKey(key string) string {
	w, _ := Text(key)
	if enc.written(w) {
		base := w
		for n := 2; enc.written(w); n++ {
			w = base + "#" + strconv.Itoa(n)
		}
	}
	if enc.keys == nil && enc.nsmall == len(enc.small) {
		enc.keys = make(map[string]bool, 2*len(enc.small))
		for _, k := range enc.small {
			enc.keys[k] = true
		}
	}
	if enc.keys != nil {
		enc.keys[w] = true
	} else {
		enc.small[enc.nsmall] = w
		enc.nsmall++
	}
	if w != key {
		enc.rawKeys = append(enc.rawKeys, jsonKV{w, base64.StdEncoding.EncodeToString([]byte(key))})
	}
	return w
}

// written reports whether the key w was written already.
func (enc *eventEncoder) written(w string) bool {
	if enc.keys != nil {
		return enc.keys[w]
	}
	for _, k := range enc.small[:enc.nsmall] {
		if k == w {
			return true
		}
	}
	return false
}

func (enc *eventEncoder) appendValue(b []byte, key string, v Value) []byte {
	switch v.kind {
	case KindString:
		return appendJSONString(b, enc.valueText(key, "", v.str))
	case KindEntity:
		b = append(b, '{')
		if v.aux != "" {
			b = append(b, `"kind":`...)
			b = appendJSONString(b, enc.valueText(key, "/kind", v.aux))
			b = append(b, ',')
		}
		b = append(b, `"id":`...)
		b = appendJSONString(b, enc.valueText(key, "/id", v.str))
		return append(b, '}')
	case KindJSON:
		var buf, esc bytes.Buffer
		var written []byte
		if err := json.Compact(&buf, []byte(v.str)); err == nil {
			// Escaped as json.Marshal escapes what a Marshaler returns, so
			// that the text is the same through it (<, >, &, U+2028).
			json.HTMLEscape(&esc, buf.Bytes())
			t, _ := Text(esc.String())
			written = []byte(t)
		} else {
			// Not JSON after all (a Value read back from a damaged store):
			// write it as a string; raw keeps the text.
			t, _ := Text(v.str)
			written = appendJSONString(nil, t)
		}
		if string(written) != v.str {
			enc.raw = append(enc.raw, jsonKV{paramPointer(key, ""), base64.StdEncoding.EncodeToString([]byte(v.str))})
		}
		return append(b, written...)
	case KindNull:
		return append(b, "null"...)
	case KindInt64:
		return strconv.AppendInt(b, int64(v.num), 10)
	case KindUint64:
		return strconv.AppendUint(b, v.num, 10)
	case KindBool:
		return strconv.AppendBool(b, v.num == 1)
	case KindFloat64:
		f := math.Float64frombits(v.num)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			b = append(b, '"')
			b = strconv.AppendFloat(b, f, 'g', -1, 64)
			return append(b, '"')
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	}
	// Times and durations: quoted ASCII.
	b = append(b, '"')
	b = append(b, v.String()...)
	return append(b, '"')
}

// valueText is text for a string in a param.
func (enc *eventEncoder) valueText(key, sub, s string) string {
	if t, changed := Text(s); changed {
		enc.raw = append(enc.raw, jsonKV{paramPointer(key, sub), base64.StdEncoding.EncodeToString([]byte(s))})
		return t
	}
	return s
}

func paramPointer(key, sub string) string {
	return "/params/" + escapePointer(key) + sub
}

// inferKind returns the kind a reader assumes for a JSON value without a
// kinds entry.
func inferKind(j []byte) Kind {
	if len(j) == 0 {
		return KindNull
	}
	switch j[0] {
	case '"':
		return KindString
	case 't', 'f':
		return KindBool
	case 'n':
		return KindNull
	case '{', '[':
		return KindJSON
	}
	if bytes.ContainsAny(j, ".eE") {
		return KindFloat64
	}
	if _, err := strconv.ParseInt(string(j), 10, 64); err == nil {
		return KindInt64
	}
	return KindFloat64
}

func appendJSONObject(b []byte, name string, entries []jsonKV) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, `":{`...)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, e.k)
		b = append(b, ':')
		b = appendJSONString(b, e.v)
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

// appendJSONString appends s, which must be valid UTF-8, as a JSON string.
// Unlike encoding/json it leaves <, > and & alone, so the output reads
// naturally; it escapes U+2028 and U+2029, which break some JavaScript
// readers.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
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
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
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
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonEvent is the decoded shape of an event's JSON.
type jsonEvent struct {
	ID          string            `json:"id"`
	Time        string            `json:"time"`
	Level       string            `json:"level"`
	Type        string            `json:"type"`
	Message     string            `json:"message"`
	UserID      string            `json:"user_id"`
	SessionID   string            `json:"session_id"`
	Params      json.RawMessage   `json:"params"`
	DurationMS  *float64          `json:"duration_ms"`
	DurationNS  *int64            `json:"duration_ns"`
	StackTrace  string            `json:"stack_trace"`
	Fingerprint string            `json:"fingerprint"`
	Kinds       map[string]string `json:"kinds"`
	Raw         map[string]string `json:"raw"`
	RawKeys     map[string]string `json:"raw_keys"`
}

// scanEvent reads the fields of an event's JSON into j, without
// reflection: b is checked to be valid JSON first, and the fields are then
// found by a scanner. Unknown fields are ignored; of a repeated field the
// last counts, as with encoding/json.
func scanEvent(b []byte, j *jsonEvent) error {
	if !json.Valid(b) {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		return errors.New("invalid JSON")
	}
	i := skipSpace(b, 0)
	if b[i] != '{' {
		return errors.New("not a JSON object")
	}
	for i = skipSpace(b, i+1); b[i] != '}'; i = skipSpace(b, i) {
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
		end := stringEnd(b, i)
		key, err := jsonString(b[i:end])
		if err != nil {
			return err
		}
		i = skipSpace(b, skipSpace(b, end)+1) // past the colon
		end = valueEnd(b, i)
		v := b[i:end]
		i = end
		var dst *string
		switch key {
		case "id":
			dst = &j.ID
		case "time":
			dst = &j.Time
		case "level":
			dst = &j.Level
		case "type":
			dst = &j.Type
		case "message":
			dst = &j.Message
		case "user_id":
			dst = &j.UserID
		case "session_id":
			dst = &j.SessionID
		case "stack_trace":
			dst = &j.StackTrace
		case "fingerprint":
			dst = &j.Fingerprint
		case "params":
			j.Params = v
		case "duration_ms", "duration_ns":
			if string(v) == "null" {
				continue
			}
			if key == "duration_ns" {
				n, err := strconv.ParseInt(string(v), 10, 64)
				if err != nil {
					return fmt.Errorf("duration_ns: %w", err)
				}
				j.DurationNS = &n
				continue
			}
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				return fmt.Errorf("duration_ms: %w", err)
			}
			j.DurationMS = &f
		case "kinds", "raw", "raw_keys":
			m, err := stringMap(v)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			switch key {
			case "kinds":
				j.Kinds = m
			case "raw":
				j.Raw = m
			default:
				j.RawKeys = m
			}
		}
		if dst != nil && string(v) != "null" {
			if v[0] != '"' {
				return fmt.Errorf("%s: not a string", key)
			}
			if *dst, err = jsonString(v); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	return nil
}

// stringMap reads a JSON object of strings (valid JSON), or null.
func stringMap(v []byte) (map[string]string, error) {
	if string(v) == "null" {
		return nil, nil
	}
	if v[0] != '{' {
		return nil, errors.New("not an object")
	}
	m := map[string]string{}
	for i := skipSpace(v, 1); v[i] != '}'; i = skipSpace(v, i) {
		if v[i] == ',' {
			i = skipSpace(v, i+1)
		}
		end := stringEnd(v, i)
		k, err := jsonString(v[i:end])
		if err != nil {
			return nil, err
		}
		i = skipSpace(v, skipSpace(v, end)+1)
		end = valueEnd(v, i)
		if v[i] != '"' {
			return nil, fmt.Errorf("%q: not a string", k)
		}
		if m[k], err = jsonString(v[i:end]); err != nil {
			return nil, err
		}
		i = end
	}
	return m, nil
}

// eventDecoder restores one event's strings from raw, counting the entries
// it uses so that leftovers show.
type eventDecoder struct {
	j                   *jsonEvent
	raw, rawKeys, kinds int // entries used
	err                 error
}

func decodeEvent(b []byte) (Event, error) {
	var j jsonEvent
	if err := scanEvent(b, &j); err != nil {
		return Event{}, err
	}
	var e Event
	var err error
	if e.ID, err = uuid.Parse(j.ID); err != nil {
		return Event{}, fmt.Errorf("id: %w", err)
	}
	if e.Time, err = parseTime(j.Time); err != nil {
		return Event{}, fmt.Errorf("time: %w", err)
	}
	if e.Level, err = ParseLevel(j.Level); err != nil {
		return Event{}, err
	}
	d := &eventDecoder{j: &j}
	e.Type = d.text("/type", j.Type)
	e.Message = d.text("/message", j.Message)
	e.StackTrace = d.text("/stack_trace", j.StackTrace)
	e.Fingerprint = d.text("/fingerprint", j.Fingerprint)
	e.SessionID = d.text("/session_id", j.SessionID)
	e.UserID = d.text("/user_id", j.UserID)
	switch {
	case j.DurationNS != nil:
		e.Duration = time.Duration(*j.DurationNS)
	case j.DurationMS != nil:
		ms := *j.DurationMS * float64(time.Millisecond)
		if !(math.Abs(ms) < math.MaxInt64) {
			return Event{}, fmt.Errorf("duration_ms %v: out of range", *j.DurationMS)
		}
		e.Duration = time.Duration(math.Round(ms))
	}
	if len(j.Params) > 0 && !bytes.Equal(j.Params, []byte("null")) {
		if e.Params, err = d.params(j.Params); err != nil {
			return Event{}, fmt.Errorf("params: %w", err)
		}
	}
	if d.err != nil {
		return Event{}, d.err
	}
	if d.raw != len(j.Raw) || d.rawKeys != len(j.RawKeys) || d.kinds != len(j.Kinds) {
		return Event{}, errors.New("raw, raw_keys or kinds name fields the event does not have")
	}
	return e, nil
}

// text returns the original of the string written at pointer: from raw if
// it has an entry, else the written string.
func (d *eventDecoder) text(pointer, written string) string {
	return d.lookup(d.j.Raw, &d.raw, pointer, written)
}

func (d *eventDecoder) lookup(m map[string]string, used *int, key, written string) string {
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

// params reads the params object j, which the decoding of the whole event
// has already found to be valid JSON, in order, without a JSON decoder.
func (d *eventDecoder) params(j []byte) ([]Param, error) {
	i := skipSpace(j, 0)
	if i >= len(j) || j[i] != '{' {
		return nil, errors.New("not an object")
	}
	params := make([]Param, 0, bytes.Count(j, []byte{':'}))
	for i = skipSpace(j, i+1); i < len(j) && j[i] != '}'; i = skipSpace(j, i) {
		if j[i] == ',' {
			i = skipSpace(j, i+1)
		}
		end := stringEnd(j, i)
		key, err := jsonString(j[i:end])
		if err != nil {
			return nil, err
		}
		i = skipSpace(j, end) + 1 // the colon
		i = skipSpace(j, i)
		end = valueEnd(j, i)
		for _, p := range params {
			if p.Key == key {
				return nil, fmt.Errorf("%q: duplicate key", key)
			}
		}
		pointer := ""
		if len(d.j.Raw) > 0 { // only raw is looked up by pointer
			pointer = paramPointer(key, "")
		}
		v, err := d.value(pointer, key, j[i:end])
		if err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
		params = append(params, Param{Key: d.lookup(d.j.RawKeys, &d.rawKeys, key, key), Value: v})
		i = end
	}
	if len(params) == 0 {
		return nil, nil // as an event without params
	}
	return params, nil
}

func skipSpace(j []byte, i int) int {
	for i < len(j) && (j[i] == ' ' || j[i] == '\t' || j[i] == '\n' || j[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the JSON string that starts at i.
func stringEnd(j []byte, i int) int {
	for k := i + 1; k < len(j); k++ {
		switch j[k] {
		case '\\':
			k++
		case '"':
			return k + 1
		}
	}
	return len(j)
}

// valueEnd returns the index after the JSON value that starts at i.
func valueEnd(j []byte, i int) int {
	if i >= len(j) {
		return i
	}
	switch j[i] {
	case '"':
		return stringEnd(j, i)
	case '{', '[':
		depth := 0
		for k := i; k < len(j); k++ {
			switch j[k] {
			case '"':
				k = stringEnd(j, k) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return k + 1
				}
			}
		}
		return len(j)
	}
	k := i
	for k < len(j) && !strings.ContainsRune(",}] \t\r\n", rune(j[k])) {
		k++
	}
	return k
}

// jsonString returns the string the JSON string literal q stands for.
func jsonString(q []byte) (string, error) {
	if len(q) >= 2 && q[0] == '"' && q[len(q)-1] == '"' && bytes.IndexByte(q, '\\') < 0 {
		return string(q[1 : len(q)-1]), nil
	}
	var s string
	err := json.Unmarshal(q, &s)
	return s, err
}

func (d *eventDecoder) value(pointer, key string, j []byte) (Value, error) {
	kind := inferKind(j)
	if name, ok := d.j.Kinds[key]; ok {
		d.kinds++
		k, ok := codec.ParseKind(name)
		if !ok {
			return Value{}, fmt.Errorf("unknown kind %q", name)
		}
		kind = Kind(k)
	}
	switch kind {
	case KindNull:
		if string(j) != "null" {
			return Value{}, fmt.Errorf("kind null but value %s", j)
		}
		return Value{}, nil
	case KindJSON:
		if _, ok := d.j.Raw[pointer]; ok {
			return parseValue(KindJSON, d.text(pointer, ""), "")
		}
		return parseValue(KindJSON, string(j), "")
	case KindEntity:
		ent, err := decodeRef(j)
		if err != nil {
			return Value{}, fmt.Errorf("kind entity_id: %w", err)
		}
		if len(d.j.Raw) > 0 {
			ent = Ref(d.text(pointer+"/kind", ent.Kind), d.text(pointer+"/id", ent.ID))
		}
		return EntityValue(ent), nil
	case KindString, KindTime, KindDuration:
		s, err := jsonString(j)
		if err != nil {
			return Value{}, fmt.Errorf("kind %v: %w", kind, err)
		}
		if kind == KindString {
			return StringValue(d.text(pointer, s)), nil
		}
		return parseValue(kind, s, "")
	case KindFloat64:
		if len(j) > 0 && j[0] == '"' { // NaN and infinities
			s, err := strconv.Unquote(string(j))
			if err != nil {
				return Value{}, err
			}
			return parseValue(kind, s, "")
		}
	}
	// Numbers and booleans: the JSON text is the value's text.
	return parseValue(kind, string(j), "")
}

// decodeRef reads an object reference {"kind","id"}.
func decodeRef(j []byte) (Entity, error) {
	var ent struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
	}
	err := json.Unmarshal(j, &ent)
	return Entity{Kind: ent.Kind, ID: ent.ID}, err
}
