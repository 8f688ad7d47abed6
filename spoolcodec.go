package audit

import (
	"encoding/binary"
	"errors"
	"time"
	"unsafe"
)

// The spool's record of an event:
//
//	byte     version (1)
//	byte     route (RouteStore | RouteExport bits)
//	[16]byte ID
//	varint   Time, seconds since the Unix epoch; uvarint nanoseconds
//	byte     Level
//	varint   Duration
//	strings  Type, Message, StackTrace, Fingerprint, SessionID, UserID
//	uvarint  number of params, then each: string key, byte kind,
//	         uvarint num, string str, string aux
//
// where a string is a uvarint length and its bytes, kept byte for byte.
const spoolVersion = 1

var errSpoolRecord = errors.New("audit: spool record is malformed")

// appendSpoolRecord appends the record of e, for the destinations in route,
// to dst.
func appendSpoolRecord(dst []byte, route Route, e *Event) []byte {
	dst = append(dst, spoolVersion, byte(route))
	dst = append(dst, e.ID[:]...)
	dst = binary.AppendVarint(dst, e.Time.Unix())
	dst = binary.AppendUvarint(dst, uint64(e.Time.Nanosecond()))
	dst = append(dst, byte(e.Level))
	dst = binary.AppendVarint(dst, int64(e.Duration))
	for _, s := range [...]string{e.Type, e.Message, e.StackTrace, e.Fingerprint, e.SessionID, e.UserID} {
		dst = appendString(dst, s)
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.Params)))
	for _, p := range e.Params {
		dst = appendString(dst, p.Key)
		dst = append(dst, byte(p.Value.kind))
		dst = binary.AppendUvarint(dst, p.Value.num)
		dst = appendString(dst, p.Value.str)
		dst = appendString(dst, p.Value.aux)
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decodeSpoolRecord is the inverse of appendSpoolRecord. The event's strings
// are copied into a's text block, and its params into a's params block
// (with a nil a, one allocation each).
func decodeSpoolRecord(b []byte, a *spoolArena) (Route, Event, error) {
	var e Event
	if len(b) < 2+16 || b[0] != spoolVersion {
		return 0, e, errSpoolRecord
	}
	route := Route(b[1])
	copy(e.ID[:], b[2:18])
	d := spoolDecoder{text: a.string(b[18:])}
	sec := d.varint()
	nsec := d.uvarint()
	level := Level(d.byte())
	e.Duration = time.Duration(d.varint())
	e.Type, e.Message, e.StackTrace = d.string(), d.string(), d.string()
	e.Fingerprint, e.SessionID, e.UserID = d.string(), d.string(), d.string()
	n := d.uvarint()
	if d.bad || n > uint64(len(d.text)) {
		return 0, e, errSpoolRecord
	}
	if n > 0 {
		e.Params = a.paramSlice(int(n))
		for i := range e.Params {
			p := &e.Params[i]
			p.Key = d.string()
			p.Value.kind = Kind(d.byte())
			p.Value.num = d.uvarint()
			p.Value.str = d.string()
			p.Value.aux = d.string()
		}
	}
	if d.bad || d.off != len(d.text) || nsec >= 1e9 {
		return 0, Event{}, errSpoolRecord
	}
	e.Level = level
	e.Time = time.Unix(sec, int64(nsec)).UTC()
	return route, e, nil
}

// spoolDecoder reads a record's fields from one string, so decoded
// strings are substrings of it.
type spoolDecoder struct {
	text string
	off  int
	bad  bool
}

func (d *spoolDecoder) byte() byte {
	if d.off >= len(d.text) {
		d.bad = true
		return 0
	}
	d.off++
	return d.text[d.off-1]
}

func (d *spoolDecoder) uvarint() uint64 {
	var x uint64
	var s uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.off >= len(d.text) {
			break
		}
		c := d.text[d.off]
		d.off++
		if c < 0x80 {
			return x | uint64(c)<<s
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	d.bad = true
	return 0
}

func (d *spoolDecoder) varint() int64 {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (d *spoolDecoder) string() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.text)-d.off) {
		d.bad = true
		return ""
	}
	s := d.text[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

// spoolArena hands out the strings and params of decoded events from shared
// blocks, so a batch costs a few allocations instead of two per event. What
// it hands out is never written again, and a block is never reused: an
// event a destination keeps keeps its block alive. The nil arena allocates
// each time.
type spoolArena struct {
	text   []byte
	params []Param
}

const (
	arenaText   = 32 << 10 // bytes of a text block
	arenaParams = 256      // params of a params block
)

// string returns a copy of b.
func (a *spoolArena) string(b []byte) string {
	if a == nil || len(b) > arenaText/4 {
		return string(b)
	}
	if len(b) == 0 {
		return ""
	}
	if len(b) > cap(a.text)-len(a.text) {
		a.text = make([]byte, 0, arenaText)
	}
	n := len(a.text)
	a.text = append(a.text, b...)
	return unsafe.String(&a.text[n], len(b))
}

// paramSlice returns n zero params, with no room to append in place.
func (a *spoolArena) paramSlice(n int) []Param {
	if a == nil || n > arenaParams/4 {
		return make([]Param, n)
	}
	if n > cap(a.params)-len(a.params) {
		a.params = make([]Param, 0, arenaParams)
	}
	k := len(a.params)
	a.params = a.params[:k+n]
	return a.params[k : k+n : k+n]
}
