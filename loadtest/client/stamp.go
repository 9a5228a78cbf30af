package client

import "bytes"

// Stamp is what the publisher writes into each event's payload.
type Stamp struct {
	SentAt int64 // scheduled publish time, Unix nanos
	Seq    int64 // publisher sequence number, from 1
	Step   int   // load step index, 0 when absent
}

var (
	keySentAt = []byte(`"sentAt":`)
	keySeq    = []byte(`"seq":`)
	keyStep   = []byte(`"step":`)
)

// ParseStamp finds "sentAt":<digits> (required), "seq":<digits> and
// "step":<digits> anywhere in b. It does not validate the JSON around them.
func ParseStamp(b []byte) (Stamp, bool) {
	var s Stamp
	var ok bool
	if s.SentAt, ok = intAfter(b, keySentAt); !ok {
		return s, false
	}
	s.Seq, _ = intAfter(b, keySeq)
	st, _ := intAfter(b, keyStep)
	s.Step = int(st)
	return s, true
}

func intAfter(b, key []byte) (int64, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	var v int64
	n := 0
	for n < len(b) && n < 19 && b[n] >= '0' && b[n] <= '9' {
		v = v*10 + int64(b[n]-'0')
		n++
	}
	return v, n > 0
}
