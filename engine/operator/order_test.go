package operator

import (
	"fmt"
	"testing"
	"time"
)

func TestDecodeRefusesIncompleteOrders(t *testing.T) {
	until := time.Now().Add(time.Hour)
	good := []*Order{
		{ID: "1", Kind: KindDisconnect, Subject: "u"},
		{ID: "2", Kind: KindRevoke, TokenID: "j", Until: until},
		{ID: "3", Kind: KindRevoke, Subject: "u", IssuedBefore: time.Now(), Until: until},
	}
	for _, o := range good {
		if got, err := Decode(o.Encode()); err != nil || got.ID != o.ID {
			t.Errorf("Decode(%s) = %v, %v", o.Encode(), got, err)
		}
	}
	for _, b := range []string{`nope`, `{"kind":"disconnect","sub":"u"}`, `{"id":"x","kind":"disconnect"}`,
		`{"id":"x","kind":"revoke","jti":"j"}`, `{"id":"x","kind":"explode","sub":"u"}`} {
		if _, err := Decode([]byte(b)); err == nil {
			t.Errorf("Decode(%s) accepted", b)
		}
	}
}

func TestPagesCoverEveryConnectionOnce(t *testing.T) {
	var cs []Connection
	for i := range 7 {
		cs = append(cs, Connection{Instance: fmt.Sprintf("i%d", i%2), ID: fmt.Sprintf("c%d", i), Stream: "s"})
	}
	Sort(cs)
	var seen []string
	after := ""
	for range 10 {
		page, next := Page(cs, after, 3)
		for _, c := range page {
			seen = append(seen, c.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	uniq := map[string]bool{}
	for _, id := range seen {
		uniq[id] = true
	}
	if len(seen) != 7 || len(uniq) != 7 {
		t.Errorf("pages gave %v", seen)
	}
}
