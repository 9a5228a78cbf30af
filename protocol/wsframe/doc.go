// Package wsframe is an incremental, non-blocking WebSocket (RFC 6455) frame
// codec over byte slices, built on the types of github.com/gobwas/ws
// (ws.Header, ws.OpCode, ws.StatusCode, ws.Cipher). Unlike ws.ReadHeader it
// never reads from an io.Reader: ParseHeader returns ErrShort when the bytes
// at hand do not hold a whole header, so an event loop can retry when more
// bytes arrive without blocking a goroutine.
//
// # Frame layout
//
//	byte 0: FIN(1) RSV1-3(3) opcode(4)
//	byte 1: MASK(1) length(7): 0–125, 126 → 16-bit length follows, 127 → 64-bit
//	[2 or 8 bytes extended length, big endian] [4 bytes mask key when MASK]
//
// Examples (RFC 6455 §5.7):
//
//	81 05 48 65 6c 6c 6f                         unmasked text "Hello"
//	81 85 37 fa 21 3d 7f 9f 4d 51 58             masked text "Hello"
//	01 03 48 65 6c  80 02 6c 6f                  fragmented "Hel" + "lo"
//	89 05 48 65 6c 6c 6f                         ping "Hello"
//	82 7e 01 00 [256 bytes]                      binary, 16-bit length
//	82 7f 00 00 00 00 00 01 00 00 [65536 bytes]  binary, 64-bit length
//	88 02 03 e8                                  close 1000 (AppendClose)
//
// # Limits and checks
//
// ParseHeader rejects with ErrProtocol: RSV bits (no extension is
// negotiated), reserved opcodes, control frames that are fragmented or longer
// than 125 bytes, a 64-bit length with the top bit set, and unmasked frames
// when requireMask (server side, RFC 6455 §5.1). A length above maxPayload is
// ErrTooLarge (close with 1009). Errors detectable from the first two bytes
// are reported even when the rest of the header is missing, so a prefix of a
// header yields either ErrShort or the same result as the whole header.
// Non-minimal length encodings are accepted.
//
// Reassembler joins fragmented messages up to a size cap and checks the
// continuation rules.
//
// # Slice lifetimes
//
// Nothing here retains its arguments. Unmask works in place. Reassembler
// returns either the payload it was given (unfragmented message) or its own
// buffer, valid until the next call to Push or Reset.
package wsframe
