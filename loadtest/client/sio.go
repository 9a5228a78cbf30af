package client

import (
	"fmt"

	"github.com/pushgate/pushgate/protocol/engineio"
	"github.com/pushgate/pushgate/protocol/socketio"
)

// sio is the Engine.IO / Socket.IO layer shared by KindWS and KindUpgrade.
type sio struct {
	cfg       *Config
	sink      Sink
	st        State
	connected bool // Socket.IO CONNECT reply received
}

// connectPacket returns the Engine.IO message carrying the Socket.IO CONNECT.
func (s *sio) connectPacket() []byte {
	p := socketio.Packet{Type: socketio.Connect, Namespace: s.cfg.namespace(), AckID: socketio.NoAck, Data: s.cfg.Auth}
	return socketio.AppendPacket([]byte{byte(engineio.PacketMessage)}, p)
}

// onMessage handles one Engine.IO message payload (a Socket.IO packet).
func (s *sio) onMessage(now int64, data []byte) error {
	p, err := socketio.Decode(data, 0)
	if err != nil {
		return fmt.Errorf("%w: socket.io packet %s: %v", ErrProtocol, snippet(data), err)
	}
	if p.Namespace != s.cfg.namespace() {
		return nil
	}
	switch p.Type {
	case socketio.Connect:
		s.connected = true
	case socketio.ConnectError:
		return fmt.Errorf("%w: CONNECT_ERROR %s", ErrRefused, snippet(p.Data))
	case socketio.Disconnect:
		return fmt.Errorf("%w: socket.io DISCONNECT", ErrClosed)
	case socketio.Event:
		name, args, err := socketio.SplitEvent(p.Data)
		if err != nil {
			return fmt.Errorf("%w: event %s: %v", ErrProtocol, snippet(p.Data), err)
		}
		if name == "pushgate:close" {
			s.st.Reason = string(args)
			return nil
		}
		s.st.record(s.sink, now, args)
	}
	return nil
}
