package transport

import (
	"sync"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/protocol/socketio"
)

// Socket is one client's membership of one namespace.
type Socket struct {
	// ID is the Socket.IO socket id sent in the CONNECT reply (distinct from the secret sid).
	ID string
	// PID is the private session id of connection state recovery ("" when off).
	PID string
	// Namespace is the namespace exactly as the client spelled it; replies use this string.
	Namespace string
	// Data belongs to the namespace logic.
	Data any

	client *client
	ns     Namespace
	// pos is the position of the last packet queued by DeliverAt (guarded by the session's mu).
	pos string

	mu      sync.Mutex
	left    bool
	nextAck int64
	acks    map[int64]func(args []byte, attachments [][]byte)
}

// Session is the Engine.IO session carrying the socket.
func (k *Socket) Session() *Session { return k.client.sess }

// Emit sends event name with one pre-encoded JSON argument.
func (k *Socket) Emit(name string, arg []byte) {
	k.client.sess.SendText(socketio.AppendEvent([]byte{'4'}, k.Namespace, name, arg))
}

// EmitArgs sends event name with raw arguments (the array elements after the name, e.g.
// `1,"2"`); with attachments it is a BINARY_EVENT whose placeholders are already in args.
func (k *Socket) EmitArgs(name string, args []byte, attachments [][]byte) {
	k.sendPacket(socketio.Event, socketio.NoAck, socketio.AppendArray(nil, name, args), attachments)
}

// EmitWithAck sends an event and calls fn with the client's ack arguments.
func (k *Socket) EmitWithAck(name string, args []byte, fn func(args []byte, attachments [][]byte)) {
	k.mu.Lock()
	id := k.nextAck
	k.nextAck++
	if k.acks == nil {
		k.acks = make(map[int64]func([]byte, [][]byte))
	}
	k.acks[id] = fn
	k.mu.Unlock()
	k.sendPacket(socketio.Event, id, socketio.AppendArray(nil, name, args), nil)
}

// Ack answers a client event that asked for an acknowledgement (no-op otherwise).
func (k *Socket) Ack(ev *Event, args []byte, attachments [][]byte) {
	if ev.AckID == socketio.NoAck {
		return
	}
	k.sendPacket(socketio.Ack, ev.AckID, socketio.AppendArray(nil, "", args), attachments)
}

func (k *Socket) sendPacket(t socketio.PacketType, ack int64, data []byte, attachments [][]byte) {
	p := socketio.Packet{Type: t, Namespace: k.Namespace, AckID: ack, Data: data}
	if len(attachments) > 0 {
		if t == socketio.Ack {
			p.Type = socketio.BinaryAck
		} else {
			p.Type = socketio.BinaryEvent
		}
		p.Attachments = len(attachments)
	}
	s := k.client.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendLocked(outPacket{rec: socketio.AppendPacket([]byte{'4'}, p)})
	for _, a := range attachments {
		s.sendLocked(outPacket{binary: a, isBin: true})
	}
}

// Deliver queues a shared prepared event (fan-out) and returns the link to flush, if any, and
// false when the packet was dropped (see Session.Deliver).
func (k *Socket) Deliver(p *Prepared) (conn.Link, conn.Outcome) {
	return k.client.sess.Deliver(p)
}

// DeliverAt is Deliver that records pos (the event's id) as the socket's position, so that a
// session moving to another process (Handover) resumes right after the last packet queued here.
func (k *Socket) DeliverAt(p *Prepared, pos string) (conn.Link, conn.Outcome) {
	return k.client.sess.deliver(p, k, pos)
}

// Disconnect leaves the namespace from the server side: the client gets DISCONNECT and does not
// reconnect on its own. Use CloseTransport to make it reconnect.
func (k *Socket) Disconnect() {
	k.client.sess.SendText(append([]byte{'4'}, socketio.AppendDisconnect(nil, k.Namespace)...))
	k.client.remove(k)
	k.leave(conn.ReasonNamespaceLeft)
}

// CloseTransport closes the whole Engine.IO session (socket.io-client then reconnects).
func (k *Socket) CloseTransport(reason conn.CloseReason) {
	k.client.sess.Close(reason)
}

func (k *Socket) onAck(id int64, data []byte, attachments [][]byte) {
	k.mu.Lock()
	fn := k.acks[id]
	delete(k.acks, id)
	k.mu.Unlock()
	if fn == nil {
		return
	}
	args := data
	if len(args) >= 2 {
		args = args[1 : len(args)-1]
	}
	fn(args, attachments)
}

func (k *Socket) leave(reason conn.CloseReason) {
	k.mu.Lock()
	if k.left {
		k.mu.Unlock()
		return
	}
	k.left = true
	k.mu.Unlock()
	k.ns.OnDisconnect(k, reason)
}
