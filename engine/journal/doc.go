// Package journal is a write-ahead log: records that must be durable before they are acknowledged
// are appended here, one write and one flush per Append, and applied to the store later, many at
// a time. The webhook outbox uses it so that an ingested event is acknowledged after ~60 µs of
// CPU (one O_DSYNC write) instead of a bbolt commit (~240 µs: two fdatasyncs and page writes)
// for every few events; the store then takes the records in one commit every few milliseconds
// (engine/webhook/journaled.go, BENCHMARKS.md §2d).
//
// # Format
//
// The file is created at its full size and filled with zeros once, so that an append rewrites
// blocks the file already has: with O_DSYNC the write is then a data flush only, without the
// size and extent changes that made an append to a growing or fallocated file twice as costly
// (measured: 154 → 60–86 µs of CPU). Where the file system allows it, appends bypass the page
// cache (O_DIRECT|O_DSYNC, direct.go): whole 4 KiB blocks from aligned memory, rewriting the
// block the previous record ended in with the same bytes (a torn write leaves each sector old or
// new, identical for those bytes) and padding the last block with zeros; ~10 % less CPU per
// write than through the page cache (BenchmarkAppend, BenchmarkAppendBuffered). It starts with a
// header block:
//
//	magic "pgjrnl01" | epoch u32 | CRC-32C of the first 12 bytes u32 | zeros to 4 KiB
//
// followed by records, each:
//
//	length u32 | epoch u32 | CRC-32C of (length, epoch, data) u32 | data
//
// Reading starts after the header and stops at the first record whose epoch is not the header's
// or whose checksum does not match (the end of what was written, a torn write, or a record of an
// earlier epoch). Reset starts a new epoch at the first record position, which makes every record
// written before it invalid without zeroing the file.
//
// A caller records how far it has applied (Pos, in its store, in the transaction that applied the
// records) and passes it to Records on the next start, so records already applied are not applied
// twice. All integers are little-endian.
package journal
