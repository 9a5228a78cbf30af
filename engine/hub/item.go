package hub

import (
	"sync"

	"github.com/bytedance/sonic"

	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/stream"
	"github.com/pushgate/pushgate/engine/transport"
	"github.com/pushgate/pushgate/protocol/socketio"
	"github.com/pushgate/pushgate/protocol/sse"
)

// Item is one event projected for one stream scope. Its wire forms are encoded lazily, once per
// variant (and per Socket.IO namespace spelling), and shared read-only by every subscriber.
type Item struct {
	Seq    uint64
	Event  *source.Event
	Stream *stream.Stream
	// JSON is the projected item, encoded once.
	JSON []byte
	// offsets appends the event id as a final string argument of Socket.IO events (connection
	// state recovery offsets).
	offsets bool
	// fan is the event's fan-out span record, shared by its items; nil when not traced.
	fan *fanout

	once     sync.Once
	name     string // Socket.IO event name "<namespace>:<name>" of the projected item
	mu       sync.Mutex
	sio1Nsp  string // single-entry fast path before the map
	sio1     *transport.Prepared
	sioMore  map[string]*transport.Prepared
	sseOnce  sync.Once
	sseBytes []byte
}

// EventName is "<namespace>:<name>" taken from the projected item (a map may overwrite either,
// which renames the event, as in the original), falling back to the event's own fields.
func (it *Item) EventName() string {
	it.once.Do(func() {
		ns, name := it.Event.Namespace, it.Event.Name
		if len(it.JSON) > 0 && len(it.Event.JSON) > 0 && &it.JSON[0] != &it.Event.JSON[0] {
			if n, err := sonic.Get(it.JSON, "namespace"); err == nil {
				if s, err := n.String(); err == nil {
					ns = s
				}
			}
			if n, err := sonic.Get(it.JSON, "name"); err == nil {
				if s, err := n.String(); err == nil {
					name = s
				}
			}
		}
		it.name = ns + ":" + name
	})
	return it.name
}

// SocketIO returns the EVENT packet for namespace nsp, encoded at most once per spelling.
func (it *Item) SocketIO(nsp string) *transport.Prepared {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.sio1 != nil && it.sio1Nsp == nsp {
		return it.sio1
	}
	if p := it.sioMore[nsp]; p != nil {
		return p
	}
	buf := make([]byte, 1, len(it.JSON)+len(nsp)+len(it.EventName())+len(it.Event.ID)+16)
	buf[0] = '4'
	var pkt []byte
	if it.offsets {
		args := append(append(make([]byte, 0, len(it.JSON)+len(it.Event.ID)+3), it.JSON...), ',')
		args = socketio.AppendJSONString(args, it.Event.ID)
		pkt = socketio.AppendPacket(buf, socketio.Packet{Type: socketio.Event, Namespace: nsp, AckID: socketio.NoAck,
			Data: socketio.AppendArray(nil, it.EventName(), args)})
	} else {
		pkt = socketio.AppendEvent(buf, nsp, it.EventName(), it.JSON)
	}
	p := transport.Prepare(pkt)
	if it.sio1 == nil {
		it.sio1Nsp, it.sio1 = nsp, p
	} else {
		if it.sioMore == nil {
			it.sioMore = make(map[string]*transport.Prepared)
		}
		it.sioMore[nsp] = p
	}
	return p
}

// SSE returns the Server-Sent Events record: "id: <event id>\ndata: <item>\n\n" (no event field,
// so onmessage handlers receive it).
func (it *Item) SSE() []byte {
	it.sseOnce.Do(func() {
		b, err := sse.AppendEvent(make([]byte, 0, len(it.JSON)+len(it.Event.ID)+16), it.Event.ID, "", it.JSON)
		if err != nil {
			// An id that cannot be an SSE field is sent without it rather than dropped.
			b, _ = sse.AppendEvent(nil, "", "", it.JSON)
		}
		it.sseBytes = b
	})
	return it.sseBytes
}
