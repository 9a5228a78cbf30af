package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

// ErrInvalidDocument is wrapped by every error of ValidateDocument and Build.
var ErrInvalidDocument = errors.New("stream: invalid configuration document")

// WebhooksKey is the document key that holds webhooks (out of scope for pushgate); it is never a stream.
const WebhooksKey = "webhooks"

var idPattern = regexp.MustCompile(`^[a-zA-Z0-9-_ ]{1,50}$`)

// streamDef is one compiled stream of a document. It is shared, read-only, by every scope the
// stream is visible in.
type streamDef struct {
	id, name, description string
	publicSubscribe       bool
	hasDescription        bool
	subscriberRoles       []string
	entries               []*entry
	json                  []byte // {id,name,description,publicSubscribe,subscriberRoles,events}
}

// entry is one compiled events[] element.
type entry struct {
	namespace, name string
	criteria        *Criteria // nil = no criteria
	proj            *projection
}

// ValidateDocument checks a platform/push-service configuration document and explains the first
// problem found, for example `stream "a": events[0].map.x: must be a string path`. Empty input and
// `null` are valid (no streams). Stream keys must match ^[a-zA-Z0-9-_ ]{1,50}$ and each stream's id
// must equal its key (lookups and lists both use the key, so they cannot disagree). "webhooks" may
// be an object (of objects or nulls) or null and is otherwise ignored.
func ValidateDocument(doc []byte) error {
	_, err := parseDocument(doc, true)
	return err
}

// parseDocument compiles a document into stream definitions keyed by stream id. With strict false
// a stream whose id differs from its key is accepted under its key.
func parseDocument(doc []byte, strict bool) (map[string]*streamDef, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || string(doc) == "null" {
		return nil, nil
	}
	if !json.Valid(doc) {
		return nil, fmt.Errorf("%w: not valid JSON", ErrInvalidDocument)
	}
	if doc[0] != '{' {
		return nil, fmt.Errorf("%w: must be a JSON object", ErrInvalidDocument)
	}
	defs := map[string]*streamDef{}
	var err error
	eachMember(doc, 0, func(rawKey []byte, vs, ve int) bool {
		var key string
		if key, err = decodeKey(rawKey); err != nil {
			return false
		}
		v := doc[vs:ve]
		if key == WebhooksKey {
			err = checkWebhooks(v)
			return err == nil
		}
		var d *streamDef
		if d, err = parseStream(key, v, strict); err != nil {
			err = fmt.Errorf("stream %q: %w", key, err)
			return false
		}
		defs[key] = d
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidDocument, err)
	}
	return defs, nil
}

func checkWebhooks(v []byte) error {
	if v[0] == 'n' {
		return nil
	}
	if v[0] != '{' {
		return errors.New("webhooks: must be an object or null")
	}
	var err error
	eachMember(v, 0, func(rawKey []byte, vs, _ int) bool {
		if c := v[vs]; c != '{' && c != 'n' {
			err = fmt.Errorf("webhooks.%s: must be an object or null", rawKey)
		}
		return err == nil
	})
	return err
}

// rawStream and rawEntry hold the raw values of the known fields (matched case-sensitively, last
// occurrence wins, like JSON.parse); unknown fields are ignored.
type rawStream struct {
	ID, Name, Description, Events, SubscriberRoles, PublicSubscribe json.RawMessage
}

func parseStream(key string, v []byte, strict bool) (*streamDef, error) {
	if !idPattern.MatchString(key) {
		return nil, errors.New("key must match ^[a-zA-Z0-9-_ ]{1,50}$")
	}
	if v[0] != '{' {
		return nil, errors.New("must be an object")
	}
	var rs rawStream
	eachMember(v, 0, func(rawKey []byte, vs, ve int) bool {
		f := v[vs:ve]
		switch string(rawKey) {
		case "id":
			rs.ID = f
		case "name":
			rs.Name = f
		case "description":
			rs.Description = f
		case "events":
			rs.Events = f
		case "subscriberRoles":
			rs.SubscriberRoles = f
		case "publicSubscribe":
			rs.PublicSubscribe = f
		}
		return true
	})
	d := &streamDef{id: key}
	id, err := requiredString(rs.ID, "id")
	if err != nil {
		return nil, err
	}
	if !idPattern.MatchString(id) {
		return nil, errors.New("id: must match ^[a-zA-Z0-9-_ ]{1,50}$")
	}
	if strict && id != key {
		return nil, fmt.Errorf("id: %q must equal the stream's key", id)
	}
	if d.name, err = requiredString(rs.Name, "name"); err != nil {
		return nil, err
	}
	if !isNull(rs.Description) {
		if err := json.Unmarshal(rs.Description, &d.description); err != nil {
			return nil, errors.New("description: must be a string or null")
		}
		d.hasDescription = true
	}
	if !isNull(rs.SubscriberRoles) {
		if err := json.Unmarshal(rs.SubscriberRoles, &d.subscriberRoles); err != nil {
			return nil, errors.New("subscriberRoles: must be an array of strings")
		}
	}
	if d.subscriberRoles == nil {
		d.subscriberRoles = []string{}
	}
	if !isNull(rs.PublicSubscribe) {
		if err := json.Unmarshal(rs.PublicSubscribe, &d.publicSubscribe); err != nil {
			return nil, errors.New("publicSubscribe: must be a boolean")
		}
	}
	events := []byte("[]")
	if !isNull(rs.Events) {
		if rs.Events[0] != '[' {
			return nil, errors.New("events: must be an array")
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, rs.Events); err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		events = buf.Bytes()
		var raws []json.RawMessage
		if err := json.Unmarshal(events, &raws); err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		for i, raw := range raws {
			e, err := parseEntry(raw)
			if err != nil {
				return nil, fmt.Errorf("events[%d]: %w", i, err)
			}
			d.entries = append(d.entries, e)
		}
	}
	d.json = appendStreamJSON(nil, d, events)
	return d, nil
}

type rawEntry struct {
	Namespace, Name, Map, Criteria json.RawMessage
}

func parseEntry(raw []byte) (*entry, error) {
	if raw[0] != '{' {
		return nil, errors.New("must be an object")
	}
	var re rawEntry
	eachMember(raw, 0, func(rawKey []byte, vs, ve int) bool {
		f := raw[vs:ve]
		switch string(rawKey) {
		case "namespace":
			re.Namespace = f
		case "name":
			re.Name = f
		case "map":
			re.Map = f
		case "criteria":
			re.Criteria = f
		}
		return true
	})
	e := &entry{}
	var err error
	if e.namespace, err = requiredString(re.Namespace, "namespace"); err != nil {
		return nil, err
	}
	if e.name, err = requiredString(re.Name, "name"); err != nil {
		return nil, err
	}
	if !isNull(re.Criteria) {
		if re.Criteria[0] != '{' {
			return nil, errors.New("criteria: must be an object")
		}
		if e.criteria, err = compileCriteria(re.Criteria, "criteria."); err != nil {
			return nil, err
		}
		if e.criteria.correlationID == "" && len(e.criteria.context) == 0 {
			e.criteria = nil
		}
	}
	if !isNull(re.Map) {
		if e.proj, err = compileProjection(re.Map); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func requiredString(raw json.RawMessage, field string) (string, error) {
	if isNull(raw) {
		return "", fmt.Errorf("%s: is required", field)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s: must be a string", field)
	}
	if s == "" {
		return "", fmt.Errorf("%s: must not be empty", field)
	}
	return s, nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}
