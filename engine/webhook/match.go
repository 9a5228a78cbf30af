package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pushgate/pushgate/engine/source"
)

// Event names pushgate emits.
const (
	EmitNamespace = "push-service"
	TriggeredName = "webhook-triggered"
	DisabledName  = "webhook-disabled"
)

// scoped is a hook with the document it came from: Tenant is the owning tenant's URN, "" for the
// core document (whose webhooks see every tenant's events).
type scoped struct {
	Tenant string
	Hook   *Hook
	key    string // endpointKey, set when indexed (set.add)
}

// endpointKey names a webhook in the store: "<tenant URN or core>\n<key>".
func (s scoped) endpointKey() string {
	if s.key != "" {
		return s.key
	}
	return endpointKey(s.Tenant, s.Hook.Key)
}

func endpointKey(tenant, key string) string {
	if tenant == "" {
		tenant = "core"
	}
	return tenant + "\n" + key
}

// set is an immutable compiled view of every document's webhooks, indexed by event type.
type set struct {
	all     map[string]scoped      // endpoint key -> hook
	byEvent map[eventType][]scoped // candidate hooks
	failed  map[string]bool        // tenants ("" = core) whose document did not compile
}

// eventType indexes hooks by namespace and name: looked up for every event on the hub's
// goroutine, so without building a "<namespace>:<name>" string.
type eventType struct{ namespace, name string }

// add indexes one hook.
func (s *set) add(sc scoped) {
	sc.key = sc.endpointKey()
	s.all[sc.key] = sc
	h := sc.Hook
	var keys []eventType
	if h.TargetID == "" {
		for _, r := range h.Events {
			keys = append(keys, eventType{r.Namespace, r.Name})
		}
	} else {
		for _, id := range h.EventTypes { // "<namespace>:<name>"; namespaces hold no ':'
			ns, name, _ := strings.Cut(id, ":")
			keys = append(keys, eventType{ns, name})
		}
	}
	seen := map[eventType]bool{}
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			s.byEvent[k] = append(s.byEvent[k], sc)
		}
	}
}

// compile builds the set; invalid documents are skipped and reported in the joined error.
func compile(core []byte, tenants map[string][]byte) (*set, error) {
	s := &set{all: map[string]scoped{}, byEvent: map[eventType][]scoped{}, failed: map[string]bool{}}
	var errs []error
	add := func(tenant string, doc []byte) {
		hooks, err := parseDocument(doc)
		if err != nil {
			s.failed[tenant] = true
			errs = append(errs, fmt.Errorf("document of %q: %w", tenant, err))
			return
		}
		for _, h := range hooks {
			s.add(scoped{Tenant: tenant, Hook: h})
		}
	}
	add("", core)
	names := make([]string, 0, len(tenants))
	for t := range tenants {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		add(t, tenants[t])
	}
	return s, errors.Join(errs...)
}

// candidates reports whether any webhook lists the event's type (the cheap pre-filter Observe runs
// on the hub's goroutine).
func (s *set) candidates(ev *source.Event) bool {
	return len(s.byEvent[eventType{ev.Namespace, ev.Name}]) > 0
}

// match returns the webhooks ev triggers, by ADSP's rules: never for push-service:webhook-triggered;
// a hook of a tenant document only for that tenant's events; generic hooks when some events[] entry
// has the event's namespace and name and its criteria match the raw event; app-status hooks
// (targetId set) when "<namespace>:<name>" is in eventTypes and payload.application.appKey or
// payload.application.id equals targetId.
func (s *set) match(ev *source.Event) []scoped {
	if ev.Namespace == EmitNamespace && ev.Name == TriggeredName {
		return nil
	}
	cands := s.byEvent[eventType{ev.Namespace, ev.Name}]
	var out []scoped
	var app *appRef
	for _, c := range cands {
		if c.Tenant != "" && c.Tenant != ev.TenantID {
			continue
		}
		h := c.Hook
		if h.TargetID != "" {
			if app == nil {
				app = readApp(ev.JSON)
			}
			if app.appKey == h.TargetID || app.id == h.TargetID {
				out = append(out, c)
			}
			continue
		}
		for _, r := range h.Events {
			if r.Namespace == ev.Namespace && r.Name == ev.Name && r.Criteria.Match(ev.JSON) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

type appRef struct{ appKey, id string }

// readApp reads payload.application.{appKey,id}; only strings count (ADSP compares with ===).
func readApp(evJSON []byte) *appRef {
	var v struct {
		Payload struct {
			Application struct {
				AppKey json.RawMessage `json:"appKey"`
				ID     json.RawMessage `json:"id"`
			} `json:"application"`
		} `json:"payload"`
	}
	a := &appRef{appKey: "\x00", id: "\x00"} // never equal to a non-empty targetId
	if json.Unmarshal(evJSON, &v) != nil {
		return a
	}
	_ = json.Unmarshal(v.Payload.Application.AppKey, &a.appKey)
	_ = json.Unmarshal(v.Payload.Application.ID, &a.id)
	return a
}
