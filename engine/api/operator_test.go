package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/operator"
)

type fakeOperator struct {
	mu       sync.Mutex
	conns    []operator.Connection
	filter   operator.Filter
	orders   []*operator.Order
	receipts map[string]*operator.EventReceipt
}

func (o *fakeOperator) Connections(f operator.Filter) ([]operator.Connection, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.filter = f
	return append([]operator.Connection(nil), o.conns...), nil
}

func (o *fakeOperator) Order(ord *operator.Order) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.orders = append(o.orders, ord)
	return nil
}

func (o *fakeOperator) Receipt(id, sub string) (*operator.EventReceipt, bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r, ok := o.receipts[id]
	if !ok {
		return nil, false, nil
	}
	c := *r
	if sub != "" {
		c.Subject = &operator.SubjectAnswer{Sub: sub}
	}
	return &c, true, nil
}

func (o *fakeOperator) last(t *testing.T) *operator.Order {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.orders) == 0 {
		t.Fatal("no order published")
	}
	return o.orders[len(o.orders)-1]
}

func operatorFixture(t *testing.T) (*fixture, *fakeOperator) {
	op := &fakeOperator{}
	f := newFixture(t, func(d *Deps) { d.Operator = op })
	f.principals["acme-tadmin"] = &auth.Principal{Subject: "ta1", TenantID: f.acme.ID, Roles: []string{RoleTenantAdmin}}
	f.principals["core-platform"] = &auth.Principal{Subject: "cp1", Core: true, Roles: []string{RolePlatformService}}
	return f, op
}

// Every new route: bad input is a 400 naming the field, another tenant a 403, a caller without the
// operator roles a 403, no token a 401.
func TestOperatorRoutesRefuseBadInput(t *testing.T) {
	f, op := operatorFixture(t)
	for _, c := range []struct {
		method, uri, token, body string
		status                   int
		mention                  string
	}{
		{"GET", "/push/v1/connections", "", "", 401, "token"},
		{"GET", "/push/v1/connections", "acme-admin", "", 403, "tenant-admin"}, // platform-service role but not core
		{"GET", "/push/v1/connections", "core-admin", "", 200, ""},
		{"GET", "/push/v1/connections?tenant=beta", "acme-tadmin", "", 403, "another tenant"},
		{"GET", "/push/v1/connections?tenant=nope", "acme-tadmin", "", 404, "Tenant"},
		{"GET", "/push/v1/connections?limit=0", "acme-tadmin", "", 400, "limit"},
		{"GET", "/push/v1/connections?limit=x", "acme-tadmin", "", 400, "limit"},
		{"GET", "/push/v1/connections?cursor=%%%", "acme-tadmin", "", 400, "cursor"},
		{"POST", "/push/v1/connections/disconnect", "acme-tadmin", `{}`, 400, "sub"},
		{"POST", "/push/v1/connections/disconnect", "acme-tadmin", `[1]`, 400, "JSON object"},
		{"POST", "/push/v1/connections/disconnect", "acme-tadmin", `{"sub":7}`, 400, "sub"},
		{"POST", "/push/v1/connections/disconnect", "acme-tadmin", `{"sub":"u","tenant":"beta"}`, 403, "another tenant"},
		{"POST", "/push/v1/connections/disconnect", "acme-user", `{"sub":"u"}`, 403, "tenant-admin"},
		{"POST", "/push/v1/revocations", "acme-tadmin", `{}`, 400, "jti or sub"},
		{"POST", "/push/v1/revocations", "acme-tadmin", `{"jti":"a","sub":"b"}`, 400, "jti and sub"},
		{"POST", "/push/v1/revocations", "acme-tadmin", `{"jti":"a","issuedBefore":"2026-01-01T00:00:00Z"}`, 400, "issuedBefore"},
		{"POST", "/push/v1/revocations", "acme-tadmin", `{"sub":"b","issuedBefore":"yesterday"}`, 400, "issuedBefore"},
		{"POST", "/push/v1/revocations", "acme-tadmin", `{"sub":"b","issuedBefore":"2001-01-01T00:00:00Z"}`, 400, "issuedBefore"},
		{"POST", "/push/v1/revocations", "acme-tadmin", `{"jti":"a","exp":1}`, 400, "exp"},
		{"POST", "/push/v1/revocations", "acme-tadmin", `{"jti":"a","exp":"soon"}`, 400, "exp"},
		{"POST", "/push/v1/revocations", "acme-tadmin", `{"sub":"b","tenant":"beta"}`, 403, "another tenant"},
		{"POST", "/push/v1/revocations", "core-none", `{"jti":"a"}`, 403, "platform-service"},
	} {
		r := f.do(c.method, c.uri, c.token, c.body)
		if r.status != c.status || !strings.Contains(string(r.body), c.mention) {
			t.Errorf("%s %s as %q %s: %d %s, want %d mentioning %q", c.method, c.uri, c.token, c.body, r.status, r.body, c.status, c.mention)
		}
	}
	if len(op.orders) != 0 {
		t.Errorf("refused calls published %d orders", len(op.orders))
	}
}

// A tenant admin's orders are scoped to its tenant; the platform service's are not (a revocation
// by jti matches any tenant's token, a disconnect without a tenant every tenant).
func TestOperatorOrdersAreScoped(t *testing.T) {
	f, op := operatorFixture(t)
	if r := f.do("POST", "/push/v1/connections/disconnect", "acme-tadmin", `{"sub":"u1"}`); r.status != 202 {
		t.Fatalf("disconnect: %d %s", r.status, r.body)
	}
	if o := op.last(t); o.Kind != operator.KindDisconnect || o.TenantID != f.acme.ID || o.Subject != "u1" || o.By != "ta1" {
		t.Errorf("tenant admin's disconnect %+v", o)
	}
	if r := f.do("POST", "/push/v1/connections/disconnect", "core-platform", `{"sub":"u1"}`); r.status != 202 {
		t.Fatalf("core disconnect: %d %s", r.status, r.body)
	}
	if o := op.last(t); o.TenantID != operator.AllTenants {
		t.Errorf("core disconnect without tenant %+v, want every tenant", o)
	}
	r := f.do("POST", "/push/v1/revocations", "acme-tadmin", `{"jti":"j1"}`)
	if r.status != 201 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	o := op.last(t)
	if o.Kind != operator.KindRevoke || o.TokenID != "j1" || o.TenantID != f.acme.ID || o.Until.Sub(time.Now()) < 23*time.Hour {
		t.Errorf("tenant admin's revocation %+v", o)
	}
	exp := time.Now().Add(time.Hour).Unix()
	if r := f.do("POST", "/push/v1/revocations", "core-platform", fmt.Sprintf(`{"sub":"s1","tenant":"acme-corp","exp":%d}`, exp)); r.status != 201 {
		t.Fatalf("core revoke: %d %s", r.status, r.body)
	}
	if o := op.last(t); o.Subject != "s1" || o.TenantID != f.acme.ID || o.Until.Unix() != exp || o.IssuedBefore.IsZero() {
		t.Errorf("core revocation %+v", o)
	}
	if r := f.do("POST", "/push/v1/revocations", "core-platform", `{"jti":"j2"}`); r.status != 201 || op.last(t).TenantID != "" {
		t.Errorf("core revocation by jti: %d, tenant %q (want any)", r.status, op.last(t).TenantID)
	}
}

// The listing is filtered for the caller's tenant and paged with a cursor.
func TestConnectionsListPaged(t *testing.T) {
	f, op := operatorFixture(t)
	for i := range 5 {
		op.conns = append(op.conns, operator.Connection{ID: fmt.Sprintf("c%d", i), Subject: "u", TenantID: f.acme.ID, Stream: "s", Transport: "sse", Instance: "i1"})
	}
	var got []string
	cursor := ""
	for page := 0; page < 5; page++ {
		r := f.do("GET", "/push/v1/connections?stream=s&sub=u&limit=2&cursor="+cursor, "acme-tadmin", "")
		var body struct {
			Connections []operator.Connection
			Next        string
		}
		if r.status != 200 || json.Unmarshal(r.body, &body) != nil {
			t.Fatalf("page %d: %d %s", page, r.status, r.body)
		}
		for _, c := range body.Connections {
			got = append(got, c.ID)
		}
		if body.Next == "" {
			break
		}
		cursor = body.Next
	}
	if strings.Join(got, ",") != "c0,c1,c2,c3,c4" {
		t.Errorf("pages %v", got)
	}
	if op.filter != (operator.Filter{TenantID: f.acme.ID, Stream: "s", Subject: "u"}) {
		t.Errorf("filter %+v, want the tenant admin's tenant", op.filter)
	}
}

// Receipts: tenant admins and event senders read their own tenant's, the platform service every
// tenant's; another tenant's is a 403, an unknown event a 404.
func TestReceiptRoute(t *testing.T) {
	f, op := operatorFixture(t)
	op.receipts = map[string]*operator.EventReceipt{
		"e-acme": {EventID: "e-acme", TenantID: f.acme.ID, Type: "shop:order"},
		"e-beta": {EventID: "e-beta", TenantID: f.beta.ID},
	}
	f.principals["acme-sender"] = &auth.Principal{Subject: "s1", TenantID: f.acme.ID, Roles: []string{RoleEventSender}}
	for _, c := range []struct {
		uri, token string
		status     int
		mention    string
	}{
		{"/push/v1/events/e-acme", "", 401, "token"},
		{"/push/v1/events/e-acme", "acme-user", 403, "not permitted"},
		{"/push/v1/events/e-acme", "acme-tadmin", 200, `"type":"shop:order"`},
		{"/push/v1/events/e-acme?sub=u1", "acme-sender", 200, `"subject":{"sub":"u1"`},
		{"/push/v1/events/e-beta", "acme-tadmin", 403, "another tenant"},
		{"/push/v1/events/e-beta", "core-platform", 200, `"eventId":"e-beta"`},
		{"/push/v1/events/nope", "acme-tadmin", 404, "history window"},
		{"/push/v1/events/e-acme?sub=" + strings.Repeat("x", 513), "acme-tadmin", 400, "sub"},
		{"/push/v1/events/" + strings.Repeat("x", 513), "acme-tadmin", 400, "eventId"},
	} {
		r := f.do("GET", c.uri, c.token, "")
		if r.status != c.status || !strings.Contains(string(r.body), c.mention) {
			t.Errorf("GET %s as %q: %d %s, want %d mentioning %q", c.uri[:min(len(c.uri), 60)], c.token, r.status, r.body, c.status, c.mention)
		}
	}
}

// Ingest: the request's traceparent header is the event's trace context (over the body's field);
// a body field that is not a W3C trace context is a 400 naming it.
func TestIngestTraceparent(t *testing.T) {
	f, _ := operatorFixture(t)
	const body = `{"namespace":"n","name":"e","timestamp":"2026-01-01T00:00:00Z","payload":{}%s}`
	if r := f.do("POST", "/event/v1/events", "acme-admin", fmt.Sprintf(body, `,"traceparent":"nope"`)); r.status != 400 || !strings.Contains(string(r.body), "traceparent") {
		t.Errorf("bad traceparent field: %d %s", r.status, r.body)
	}
	const field = "00-11111111111111111111111111111111-2222222222222222-01"
	if r := f.do("POST", "/event/v1/events", "acme-admin", fmt.Sprintf(body, `,"traceparent":"`+field+`"`)); r.status != 200 || f.pub.last().Traceparent != field {
		t.Errorf("field: %d %s, event traceparent %q", r.status, r.body, f.pub.last().Traceparent)
	}
	const header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	r := serveWithHeader(f.api, "POST", "/event/v1/events", "acme-admin", fmt.Sprintf(body, `,"traceparent":"`+field+`"`), "traceparent", header)
	if r.status != 200 || f.pub.last().Traceparent != header || !strings.Contains(string(f.pub.last().JSON), header) {
		t.Errorf("header: %d %s, event traceparent %q", r.status, r.body, f.pub.last().Traceparent)
	}
}
