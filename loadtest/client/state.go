package client

// Phase is the life stage of a client.
type Phase uint8

// Phases in order.
const (
	Handshaking Phase = iota // TCP up, protocol handshake running
	Ready                    // subscribed: events count from here
	Closed                   // ended by the server after Ready
	Failed                   // never became ready, or a protocol error
)

func (p Phase) String() string {
	return [...]string{"handshaking", "ready", "closed", "failed"}[p]
}

// State is the bookkeeping common to every kind.
type State struct {
	Phase   Phase
	ReadyAt int64 // Unix nanos when Phase became Ready
	EndAt   int64 // Unix nanos when the client stopped (closed, failed or end of run)
	// Track records which seqs arrived.
	Track Track
	// Unstamped counts events that carried no sentAt (e.g. the fixture's "auth").
	Unstamped int64
	// Pings counts Engine.IO pings answered.
	Pings int64
	// Reason is the pushgate:close reason or SSE close event, when one came.
	Reason string
	// Err is why the client failed or closed.
	Err error
}

func (s *State) ready(now int64) {
	if s.Phase == Handshaking {
		s.Phase, s.ReadyAt = Ready, now
	}
}

// End marks the client as finished at now with err (nil = normal end of run).
func (s *State) End(now int64, err error) {
	if s.EndAt == 0 {
		s.EndAt = now
	}
	if s.Phase == Handshaking {
		s.Phase = Failed
	} else if s.Phase == Ready && err != nil {
		s.Phase = Closed
	}
	if s.Err == nil {
		s.Err = err
	}
}

// record handles one stamped or unstamped event payload.
func (s *State) record(sink Sink, now int64, payload []byte) {
	st, ok := ParseStamp(payload)
	if !ok {
		s.Unstamped++
		return
	}
	s.Track.Add(st.Seq)
	if sink != nil {
		sink.Delivered(now, st.SentAt, st.Step)
	}
}
