package journal

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Direct appends (whole blocks from aligned memory, the block the last record ended in
// rewritten) leave the file byte for byte as appends through the page cache do, across block
// boundaries, a reopen in the middle (the rewritten block is read back from the file) and a
// Reset; and every record reads back.
func TestDirectAppendsWriteWhatBufferedAppendsWrite(t *testing.T) {
	dir := t.TempDir()
	if f := openDirect(filepath.Join(dir, "probe"), blockSize); f == nil {
		if err := os.WriteFile(filepath.Join(dir, "probe"), make([]byte, blockSize), 0o600); err != nil {
			t.Fatal(err)
		}
		if f = openDirect(filepath.Join(dir, "probe"), blockSize); f == nil {
			t.Skip("no O_DIRECT on the test directory's file system") // tmpfs; the ext4 CI machine has it
		}
		_ = f.Close()
	}
	sizes := make([]int, 60)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range sizes {
		sizes[i] = 1 + rng.IntN(9000) // from a few bytes to more than two blocks
	}
	write := func(direct bool) (string, int64) {
		useDirect = direct
		defer func() { useDirect = true }()
		path := filepath.Join(dir, fmt.Sprintf("j-%v", direct))
		j := open(t, path, 1<<20)
		if (j.df != nil) != direct {
			t.Fatalf("direct=%v: df %v", direct, j.df != nil)
		}
		var want []string
		var end Pos
		for i, n := range sizes {
			if i == 25 || i == 40 { // reopen: the next append rewrites a block read back from the file
				_ = j.Close()
				j = open(t, path, 0)
				if _, err := j.Records(Pos{}); err != nil {
					t.Fatal(err)
				}
			}
			if i == 50 {
				if err := j.Reset(); err != nil {
					t.Fatal(err)
				}
				want = nil
			}
			rec := bytes.Repeat([]byte{byte('a' + i%26)}, n)
			var err error
			if end, err = j.Append(rec); err != nil {
				t.Fatal(err)
			}
			want = append(want, string(rec))
		}
		_ = j.Close()
		j = open(t, path, 0)
		recs, err := j.Records(Pos{})
		if err != nil || fmt.Sprint(datas(recs)) != fmt.Sprint(want) {
			t.Fatalf("direct=%v: %d records read back, want %d (%v)", direct, len(recs), len(want), err)
		}
		return path, end.Off
	}
	// Up to the end of the last record: past it a direct append pads its block with zeros, where
	// the page cache leaves what an earlier epoch wrote (neither is read).
	directPath, end := write(true)
	bufferedPath, _ := write(false)
	d, _ := os.ReadFile(directPath)
	b, _ := os.ReadFile(bufferedPath)
	d, b = d[:end], b[:end]
	if !bytes.Equal(d, b) {
		i := 0
		for i < len(d) && i < len(b) && d[i] == b[i] {
			i++
		}
		t.Fatalf("the files differ from byte %d (of %d and %d)", i, len(d), len(b))
	}
}

// BenchmarkAppendBuffered is BenchmarkAppend through the page cache (O_DSYNC only), the
// journal's fallback where O_DIRECT is refused.
func BenchmarkAppendBuffered(b *testing.B) {
	useDirect = false
	defer func() { useDirect = true }()
	BenchmarkAppend(b)
}
