package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, dir string, readers ...string) (*Spool, Recovery) {
	t.Helper()
	if len(readers) == 0 {
		readers = []string{"store"}
	}
	s, rec, err := Open(Options{Dir: dir, SegmentBytes: 4096, MaxBytes: 4 * 4096, Readers: readers})
	if err != nil {
		t.Fatal(err)
	}
	return s, rec
}

func readAll(r *Reader) []string {
	var out []string
	for {
		b, ok := r.Next()
		if !ok {
			return out
		}
		out = append(out, string(b))
	}
}

func TestAppendReadAckRestart(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, "store", "sink")
	var want []string
	for i := range 300 { // several segments of 4 KiB
		rec := fmt.Sprintf("record %03d %s", i, bytes.Repeat([]byte("x"), i%20))
		_, idx, err := s.Append([]byte(rec))
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if idx != uint64(i) {
			t.Fatalf("append %d returned index %d", i, idx)
		}
		want = append(want, rec)
	}
	store, sink := s.Reader("store"), s.Reader("sink")
	if store.Pending() != 300 {
		t.Fatalf("pending %d, want 300", store.Pending())
	}
	if got := readAll(store); !equal(got, want) {
		t.Fatalf("store read %d records, want %d in order", len(got), len(want))
	}
	if err := store.Ack(); err != nil {
		t.Fatal(err)
	}
	got := readAll(sink)[:100] // the sink read everything but acknowledges 100
	_ = got
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The sink acknowledged nothing: after a restart it reads all again, the
	// store nothing.
	s, rec := open(t, dir, "store", "sink")
	defer s.Close()
	if rec.Records != 300 || rec.CutRecords != 0 {
		t.Errorf("recovery %+v, want 300 records kept, none cut", rec)
	}
	if got := readAll(s.Reader("store")); len(got) != 0 {
		t.Errorf("store reads %d records again after acknowledging them", len(got))
	}
	if got := readAll(s.Reader("sink")); !equal(got, want) {
		t.Errorf("sink reads %d records after a restart, want %d", len(got), len(want))
	}
	// Indices go on from the records kept, for the readers and Append alike.
	_, idx, err := s.Append([]byte("after the restart"))
	if err != nil || idx != 300 {
		t.Fatalf("append after the restart: index %d, %v; want 300", idx, err)
	}
	sink = s.Reader("sink")
	if i := sink.Index(); i != 300 {
		t.Errorf("sink's next index %d, want 300", i)
	}
	if b, ok := sink.Next(); !ok || string(b) != "after the restart" || sink.Index() != 301 {
		t.Errorf("sink read %q, %v, next index %d", b, ok, sink.Index())
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSegmentsDeletedOnceEveryReaderAcknowledged(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, "a", "b")
	defer s.Close()
	rec := bytes.Repeat([]byte("y"), 1000)
	for range 16 { // 4 records a segment: 4 segments
		if _, _, err := s.Append(rec); err != nil {
			t.Fatal(err)
		}
	}
	// The segment files holding records: not the next one, which may be
	// made ahead once there is room for it.
	segments := func() int {
		m, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
		s.mu.Lock()
		last := filepath.Join(dir, segName(s.segs[len(s.segs)-1].n))
		s.mu.Unlock()
		n := 0
		for _, f := range m {
			if f <= last {
				n++
			}
		}
		return n
	}
	if n := segments(); n != 4 {
		t.Fatalf("%d segments, want 4", n)
	}
	if _, _, err := s.Append(rec); !errors.Is(err, ErrFull) {
		t.Fatalf("append beyond MaxBytes: %v, want ErrFull", err)
	}
	a, b := s.Reader("a"), s.Reader("b")
	readAll(a)
	a.Ack()
	if n := segments(); n != 4 {
		t.Errorf("%d segments after one reader of two acknowledged, want 4", n)
	}
	room := s.Room()
	readAll(b)
	b.Ack()
	// A group commit in progress keeps its segments until it is done, and
	// deletes them then.
	select {
	case <-room:
	case <-time.After(5 * time.Second):
		t.Error("Room not signalled after both readers acknowledged")
	}
	for end := time.Now().Add(5 * time.Second); segments() > 1 && time.Now().Before(end); {
		time.Sleep(time.Millisecond)
	}
	if n := segments(); n != 1 {
		t.Errorf("%d segments after both acknowledged, want the writer's alone", n)
	}
	if _, _, err := s.Append(rec); err != nil {
		t.Errorf("append after room was made: %v", err)
	}
}

// TestNextSegmentMadeAhead: once the writer's segment is half full, the next
// is made in the background, so the append that fills a segment finds it;
// Close removes the one made ahead and not used.
func TestNextSegmentMadeAhead(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	rec := bytes.Repeat([]byte("z"), 1000) // 4 records a segment
	segments := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
		return m
	}
	for i := range 7 {
		if _, _, err := s.Append(rec); err != nil {
			t.Fatal(err)
		}
		if i == 2 || i == 6 {
			for deadline := time.Now().Add(10 * time.Second); len(segments()) != i/4+2; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("after %d appends, segments %q: the next was not made ahead", i+1, segments())
				}
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := segments(); len(got) != 2 {
		t.Errorf("after Close, segments %q: want the two holding records", got)
	}
	s, rec2 := open(t, dir)
	defer s.Close()
	if rec2.Records != 7 || rec2.CutRecords != 0 {
		t.Errorf("reopened: %+v, want 7 records", rec2)
	}
}

func TestFilesAre0600(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	s.Append([]byte("x"))
	s.Reader("store").Next()
	s.Reader("store").Ack()
	s.Close()
	files, _ := os.ReadDir(dir)
	if len(files) < 2 {
		t.Fatalf("files: %v", files)
	}
	for _, f := range files {
		fi, _ := f.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f.Name(), fi.Mode().Perm())
		}
	}
}

// TestTornTailCut damages the last record in several ways and checks that
// reopening keeps the records before it, cuts and counts the damage, and
// appends after the last good record.
func TestTornTailCut(t *testing.T) {
	damage := map[string]func(data []byte, last int64){
		"payload bit flip": func(d []byte, last int64) { d[last+frameLen+2] ^= 0x40 },
		"torn length":      func(d []byte, last int64) { d[last+1] = 0x7f },
		"garbage after":    func(d []byte, last int64) { copy(d[last+frameLen+20:], "garbage") },
	}
	for name, hurt := range damage {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := open(t, dir)
			var lastStart int64
			for i := range 5 {
				seg := s.segs[len(s.segs)-1]
				lastStart = seg.end.Load()
				s.Append([]byte(fmt.Sprintf("record %d", i)))
			}
			s.Close()
			path := filepath.Join(dir, segName(0))
			data, _ := os.ReadFile(path)
			hurt(data, lastStart)
			os.WriteFile(path, data, 0o600)
			s, rec := open(t, dir)
			defer s.Close()
			wantRecords := uint64(4)
			if name == "garbage after" {
				wantRecords = 5
			}
			if rec.CutRecords != 1 || rec.CutBytes == 0 || rec.Records != wantRecords {
				t.Errorf("recovery %+v, want %d records kept and the damage cut and counted", rec, wantRecords)
			}
			s.Append([]byte("after"))
			got := readAll(s.Reader("store"))
			if len(got) != int(wantRecords)+1 || got[len(got)-1] != "after" {
				t.Errorf("read %q", got)
			}
		})
	}
}

func TestCorruptLedgerReadsAgain(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	s.Append([]byte("one"))
	readAll(s.Reader("store"))
	s.Reader("store").Ack()
	path := s.ledgerPath("store")
	s.Close()
	os.WriteFile(path, []byte("not a ledger"), 0o600)
	s, rec := open(t, dir)
	defer s.Close()
	if len(rec.BadLedgers) != 1 {
		t.Errorf("recovery %+v, want the bad ledger named", rec)
	}
	if got := readAll(s.Reader("store")); len(got) != 1 {
		t.Errorf("read %q after a corrupt ledger, want the record again", got)
	}
}

func TestSyncEachWaits(t *testing.T) {
	s, _, err := Open(Options{Dir: t.TempDir(), Sync: SyncEach, Readers: []string{"r"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pos, _, err := s.Append([]byte("durable"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitSynced(pos); err != nil {
		t.Fatal(err)
	}
	s.syncMu.Lock()
	synced := s.synced
	s.syncMu.Unlock()
	if synced < pos {
		t.Errorf("synced %v, want at least %v", synced, pos)
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{
		{},
		{Dir: "x", Readers: []string{"r"}, SegmentBytes: 100},
		{Dir: "x", Readers: []string{"r"}, SegmentBytes: 1 << 20, MaxBytes: 1 << 20},
		{Dir: "x"},
	} {
		if _, _, err := Open(o); err == nil {
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
	s, _ := open(t, t.TempDir())
	defer s.Close()
	if _, _, err := s.Append(make([]byte, 5000)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("append of a record larger than a segment: %v", err)
	}
	if _, _, err := s.Append(nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("append of an empty record: %v", err)
	}
}

// FuzzScan checks that any bytes in a segment file open without a panic,
// that what is kept reads back whole, and that appending then works.
func FuzzScan(f *testing.F) {
	f.Add([]byte(magic + "\x05\x00\x00\x00\x00\x00\x00\x00hello"))
	f.Add([]byte("garbage"))
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segName(7)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, rec, err := Open(Options{Dir: dir, SegmentBytes: 4096, MaxBytes: 4 * 4096, Readers: []string{"r"}})
		if err != nil {
			return // a file too large to map is refused, not a panic
		}
		defer s.Close()
		got := readAll(s.Reader("r"))
		if uint64(len(got)) != rec.Records {
			t.Fatalf("read %d records, recovery says %d", len(got), rec.Records)
		}
		if _, _, err := s.Append([]byte("next")); err != nil && !errors.Is(err, ErrFull) {
			t.Fatal(err)
		}
		if more := readAll(s.Reader("r")); len(more) > 0 && more[len(more)-1] != "next" {
			t.Fatalf("read %q after appending", more)
		}
	})
}

// TestFrameCRC: the checksum of a frame is CRC-32C over the length's bytes
// and the payload, as the format says.
func TestFrameCRC(t *testing.T) {
	for _, payload := range [][]byte{[]byte("x"), bytes.Repeat([]byte("record"), 300)} {
		var frame []byte
		frame = binary.LittleEndian.AppendUint32(frame, uint32(len(payload)))
		frame = append(frame, payload...)
		if got, want := frameCRC(uint32(len(payload)), payload), crc32.Checksum(frame, crc32.MakeTable(crc32.Castagnoli)); got != want {
			t.Errorf("frameCRC of %d bytes = %08x, want %08x", len(payload), got, want)
		}
	}
}
