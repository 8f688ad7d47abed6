package cloudwatch

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/auditkit/audit"
)

const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// render writes the event as a message in the block's format.
func render(e *audit.Event, b *Block) string {
	var buf bytes.Buffer
	if b.Format == FormatText {
		renderText(&buf, e, b.Params)
	} else {
		renderJSON(&buf, e, b.Params)
	}
	return buf.String()
}

// renderJSON writes the event in its one JSON shape ([audit.Event.MarshalJSON]),
// with the params the block keeps.
func renderJSON(buf *bytes.Buffer, e *audit.Event, p Params) {
	f := *e
	if !slices.ContainsFunc(e.Params, func(prm audit.Param) bool { return !p.keep(prm.Key) }) {
		f.Params = e.Params
	} else {
		f.Params = make([]audit.Param, 0, len(e.Params))
		for _, prm := range e.Params {
			if p.keep(prm.Key) {
				f.Params = append(f.Params, prm)
			}
		}
	}
	b, err := f.MarshalJSON()
	if err != nil { // an invalid level, which the Logger never sends
		b, _ = json.Marshal(map[string]string{"id": e.ID.String(), "error": err.Error()})
	}
	buf.Write(b)
}

func renderText(buf *bytes.Buffer, e *audit.Event, p Params) {
	buf.WriteString("[" + e.ID.String() + "] time=" + e.Time.UTC().Format(timeLayout) + " level=" + e.Level.String())
	pair := func(k, v string) {
		buf.WriteByte(' ')
		buf.WriteString(textValue(k))
		buf.WriteByte('=')
		buf.WriteString(textValue(v))
	}
	if e.Type != "" {
		pair("type", e.Type)
	}
	if e.UserID != "" {
		pair("user_id", e.UserID)
	}
	if e.SessionID != "" {
		pair("session_id", e.SessionID)
	}
	if e.Duration != 0 {
		pair("duration", e.Duration.String())
	}
	pair("msg", e.Message)
	for _, prm := range e.Params {
		if !p.keep(prm.Key) {
			continue
		}
		if ent, ok := prm.Value.Entity(); ok {
			pair(prm.Key, ent.String()) // kind:id
		} else {
			pair(prm.Key, prm.Value.String())
		}
	}
	if e.StackTrace != "" {
		pair("stack", e.StackTrace)
	}
	if e.Fingerprint != "" {
		pair("fingerprint", e.Fingerprint)
	}
}

// textValue returns s as valid text (audit.Text), quoted in Go syntax when it
// is empty or holds a space, '"', '=' or anything unprintable, so a value
// never breaks the line or the key=value structure.
func textValue(s string) string {
	s, _ = audit.Text(s)
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if r == ' ' || r == '"' || r == '=' || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// fit makes msg fit in limit bytes as the Oversize policy says. It returns
// the parts (one unless split) and whether msg had to change.
func fit(msg string, limit int, o Oversize, id string) ([]string, bool) {
	if len(msg) <= limit {
		return []string{msg}, false
	}
	if o == OversizeTruncate {
		return []string{audit.Truncate(msg, limit)}, true
	}
	return split(msg, limit, id), true
}

// split cuts s into parts of at most limit bytes, each starting with
// "[id k/n] ", at UTF-8 boundaries.
func split(s string, limit int, id string) []string {
	for n := 2; ; {
		// Size the prefix for n parts; k <= n never has more digits.
		chunks := cutAt(s, limit-len(partPrefix(id, n, n)))
		if len(chunks) > n {
			n = len(chunks)
			continue
		}
		for k := range chunks {
			chunks[k] = partPrefix(id, k+1, len(chunks)) + chunks[k]
		}
		return chunks
	}
}

func partPrefix(id string, k, n int) string {
	return "[" + id + " " + strconv.Itoa(k) + "/" + strconv.Itoa(n) + "] "
}

// cutAt cuts s into pieces of at most size bytes at UTF-8 boundaries.
func cutAt(s string, size int) []string {
	var out []string
	for len(s) > size {
		end := size
		for end > 0 && !utf8.RuneStart(s[end]) {
			end--
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return append(out, s)
}
