package cluster

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushgate/pushgate/engine/operator"
	"github.com/pushgate/pushgate/engine/source"
)

// LinkConfig tunes the parent's side of the links. Zero values mean the documented defaults.
type LinkConfig struct {
	// QueueFrames bounds the frames waiting for one worker. Zero means 16384.
	QueueFrames int
	// QueueBytes bounds the bytes waiting for one worker; above it (or above QueueFrames) the
	// worker's link is dropped and it reconnects. Zero means 64 MiB.
	QueueBytes int64
	// ResumeFrames is how many recent events are kept to resume a worker that reconnects. Zero
	// means 4096 (must stay below QueueFrames).
	ResumeFrames int
	// PingInterval is the keep-alive period. Zero means 5s.
	PingInterval time.Duration
	// WriteTimeout drops a link whose socket stays unwritable this long. Zero means 10s.
	WriteTimeout time.Duration
	// OnReady, when set, runs after a worker reported READY (on the link's goroutine).
	OnReady func(index int)
	// Logger. Zero means slog.Default().
	Logger *slog.Logger
}

func (c *LinkConfig) applyDefaults() {
	if c.QueueFrames <= 0 {
		c.QueueFrames = 16384
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = 64 << 20
	}
	if c.ResumeFrames <= 0 {
		c.ResumeFrames = 4096
	}
	c.ResumeFrames = min(c.ResumeFrames, c.QueueFrames/2)
	if c.PingInterval <= 0 {
		c.PingInterval = 5 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// LinkServer is the parent's end of the worker links: it encodes each event once and queues the
// shared frame to every connected worker, each drained by its own writer goroutine, so a slow or
// dead worker never blocks the others (its link is dropped instead).
type LinkServer struct {
	cfg   LinkConfig
	log   *slog.Logger
	epoch string

	mu       sync.Mutex // orders sequence numbers, the resume ring, snapshots and queueing
	peers    map[*peer]struct{}
	snapshot []byte
	seq      uint64
	ring     [][]byte // ring[s%len] holds the frame of seq s for s in (seq-len, seq]
	closed   bool
	// revocations are the ORDER frames of the revocations in force, sent to every worker that
	// attaches (a new or restarted worker must honour them too).
	revocations []revocationFrame

	Dropped atomic.Int64 // links dropped because a worker fell behind
	quit    chan struct{}
	wg      sync.WaitGroup
}

// NewLinkServer returns a link server with a fresh epoch; call Serve and SetSnapshot.
func NewLinkServer(cfg LinkConfig) *LinkServer {
	cfg.applyDefaults()
	var b [6]byte
	_, _ = rand.Read(b[:])
	s := &LinkServer{cfg: cfg, log: cfg.Logger, epoch: hex.EncodeToString(b[:]), peers: map[*peer]struct{}{},
		ring: make([][]byte, cfg.ResumeFrames), quit: make(chan struct{})}
	s.wg.Add(1)
	go s.pinger()
	return s
}

// Epoch identifies this link server (sequence numbers are per epoch).
func (s *LinkServer) Epoch() string { return s.epoch }

// Workers returns the indexes of connected workers.
func (s *LinkServer) Workers() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, 0, len(s.peers))
	for p := range s.peers {
		out = append(out, p.index)
	}
	return out
}

// SetSnapshot makes snap the configuration sent to connecting workers and sends it to the
// connected ones (after the events already queued).
func (s *LinkServer) SetSnapshot(snap *Snapshot) error {
	snap.Epoch = s.epoch
	f, err := AppendSnapshot(nil, snap)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snapshot = f
	s.broadcastLocked(f)
	return nil
}

// Publish sends ev to every worker. It never blocks; it is the bus subscriber of the parent.
func (s *LinkServer) Publish(ev *source.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.seq++
	f := AppendEvent(nil, s.seq, ev)
	s.ring[s.seq%uint64(len(s.ring))] = f
	s.broadcastLocked(f)
}

type revocationFrame struct {
	frame []byte
	until time.Time
}

// Order sends an operator order to every worker, and keeps a revocation for the workers that
// attach while it is in force. It never blocks; it is the parent's OnOrder consumer.
func (s *LinkServer) Order(o *operator.Order) {
	f := AppendOrder(nil, o.Encode())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	now := time.Now()
	kept := s.revocations[:0]
	for _, r := range s.revocations {
		if now.Before(r.until) {
			kept = append(kept, r)
		}
	}
	s.revocations = kept
	if o.Kind == operator.KindRevoke {
		s.revocations = append(s.revocations, revocationFrame{frame: f, until: o.Until})
	}
	s.broadcastLocked(f)
}

func (s *LinkServer) broadcastLocked(f []byte) {
	for p := range s.peers {
		if !p.enqueue(f) {
			s.dropLocked(p, "worker fell behind")
		}
	}
}

func (s *LinkServer) dropLocked(p *peer, why string) {
	if _, ok := s.peers[p]; !ok {
		return
	}
	delete(s.peers, p)
	s.Dropped.Add(1)
	s.log.Warn("worker link dropped; the worker reconnects and resumes", "worker", p.index, "reason", why)
	p.close()
}

// Serve accepts worker links on ln until Close (or ln fails).
func (s *LinkServer) Serve(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			select {
			case <-s.quit:
				return nil
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("cluster: link accept: %w", err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

func (s *LinkServer) handle(c net.Conn) {
	br := bufio.NewReaderSize(c, 4096)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, buf, err := readFrame(br, nil)
	if err == nil && f.Type != TypeHello {
		err = fmt.Errorf("%w: want HELLO, got %q", ErrMalformed, f.Type)
	}
	var h Hello
	if err == nil {
		h, err = ParseHello(f.Payload)
	}
	if err != nil {
		s.log.Warn("worker link refused", "err", err)
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	p := &peer{conn: c, index: h.Index, q: make(chan []byte, s.cfg.QueueFrames), max: s.cfg.QueueBytes, done: make(chan struct{})}
	if !s.attach(p, h) {
		_ = c.Close()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := p.writeLoop(s.cfg.WriteTimeout); err != nil {
			s.mu.Lock()
			s.dropLocked(p, err.Error())
			s.mu.Unlock()
		}
	}()
	for {
		f, buf, err = readFrame(br, buf)
		if err != nil {
			break
		}
		if f.Type == TypeReady {
			if i, err := ParseReady(f.Payload); err == nil {
				s.log.Info("worker ready", "worker", i)
				if s.cfg.OnReady != nil {
					s.cfg.OnReady(i)
				}
			}
		}
	}
	s.mu.Lock()
	if _, ok := s.peers[p]; ok {
		delete(s.peers, p)
		p.close()
	}
	s.mu.Unlock()
}

// attach queues the snapshot, then the events the worker missed when it can resume — or, for a
// new worker process, every retained event, so that its replay history (SSE Last-Event-ID,
// Socket.IO recovery) reaches back as far as its siblings' — and adds p to the fan-out, all under
// one lock so nothing is lost or doubled in between. The retained events go as BACKLOG frames:
// the worker records them in its history without delivering them to anyone.
func (s *LinkServer) attach(p *peer, h Hello) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.snapshot == nil {
		return false
	}
	p.enqueue(s.snapshot)
	for _, r := range s.revocations {
		p.enqueue(r.frame)
	}
	n := uint64(len(s.ring))
	switch {
	case h.Epoch == "":
		for q := s.seq - min(s.seq, n) + 1; q <= s.seq; q++ {
			p.enqueue(backlogFrame(s.ring[q%n]))
		}
	case h.Epoch != s.epoch || h.LastSeq == 0:
	case h.LastSeq > s.seq || s.seq-h.LastSeq >= n:
		s.log.Warn("worker missed events that can no longer be resumed", "worker", h.Index, "last", h.LastSeq, "now", s.seq)
	default:
		for q := h.LastSeq + 1; q <= s.seq; q++ {
			p.enqueue(s.ring[q%n])
		}
	}
	s.peers[p] = struct{}{}
	return true
}

func (s *LinkServer) pinger() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.PingInterval)
	defer t.Stop()
	ping := AppendPing(nil)
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			s.mu.Lock()
			s.broadcastLocked(ping)
			s.mu.Unlock()
		}
	}
}

// Close drops every link and waits for the link goroutines (close the listener first).
func (s *LinkServer) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.quit)
		for p := range s.peers {
			delete(s.peers, p)
			p.close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// peer is one connected worker: a bounded queue of shared frames and its writer.
type peer struct {
	conn  net.Conn
	index int
	q     chan []byte
	bytes atomic.Int64
	max   int64
	done  chan struct{}
	once  sync.Once
}

// enqueue never blocks; false means the queue is full.
func (p *peer) enqueue(f []byte) bool {
	if p.bytes.Add(int64(len(f))) > p.max {
		return false
	}
	select {
	case p.q <- f:
		return true
	default:
		return false
	}
}

func (p *peer) close() {
	p.once.Do(func() {
		close(p.done)
		_ = p.conn.Close()
	})
}

// writeLoop writes queued frames, flushing when the queue is momentarily empty.
func (p *peer) writeLoop(timeout time.Duration) error {
	bw := bufio.NewWriterSize(p.conn, 64<<10)
	for {
		var f []byte
		select {
		case <-p.done:
			return nil
		case f = <-p.q:
		}
		_ = p.conn.SetWriteDeadline(time.Now().Add(timeout))
		for {
			p.bytes.Add(-int64(len(f)))
			if _, err := bw.Write(f); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			select {
			case f = <-p.q:
				continue
			default:
			}
			break
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
}

// readFrame reads one frame, reusing buf; the frame's payload aliases the returned buffer.
func readFrame(br *bufio.Reader, buf []byte) (Frame, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return Frame{}, buf, err
	}
	size := int(binary.BigEndian.Uint32(hdr[:]))
	if size == 0 || size > MaxFrame {
		return Frame{}, buf, fmt.Errorf("%w: %d", ErrFrameTooLarge, size)
	}
	if cap(buf) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := io.ReadFull(br, buf); err != nil {
		return Frame{}, buf, fmt.Errorf("cluster: read frame: %w", err)
	}
	return Frame{Type: buf[0], Payload: buf[1:]}, buf, nil
}
