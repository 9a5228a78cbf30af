package journal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

const (
	headerSize = 4096
	recordHead = 12
	magic      = "pgjrnl01"
)

var crc = crc32.MakeTable(crc32.Castagnoli)

// ErrFull is returned by Append when the record does not fit in what is left of the file; the
// caller makes the record durable some other way (or applies what it holds and calls Reset).
var ErrFull = errors.New("journal: full")

// ErrTorn is returned by Append after a failed write until Reset: a record written after a torn one
// would not be read back.
var ErrTorn = errors.New("journal: a write failed; reset needed")

// Pos is a position in the journal: the end of a record of an epoch.
type Pos struct {
	Epoch uint32
	Off   int64
}

// Record is a record read back by Records, with the position of its end.
type Record struct {
	End  Pos
	Data []byte
}

// Journal is one journal file. Its methods are safe for concurrent use; Append calls are
// serialised (each is one write).
type Journal struct {
	mu    sync.Mutex
	f     *os.File // reads, the header; the appends too when df is nil
	df    *os.File // direct appends (direct.go), or nil
	size  int64
	off   int64
	epoch uint32
	// buf is the write buffer. With df, its first off%blockSize bytes are always those of the
	// block the last record ended in (an append rewrites that block).
	buf  []byte
	torn bool // a write failed: nothing more is appended before Reset
}

// Open opens the journal at path, creating it with size bytes (at least two header sizes) when it
// does not exist. An existing file keeps its own size.
func Open(path string, size int64) (*Journal, error) {
	size = max(size, 2*headerSize)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := create(path, size); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_DSYNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &Journal{f: f}
	if err := j.readHeader(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if j.df = openDirect(path, j.size); j.df != nil {
		j.buf = alignedBuffer(64 << 10)
	}
	return j, nil
}

// create writes a zero-filled file of size with a header of epoch 1, and renames it into place.
func create(path string, size int64) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	zeros := make([]byte, 1<<20)
	copy(zeros, header(1))
	for off := int64(0); off < size; off += int64(len(zeros)) {
		n := min(int64(len(zeros)), size-off)
		if _, err := f.Write(zeros[:n]); err != nil {
			_ = f.Close()
			return fmt.Errorf("journal: zero-filling %s: %w", tmp, err)
		}
		if off == 0 {
			clear(zeros[:headerSize])
		}
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return errors.Join(d.Sync(), d.Close())
}

func header(epoch uint32) []byte {
	h := make([]byte, 16)
	copy(h, magic)
	binary.LittleEndian.PutUint32(h[8:], epoch)
	binary.LittleEndian.PutUint32(h[12:], crc32.Checksum(h[:12], crc))
	return h
}

func (j *Journal) readHeader() error {
	st, err := j.f.Stat()
	if err != nil {
		return err
	}
	h := make([]byte, 16)
	if _, err := j.f.ReadAt(h, 0); err != nil {
		return err
	}
	if string(h[:8]) != magic || binary.LittleEndian.Uint32(h[12:]) != crc32.Checksum(h[:12], crc) {
		return errors.New("not a journal, or its header is damaged")
	}
	j.size, j.epoch, j.off = st.Size(), binary.LittleEndian.Uint32(h[8:]), headerSize
	return nil
}

// Records returns the records of the current epoch that end after applied, in order, and places
// the next Append after the last valid record. It reads up to the first invalid record only (a
// journal is mostly zeros: reading the whole file cost an allocation of its size at every start).
func (j *Journal) Records(applied Pos) ([]Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r := bufio.NewReaderSize(io.NewSectionReader(j.f, headerSize, j.size-headerSize), 64<<10)
	var out []Record
	var head [recordHead]byte
	off := int64(headerSize)
	for off+recordHead <= j.size {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		n := int64(binary.LittleEndian.Uint32(head[:]))
		epoch := binary.LittleEndian.Uint32(head[4:])
		end := off + recordHead + n
		if epoch != j.epoch || end > j.size || n == 0 {
			break
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		if crc32.Update(crc32.Checksum(head[:8], crc), crc, data) != binary.LittleEndian.Uint32(head[8:]) {
			break
		}
		if applied.Epoch != j.epoch || end > applied.Off {
			out = append(out, Record{End: Pos{j.epoch, end}, Data: data})
		}
		off = end
	}
	j.off = off
	if j.df != nil { // the block the last record ended in, which the next append rewrites
		j.buf = j.buf[:off%blockSize]
		if _, err := j.f.ReadAt(j.buf, off-int64(len(j.buf))); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
	}
	return out, nil
}

// Append writes data as one record and returns once it is durable (O_DSYNC), with its end.
func (j *Journal) Append(data []byte) (Pos, error) {
	return j.AppendWith(func(dst []byte) []byte { return append(dst, data...) })
}

// AppendWith is Append of the bytes encode appends to dst (the journal's own write buffer, so a
// record built from parts is not built in a buffer of its own first); encode runs with the
// journal's lock held and must not keep dst.
func (j *Journal) AppendWith(encode func(dst []byte) []byte) (Pos, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.torn {
		return Pos{}, ErrTorn
	}
	tail := 0 // bytes of the block being rewritten before the record (direct appends)
	if j.df != nil {
		tail = int(j.off % blockSize)
	}
	b := encode(append(j.buf[:tail], make([]byte, recordHead)...))
	j.buf = b
	rec := b[tail:]
	n := len(rec) - recordHead
	if n == 0 {
		return Pos{}, errors.New("journal: empty record")
	}
	end := j.off + int64(len(rec))
	if end > j.size {
		return Pos{}, ErrFull
	}
	binary.LittleEndian.PutUint32(rec, uint32(n))
	binary.LittleEndian.PutUint32(rec[4:], j.epoch)
	binary.LittleEndian.PutUint32(rec[8:], crc32.Update(crc32.Checksum(rec[:8], crc), crc, rec[recordHead:]))
	var err error
	if j.df != nil {
		if err = j.writeDirect(len(b), end); errors.Is(err, syscall.EINVAL) {
			// A file system that opens O_DIRECT but refuses these writes: through the page
			// cache from now on.
			_ = j.df.Close()
			j.df = nil
			_, err = j.f.WriteAt(rec, j.off)
		}
	} else {
		_, err = j.f.WriteAt(b, j.off)
	}
	if err != nil {
		j.torn = true
		return Pos{}, fmt.Errorf("journal: %w", err)
	}
	j.off = end
	return Pos{j.epoch, end}, nil
}

// writeDirect writes j.buf[:n] — the start of the block j.off is in, then the record ending at
// end — as whole blocks from aligned memory, and keeps the bytes of the block end is in at the
// start of j.buf for the next append.
func (j *Journal) writeDirect(n int, end int64) error {
	w := roundUp(n)
	if !aligned(j.buf) || cap(j.buf) < w {
		j.buf = append(alignedBuffer(max(w, 2*cap(j.buf))), j.buf[:n]...)
	}
	b := j.buf[:w]
	clear(b[n:])
	start := j.off - j.off%blockSize
	if _, err := j.df.WriteAt(b, start); err != nil {
		return err
	}
	keep := int(end % blockSize)
	j.buf = b[:copy(b, b[n-keep:n])]
	return nil
}

// Reset starts a new epoch: records written so far are no longer read. The caller calls it once
// every record is applied.
func (j *Journal) Reset() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.WriteAt(header(j.epoch+1), 0); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.epoch++
	j.off, j.torn = headerSize, false
	j.buf = j.buf[:0] // headerSize is whole blocks: no block to rewrite
	return nil
}

// Used reports the share of the record space in use (0 to 1).
func (j *Journal) Used() float64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return float64(j.off-headerSize) / float64(j.size-headerSize)
}

// Worn reports whether the journal should start over at the next chance: past half full, or a
// write failed.
func (j *Journal) Worn() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.torn || j.off-headerSize > (j.size-headerSize)/2
}

// Close closes the file.
func (j *Journal) Close() error {
	if j.df != nil {
		return errors.Join(j.df.Close(), j.f.Close())
	}
	return j.f.Close()
}
