package journal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func open(t *testing.T, path string, size int64) *Journal {
	t.Helper()
	j, err := Open(path, size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func datas(recs []Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Data))
	}
	return out
}

// Records come back after a reopen, from the first one past the applied position; a reset makes
// every earlier record unreadable; appends resume after the last valid record.
func TestRecordsSurviveReopenUntilReset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	j := open(t, path, 64<<10)
	var ends []Pos
	for i := range 3 {
		end, err := j.Append([]byte(fmt.Sprintf("record %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end)
	}
	_ = j.Close()

	j = open(t, path, 0)
	recs, err := j.Records(Pos{})
	if err != nil || fmt.Sprint(datas(recs)) != "[record 0 record 1 record 2]" || recs[2].End != ends[2] {
		t.Fatalf("records %q %+v, %v", datas(recs), recs, err)
	}
	if recs, _ := j.Records(ends[0]); fmt.Sprint(datas(recs)) != "[record 1 record 2]" {
		t.Fatalf("after the first applied: %q", datas(recs))
	}
	if _, err := j.Append([]byte("record 3")); err != nil {
		t.Fatal(err)
	}
	if recs, _ := j.Records(ends[2]); fmt.Sprint(datas(recs)) != "[record 3]" {
		t.Fatalf("appended after the reopen: %q", datas(recs))
	}
	if err := j.Reset(); err != nil {
		t.Fatal(err)
	}
	_ = j.Close()

	j = open(t, path, 0)
	if recs, _ := j.Records(Pos{}); len(recs) != 0 {
		t.Fatalf("records of an earlier epoch read back: %q", datas(recs))
	}
	end, err := j.Append([]byte("new epoch"))
	if err != nil || end.Epoch != ends[0].Epoch+1 {
		t.Fatalf("append after reset: %+v %v", end, err)
	}
	// The older, longer records behind it are not read as part of the new epoch.
	if recs, _ := j.Records(Pos{}); fmt.Sprint(datas(recs)) != "[new epoch]" {
		t.Fatalf("after reset: %q", datas(recs))
	}
}

// A record damaged on disk (a torn write) ends the reading there.
func TestTornRecordEndsTheJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	j := open(t, path, 64<<10)
	for _, s := range []string{"one", "two", "three"} {
		if _, err := j.Append([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	_ = j.Close()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	second := int64(headerSize + recordHead + len("one"))
	if _, err := f.WriteAt([]byte("X"), second+recordHead+1); err != nil { // "two" → "tXo"
		t.Fatal(err)
	}
	_ = f.Close()
	j = open(t, path, 0)
	if recs, _ := j.Records(Pos{}); fmt.Sprint(datas(recs)) != "[one]" {
		t.Fatalf("records %q, want only the one before the damage", datas(recs))
	}
}

// A record that does not fit is refused with ErrFull, and fits again after Reset.
func TestFullJournal(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "j"), 2*headerSize)
	big := bytes.Repeat([]byte("x"), headerSize-recordHead)
	if _, err := j.Append(big); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append([]byte("y")); !errors.Is(err, ErrFull) {
		t.Fatalf("append to a full journal: %v", err)
	}
	if j.Used() != 1 {
		t.Fatalf("used %v", j.Used())
	}
	if err := j.Reset(); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append([]byte("y")); err != nil {
		t.Fatal(err)
	}
}

// A file that is not a journal is refused, not overwritten.
func TestForeignFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	if err := os.WriteFile(path, bytes.Repeat([]byte("z"), 3*headerSize), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, 0); err == nil {
		t.Fatal("opened a file that is not a journal")
	}
}

func BenchmarkAppend(b *testing.B) {
	j, err := Open(filepath.Join(b.TempDir(), "j"), 64<<20)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	rec := bytes.Repeat([]byte("r"), 8<<10) // ~12 event records
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		if _, err := j.Append(rec); errors.Is(err, ErrFull) {
			_ = j.Reset()
		} else if err != nil {
			b.Fatal(err)
		}
	}
	// The write's cost is the CPU the kernel spends on it, not the wait for the device.
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Reading back a 64 MiB journal that holds a few records (a restart) reads and allocates what the
// records take, not the file (the first version read the whole file into one buffer: 64 MiB per
// start).
func BenchmarkRecordsOfALargeJournal(b *testing.B) {
	j, err := Open(filepath.Join(b.TempDir(), "j"), 64<<20)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	for range 10 {
		if _, err := j.Append(bytes.Repeat([]byte("r"), 1<<10)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		recs, err := j.Records(Pos{})
		if err != nil || len(recs) != 10 {
			b.Fatal(len(recs), err)
		}
	}
}

// Whatever the bytes after the header, reading stops cleanly at the first record that is not valid.
func FuzzRecords(f *testing.F) {
	f.Add([]byte{}, uint32(1))
	f.Add([]byte{5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'}, uint32(1))
	f.Add([]byte{255, 255, 255, 255, 1, 0, 0, 0}, uint32(7))
	f.Fuzz(func(t *testing.T, body []byte, epoch uint32) {
		path := filepath.Join(t.TempDir(), "j")
		file := make([]byte, headerSize+len(body)+recordHead)
		copy(file, header(epoch))
		copy(file[headerSize:], body)
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		j, err := Open(path, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		recs, err := j.Records(Pos{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.End.Off > int64(len(file)) || len(r.Data) == 0 {
				t.Fatalf("record %+v past the file", r.End)
			}
		}
		if _, err := j.Append([]byte("after")); err != nil && !errors.Is(err, ErrFull) {
			t.Fatal(err)
		}
	})
}
