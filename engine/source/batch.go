package source

import (
	"bytes"
	"errors"

	"github.com/bytedance/sonic"
)

// MaxBatchEvents bounds the events of one batch ingest request (POST /event/v1/events with a JSON
// array or NDJSON); the whole body is also bounded by MaxEventBytes.
const MaxBatchEvents = 1000

// IsBatch reports whether an ingest body is a batch: NDJSON (by its content type) or a JSON array.
func IsBatch(contentType, body []byte) bool {
	if isNDJSON(contentType) {
		return true
	}
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '['
}

func isNDJSON(contentType []byte) bool {
	ct, _, _ := bytes.Cut(contentType, []byte{';'})
	ct = bytes.TrimSpace(ct)
	return bytes.EqualFold(ct, []byte("application/x-ndjson")) || bytes.EqualFold(ct, []byte("application/jsonl"))
}

// DecodeEvents validates a batch ingest body: a JSON array of events, or (ndjson) one event per
// line, blank lines ignored. It is all or nothing: the first invalid item fails the whole batch
// with an *InvalidEventError whose Reason names the item, "events[3]: namespace is required".
func DecodeEvents(contentType, body []byte) ([]*Incoming, error) {
	if len(body) > MaxEventBytes {
		return nil, ErrBodyTooLarge
	}
	var items [][]byte
	if isNDJSON(contentType) {
		for line := range bytes.SplitSeq(body, []byte{'\n'}) {
			if line = bytes.TrimSpace(line); len(line) > 0 {
				items = append(items, line)
			}
		}
	} else {
		if depthExceeds(body, MaxEventDepth+1) {
			return nil, invalidEvent("request body nests deeper than %d levels", MaxEventDepth+1)
		}
		var raw []sonic.NoCopyRawMessage
		if err := decodeAPI.Unmarshal(body, &raw); err != nil {
			return nil, invalidEvent("request body is not a valid JSON array of events")
		}
		items = make([][]byte, len(raw))
		for i, r := range raw {
			items[i] = r
		}
	}
	switch {
	case len(items) == 0:
		return nil, invalidEvent("a batch must hold at least one event")
	case len(items) > MaxBatchEvents:
		return nil, invalidEvent("a batch holds at most %d events, got %d", MaxBatchEvents, len(items))
	}
	out := make([]*Incoming, len(items))
	for i, it := range items {
		in, err := DecodeEvent(it)
		var ie *InvalidEventError
		switch {
		case errors.As(err, &ie):
			return nil, invalidEvent("events[%d]: %s", i, ie.Reason)
		case err != nil:
			return nil, err
		}
		out[i] = in
	}
	return out, nil
}
