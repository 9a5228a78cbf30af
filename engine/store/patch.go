package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Configuration-service PATCH operations.
const (
	OpUpdate  = "UPDATE"
	OpReplace = "REPLACE"
	OpDelete  = "DELETE"
)

// patchOp is a parsed PATCH body.
type patchOp struct {
	kind     string
	value    object // UPDATE: the update; REPLACE: the new document
	property string // DELETE
}

func parsePatch(req []byte) (*patchOp, error) {
	var body struct {
		Operation     string          `json:"operation"`
		Update        json.RawMessage `json:"update"`
		Configuration json.RawMessage `json:"configuration"`
		Property      json.RawMessage `json:"property"`
	}
	if err := json.Unmarshal(req, &body); err != nil {
		return nil, invalid("request body is not a valid JSON object: " + err.Error())
	}
	op := &patchOp{kind: body.Operation}
	var err error
	switch body.Operation {
	case OpUpdate:
		if op.value, err = parseObject(body.Update); err != nil {
			return nil, invalid("UPDATE requires an object 'update'")
		}
	case OpReplace:
		if op.value, err = parseObject(body.Configuration); err != nil {
			return nil, invalid("REPLACE requires an object 'configuration'")
		}
	case OpDelete:
		if json.Unmarshal(body.Property, &op.property) != nil || op.property == "" {
			return nil, invalid("DELETE requires a non-empty string 'property'")
		}
	case "":
		return nil, invalid("Request operation is required.")
	default:
		return nil, invalid(fmt.Sprintf("Request operation '%s' not recognized.", body.Operation))
	}
	return op, nil
}

// apply returns the document that results from applying op to old (a JSON object).
func (op *patchOp) apply(old []byte) ([]byte, error) {
	switch op.kind {
	case OpReplace:
		return op.value.marshal(), nil
	case OpUpdate:
		doc, err := parseObject(old)
		if err != nil {
			return nil, fmt.Errorf("stored document: %w", err)
		}
		for _, m := range op.value {
			doc.set(m.key, mergeValue(doc.get(m.key), m.val))
		}
		return doc.marshal(), nil
	default: // OpDelete
		return unset(old, op.property)
	}
}

// mergeValue implements configuration-service's top-level merge of one key.
func mergeValue(old, upd json.RawMessage) json.RawMessage {
	if old == nil {
		return upd
	}
	if o, err := parseObject(old); err == nil {
		if u, err := parseObject(upd); err == nil {
			for _, m := range u {
				o.set(m.key, m.val)
			}
			return o.marshal()
		}
	}
	if a, ok := stringArray(old); ok {
		if b, ok := stringArray(upd); ok {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(append(a, b...)) // strings always encode
			return bytes.TrimRight(buf.Bytes(), "\n")
		}
	}
	return upd
}

func stringArray(raw json.RawMessage) ([]string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil, false
	}
	var ptrs []*string // nil entries are JSON nulls, which are not strings
	if json.Unmarshal(raw, &ptrs) != nil {
		return nil, false
	}
	out := make([]string, len(ptrs))
	for i, p := range ptrs {
		if p == nil {
			return nil, false
		}
		out[i] = *p
	}
	return out, true
}

// unset implements lodash unset(doc, path) for object paths: a direct key wins, otherwise the path is
// split at '.' and '[…]' (quotes inside brackets are removed). A missing path leaves doc unchanged.
func unset(doc []byte, path string) ([]byte, error) {
	o, err := parseObject(doc)
	if err != nil {
		return nil, fmt.Errorf("stored document: %w", err)
	}
	if o.del(path) {
		return o.marshal(), nil
	}
	segs := splitPath(path)
	if len(segs) < 2 {
		return doc, nil
	}
	return unsetPath(o, segs), nil
}

func unsetPath(o object, segs []string) []byte {
	if len(segs) == 1 {
		o.del(segs[0])
		return o.marshal()
	}
	child, err := parseObject(o.get(segs[0]))
	if err != nil {
		return o.marshal() // not an object: nothing to unset
	}
	o.set(segs[0], unsetPath(child, segs[1:]))
	return o.marshal()
}

func splitPath(path string) []string {
	var segs []string
	for rest := path; rest != ""; {
		switch {
		case rest[0] == '.':
			rest = rest[1:]
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return append(segs, rest)
			}
			seg := rest[1:end]
			if len(seg) >= 2 && (seg[0] == '"' || seg[0] == '\'') && seg[len(seg)-1] == seg[0] {
				seg = seg[1 : len(seg)-1]
			}
			segs, rest = append(segs, seg), rest[end+1:]
		default:
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			segs, rest = append(segs, rest[:end]), rest[end:]
		}
	}
	return segs
}

// object is a JSON object that keeps its key order (JavaScript semantics for non-index keys).
type object []member

type member struct {
	key string
	val json.RawMessage
}

var errNotObject = errors.New("not a JSON object")

func parseObject(raw []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNotObject
	}
	o := object{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		o.set(key, v) // duplicate keys: last value wins, first position kept (JSON.parse)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotObject
	}
	return o, nil
}

func (o object) get(key string) json.RawMessage {
	for _, m := range o {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

func (o *object) set(key string, val json.RawMessage) {
	for i := range *o {
		if (*o)[i].key == key {
			(*o)[i].val = val
			return
		}
	}
	*o = append(*o, member{key, val})
}

func (o *object) del(key string) bool {
	for i := range *o {
		if (*o)[i].key == key {
			*o = append((*o)[:i], (*o)[i+1:]...)
			return true
		}
	}
	return false
}

func (o object) marshal() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		_ = enc.Encode(m.key) // a string always encodes; Encode appends '\n', removed below
		buf.Truncate(buf.Len() - 1)
		buf.WriteByte(':')
		buf.Write(m.val)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}
