package journal

import (
	"os"
	"syscall"
	"unsafe"
)

// blockSize is the unit of a direct write. An append rewrites the block the previous record
// ended in (its bytes before the new record unchanged: a torn write leaves each sector old or new,
// which for those bytes is the same) and pads its own last block with zeros.
const blockSize = 4096

// useDirect lets the tests run the buffered path on a file system that has O_DIRECT.
var useDirect = true

// openDirect opens path for appends that go from the journal's buffer to the device and are
// flushed there (O_DIRECT|O_DSYNC), without the copy into the page cache and its write-back:
// 70–77 µs of CPU per 8 KiB append against 76–91 µs through the page cache on the benchmark
// machine (BenchmarkAppend, BenchmarkAppendBuffered; BENCHMARKS.md §2d). It returns nil where direct I/O is not possible (tmpfs refuses O_DIRECT,
// a file whose size is not whole blocks): the journal then writes through the page cache.
func openDirect(path string, size int64) *os.File {
	if !useDirect || size%blockSize != 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_DSYNC|syscall.O_DIRECT, 0)
	if err != nil {
		return nil
	}
	return f
}

// alignedBuffer returns an empty slice of capacity at least n (whole blocks) whose memory starts on
// a block boundary, as O_DIRECT requires of what it writes.
func alignedBuffer(n int) []byte {
	n = roundUp(n)
	b := make([]byte, n+blockSize)
	off := (blockSize - int(uintptr(unsafe.Pointer(&b[0]))%blockSize)) % blockSize
	return b[off : off : off+n]
}

func roundUp(n int) int { return (n + blockSize - 1) &^ (blockSize - 1) }

// aligned reports whether b's memory starts on a block boundary.
func aligned(b []byte) bool {
	return cap(b) > 0 && uintptr(unsafe.Pointer(unsafe.SliceData(b)))%blockSize == 0
}
