package engineio

import "bytes"

// DecodePayload splits a polling POST body at RecordSeparator and calls fn
// for each decoded packet, in order. It stops at the first decoding error or
// the first error returned by fn and returns it. An empty body, like any
// empty record, is ErrEmptyPacket. Binary packets are decoded into scratch
// (see DecodePacket); the grown scratch is returned for reuse.
func DecodePayload(body []byte, scratch []byte, fn func(Packet) error) (newScratch []byte, err error) {
	for {
		rec := body
		i := bytes.IndexByte(body, RecordSeparator)
		if i >= 0 {
			rec = body[:i]
		}
		var p Packet
		p, scratch, err = DecodePacket(rec, scratch)
		if err != nil {
			return scratch, err
		}
		if err = fn(p); err != nil {
			return scratch, err
		}
		if i < 0 {
			return scratch, nil
		}
		body = body[i+1:]
	}
}

// AppendPayloadPacket appends p in text form to a polling payload being
// built in dst, preceded by RecordSeparator unless first is true.
//
//	dst = AppendPayloadPacket(dst, true, p0)  // 4hello
//	dst = AppendPayloadPacket(dst, false, p1) // 4hello 1e bAQID
func AppendPayloadPacket(dst []byte, first bool, p Packet) []byte {
	if !first {
		dst = append(dst, RecordSeparator)
	}
	return AppendPacketText(dst, p)
}
