package source

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBusIDsAndOrderUnderConcurrentPublishers(t *testing.T) {
	b := NewBus(BusConfig{QueueSize: 10000})
	defer b.Close()
	var (
		mu   sync.Mutex
		seen []string
		all  = make(chan struct{})
	)
	const publishers, each = 8, 200
	b.Subscribe(func(ev *Event) {
		mu.Lock()
		seen = append(seen, ev.ID)
		if len(seen) == publishers*each {
			close(all)
		}
		mu.Unlock()
	})
	idRE := regexp.MustCompile(`^` + b.Epoch() + `-[1-9][0-9]*$`)
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := 0
			for i := range each {
				ev := &Event{Name: fmt.Sprintf("%d-%d", p, i)}
				id, err := b.Publish(ev)
				if err != nil || id != ev.ID || !idRE.MatchString(id) {
					t.Errorf("Publish = %q, %v (ev.ID %q)", id, err, ev.ID)
					return
				}
				seq, _ := strconv.Atoi(strings.TrimPrefix(id, b.Epoch()+"-"))
				if seq <= last {
					t.Errorf("ids not increasing per publisher: %d after %d", seq, last)
				}
				last = seq
			}
		}()
	}
	wg.Wait()
	<-all
	mu.Lock()
	defer mu.Unlock()
	for i, id := range seen { // delivered in id order, no gaps, starting at 1
		if want := fmt.Sprintf("%s-%d", b.Epoch(), i+1); id != want {
			t.Fatalf("delivery %d = %s, want %s", i, id, want)
		}
	}
}

func TestBusEpoch(t *testing.T) {
	b := NewBus(BusConfig{Epoch: 1700000000})
	defer b.Close()
	id, err := b.Publish(&Event{})
	if err != nil || id != "1700000000-1" {
		t.Fatalf("id = %q, %v", id, err)
	}
}

func TestBusOverload(t *testing.T) {
	b := NewBus(BusConfig{QueueSize: 2})
	got := make(chan *Event)
	release := make(chan struct{})
	b.Subscribe(func(ev *Event) {
		got <- ev
		<-release
	})
	if _, err := b.Publish(&Event{}); err != nil {
		t.Fatal(err)
	}
	<-got // the dispatcher now blocks inside the subscriber; the queue is empty
	for i := range 2 {
		if _, err := b.Publish(&Event{}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	ev := &Event{}
	if id, err := b.Publish(ev); !errors.Is(err, ErrOverloaded) || id != "" || ev.ID != "" {
		t.Fatalf("Publish on full queue = %q, %v", id, err)
	}
	close(release)
	for _, want := range []string{"-2", "-3"} { // the refused publish consumed no sequence number
		if ev := <-got; !strings.HasSuffix(ev.ID, want) {
			t.Fatalf("got %s, want suffix %s", ev.ID, want)
		}
	}
	id, err := b.Publish(&Event{})
	if err != nil || !strings.HasSuffix(id, "-4") {
		t.Fatalf("after drain: %q %v", id, err)
	}
	<-got
	b.Close()
}

func TestBusQueuesBeforeSubscribeAndClose(t *testing.T) {
	b := NewBus(BusConfig{})
	for range 3 {
		if _, err := b.Publish(&Event{}); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	b.Subscribe(func(*Event) { n++ })
	if err := b.Ready(); err != nil {
		t.Fatal(err)
	}
	b.Close() // delivers the backlog before returning
	if n != 3 {
		t.Fatalf("delivered %d", n)
	}
	if _, err := b.Publish(&Event{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close = %v", err)
	}
	if err := b.Ready(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ready after Close = %v", err)
	}
	b.Close()
}

func TestBusCloseWithoutSubscriber(t *testing.T) {
	b := NewBus(BusConfig{})
	_, _ = b.Publish(&Event{})
	b.Close()
}

// The default epoch has millisecond resolution, so two processes started within the same second
// (a quick restart) do not repeat event ids, nor the webhook-ids derived from them.
func TestBusEpochIsMilliseconds(t *testing.T) {
	before := time.Now().UnixMilli()
	b := NewBus(BusConfig{})
	defer b.Close()
	after := time.Now().UnixMilli()
	e, err := strconv.ParseInt(b.Epoch(), 10, 64)
	if err != nil || e < before || e > after {
		t.Fatalf("epoch %q, want the start time in milliseconds (%d–%d)", b.Epoch(), before, after)
	}
}

// A forgotten idempotency key lets the same key publish again (the ingest forgets it when the
// event's webhook deliveries could not be recorded and it asked for the event again).
func TestForgottenKeyPublishesAgain(t *testing.T) {
	b := NewBus(BusConfig{QueueSize: 16})
	defer b.Close()
	ev := func() *Event { return &Event{TenantID: "t", IdempotencyKey: "k", JSON: []byte(`{}`)} }
	first, err := b.Publish(ev())
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := b.Publish(ev()); again != first {
		t.Fatalf("a repeat got %s, want the first id %s", again, first)
	}
	b.ForgetKey("t", "k")
	if after, err := b.Publish(ev()); err != nil || after == first {
		t.Fatalf("after ForgetKey: %s, %v; want a new id", after, err)
	}
}
