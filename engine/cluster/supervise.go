package cluster

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// supervisor keeps N worker processes running: a worker that exits while the parent runs is
// restarted after a backoff (100ms doubling to 5s, reset after 10s of healthy running). Each
// worker's pid is written to <run>/worker-<i>.pid.
type supervisor struct {
	log     *slog.Logger
	n       int
	command func(i int) (string, []string)
	run     string

	mu       sync.Mutex
	procs    map[int]*os.Process
	stopping bool
	quit     chan struct{}
	wg       sync.WaitGroup
	failed   atomic.Int64 // workers that did not exit cleanly while stopping
	restarts atomic.Int64
}

func newSupervisor(log *slog.Logger, n int, command func(int) (string, []string), run string) *supervisor {
	return &supervisor{log: log, n: n, command: command, run: run, procs: map[int]*os.Process{}, quit: make(chan struct{})}
}

func (s *supervisor) start() {
	for i := 0; i < s.n; i++ {
		s.wg.Add(1)
		go s.keep(i)
	}
}

// PIDFile is worker index's pid file in runDir.
func PIDFile(runDir string, index int) string {
	return filepath.Join(runDir, "worker-"+strconv.Itoa(index)+".pid")
}

func (s *supervisor) keep(i int) {
	defer s.wg.Done()
	backoff := 100 * time.Millisecond
	for {
		exe, args := s.command(i)
		cmd := exec.Command(exe, args...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.SysProcAttr = workerProcAttr()
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			return
		}
		err := cmd.Start()
		if err == nil {
			s.procs[i] = cmd.Process
		}
		s.mu.Unlock()
		started := time.Now()
		if err == nil {
			_ = os.WriteFile(PIDFile(s.run, i), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600)
			s.log.Info("worker started", "worker", i, "pid", cmd.Process.Pid)
			err = cmd.Wait()
		}
		s.mu.Lock()
		delete(s.procs, i)
		stopping := s.stopping
		s.mu.Unlock()
		if stopping {
			if err != nil {
				s.failed.Add(1)
				s.log.Error("worker did not exit cleanly", "worker", i, "err", err)
			} else {
				s.log.Info("worker stopped", "worker", i)
			}
			_ = os.Remove(PIDFile(s.run, i))
			return
		}
		if time.Since(started) > 10*time.Second {
			backoff = 100 * time.Millisecond
		}
		s.log.Error("worker exited; restarting", "worker", i, "err", err, "in", backoff.String())
		s.restarts.Add(1)
		select {
		case <-s.quit:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// stop sends SIGTERM to every worker and waits up to grace for them (then SIGKILL). It returns
// an error when a worker did not exit with status 0.
func (s *supervisor) stop(grace time.Duration) error {
	s.mu.Lock()
	if !s.stopping {
		s.stopping = true
		close(s.quit)
	}
	for _, p := range s.procs {
		_ = p.Signal(syscall.SIGTERM)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		s.mu.Lock()
		for i, p := range s.procs {
			s.log.Error("worker did not stop in time; killing it", "worker", i)
			_ = p.Kill()
		}
		s.mu.Unlock()
		<-done
	}
	if n := s.failed.Load(); n > 0 {
		return fmt.Errorf("cluster: %d worker(s) did not exit cleanly", n)
	}
	return nil
}

// signal sends sig to every running worker.
func (s *supervisor) signal(sig os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.procs {
		_ = p.Signal(sig)
	}
}
