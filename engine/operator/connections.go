package operator

import (
	"sort"
	"strings"
	"time"

	"github.com/pushgate/pushgate/engine/hub"
)

// Connection is one subscription of a live connection, as GET /push/v1/connections lists it.
type Connection struct {
	// ID is the connection (Engine.IO session or SSE request); a Socket.IO connection with two
	// namespaces is listed once per subscription.
	ID        string    `json:"id"`
	Subject   string    `json:"sub"`
	Name      string    `json:"name,omitempty"`
	TenantID  string    `json:"tenantId,omitempty"`
	Stream    string    `json:"stream"`
	Transport string    `json:"transport"`
	Instance  string    `json:"instance"`
	Since     time.Time `json:"since"`
	Queued    int       `json:"queuedBytes"`
	Remote    string    `json:"remoteAddress"`
}

// Filter selects connections: every set field must match.
type Filter struct {
	TenantID string // the stream's tenant or the subject's tenant
	Stream   string // stream id
	Subject  string
}

// List returns h's subscriptions matching f, labelled with instance. The subscriptions are
// collected under the hub's shard locks and described after (a connection's queued bytes take its
// session lock, which is never taken under a shard lock: LOCKING.md).
func List(h *hub.Hub, f Filter, instance string) []Connection {
	var subs []*hub.Subscription
	h.Each(func(sub *hub.Subscription) { subs = append(subs, sub) })
	var out []Connection
	for _, sub := range subs {
		p := sub.Principal
		var subject, name, ptenant string
		if p != nil {
			subject, name, ptenant = p.Subject, p.Name, p.TenantID
		}
		if f.TenantID != "" && sub.Scope != f.TenantID && ptenant != f.TenantID {
			continue
		}
		if (f.Stream != "" && sub.StreamID != f.Stream) || (f.Subject != "" && subject != f.Subject) {
			continue
		}
		c := Connection{ID: sub.Conn.ID, Subject: subject, Name: name, TenantID: sub.Scope, Stream: sub.StreamID,
			Transport: sub.Conn.Transport, Instance: instance, Since: sub.Conn.Since.UTC(), Remote: sub.Conn.Remote}
		if c.TenantID == "" {
			c.TenantID = ptenant
		}
		if sub.Conn.Queued != nil {
			c.Queued = sub.Conn.Queued()
		}
		out = append(out, c)
	}
	return out
}

// Sort orders connections by (instance, id, stream): a stable order for paging with a cursor.
func Sort(cs []Connection) {
	sort.Slice(cs, func(i, j int) bool { return cursorOf(cs[i]) < cursorOf(cs[j]) })
}

// Page returns at most limit connections after the cursor (the Next of the previous page) and
// the cursor of the next page ("" when this is the last). cs must be sorted.
func Page(cs []Connection, after string, limit int) (page []Connection, next string) {
	i := sort.Search(len(cs), func(i int) bool { return cursorOf(cs[i]) > after })
	if after == "" {
		i = 0
	}
	end := min(len(cs), i+limit)
	page = cs[i:end]
	if end < len(cs) && len(page) > 0 {
		next = cursorOf(page[len(page)-1])
	}
	return page, next
}

func cursorOf(c Connection) string {
	return strings.Join([]string{c.Instance, c.ID, c.Stream}, "\x1f")
}
