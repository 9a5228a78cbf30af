package source

// ValidTraceparent reports whether s is a W3C trace context traceparent this server understands:
// "<version>-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", lower-case hex, version not
// "ff", trace and parent ids not all zero. Version 00 must have exactly these four fields; a
// later version may carry more after a '-' (W3C Trace Context §3.2.4).
func ValidTraceparent(s string) bool {
	if len(s) < 55 || (len(s) > 55 && s[55] != '-') || (len(s) > 55 && s[:2] == "00") {
		return false
	}
	if !lowerHex(s[0:2]) || s[0:2] == "ff" || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return false
	}
	traceID, parentID, flags := s[3:35], s[36:52], s[53:55]
	return lowerHex(traceID) && lowerHex(parentID) && lowerHex(flags) &&
		!allZero(traceID) && !allZero(parentID)
}

// SetTraceparent sets the trace context from a transport header (an ingest request's
// traceparent header, a Kafka record header, an AMQP message header), which wins over the body's
// field: the transport's context is the producer's latest span. An invalid value is ignored (W3C
// Trace Context: a receiver that cannot parse traceparent starts afresh) and reported false.
func (in *Incoming) SetTraceparent(header string) bool {
	if header == "" || !ValidTraceparent(header) {
		return false
	}
	in.Traceparent = header
	return true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func allZero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}
