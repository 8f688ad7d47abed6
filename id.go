package audit

import (
	"encoding/binary"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// idGen makes UUIDv7 ids (RFC 9562) that are strictly increasing within a
// process: 48 bits of Unix milliseconds, 12 bits of sub-millisecond fraction
// (RFC 9562 method 3) bumped as a counter when two ids meet in the same tick,
// and 62 random bits. uuid.NewV7 reads crypto/rand on every call, or needs its
// package-level pool switched on; ids need uniqueness, not secrecy, so the
// random bits come from math/rand/v2's per-thread ChaCha8 source, which the
// runtime seeds from the operating system.
type idGen struct {
	last atomic.Uint64 // (ms << 12) | fraction of the last id made
}

func (g *idGen) next(t time.Time) uuid.UUID {
	ns := t.UnixNano()
	if ns < 0 {
		ns = 0
	}
	ms := uint64(ns / 1e6)
	frac := uint64(ns%1e6) * 4096 / 1e6
	want := ms<<12 | frac
	for {
		last := g.last.Load()
		if want <= last {
			want = last + 1
		}
		if g.last.CompareAndSwap(last, want) {
			break
		}
	}
	var id uuid.UUID
	binary.BigEndian.PutUint64(id[0:8], (want>>12)<<16|0x7000|want&0x0fff)
	binary.BigEndian.PutUint64(id[8:16], rand.Uint64()&^(3<<62)|1<<63) // variant 10
	return id
}
