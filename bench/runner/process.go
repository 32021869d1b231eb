package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/commitbench/commitbench/bench/wire"
	"github.com/commitbench/commitbench/bench/worker"
)

// WorkerCommand builds the command that runs one worker process; the
// runner adds standard input and the wire pipe. The default runs this
// binary's `worker` subcommand.
type WorkerCommand func(ctx context.Context) *exec.Cmd

// SelfWorker runs `<this executable> worker`.
func SelfWorker() (WorkerCommand, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locating the commitbench binary to start workers: %w", err)
	}
	return func(ctx context.Context) *exec.Cmd { return exec.Command(exe, "worker") }, nil
}

// process is one worker process and the frames it sends.
type process struct {
	cmd    *exec.Cmd
	frames chan wire.Frame
	torn   bool  // the stream ended inside a frame (set before frames closes)
	rerr   error // a read error other than EOF (set before frames closes)
	stderr *tail
	killed bool
	// armed: the worker was given a kill point, so dying of SIGKILL is
	// the crash the phase planned, not a failure.
	armed bool
}

// start launches a worker with cfg. Its frames arrive on s.frames, which
// closes when the process has exited and the pipe is drained.
func start(ctx context.Context, mk WorkerCommand, cfg worker.Config) (*process, error) {
	in, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encoding worker config: %w", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating the wire pipe: %w", err)
	}
	cmd := mk(ctx)
	cmd.Stdin = bytes.NewReader(in)
	cmd.ExtraFiles = []*os.File{pw} // becomes fd 3 (worker.WireFD)
	s := &process{cmd: cmd, frames: make(chan wire.Frame, 4096), stderr: &tail{max: 8 << 10}}
	cmd.Stderr = s.stderr
	// A worker must never outlive the harness, even if the harness is
	// itself killed; and a Ctrl-C at the terminal is the harness's to
	// handle, so the worker gets a process group of its own.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("starting worker %s: %w", cmd.Path, err)
	}
	pw.Close() // the child holds the only write end: EOF means it is gone
	go func() {
		defer close(s.frames)
		defer pr.Close()
		r := wire.NewReader(pr)
		for {
			f, err := r.Next()
			switch {
			case err == nil:
				s.frames <- f
				continue
			case errors.Is(err, wire.ErrTorn):
				s.torn = true
			case !errors.Is(err, io.EOF):
				s.rerr = err
			}
			return
		}
	}()
	return s, nil
}

// kill SIGKILLs the worker: a crash, not a shutdown. It returns the moment
// the signal was sent.
func (s *process) kill() (time.Time, error) {
	s.killed = true
	at := time.Now()
	return at, s.cmd.Process.Signal(syscall.SIGKILL)
}

// wait reaps the worker once its frames are drained. A worker that was not
// killed and exited non-zero is an error carrying its last words.
func (s *process) wait() error {
	err := s.cmd.Wait()
	if s.armed && !s.killed {
		if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			s.killed = true // it reached its kill point
			return nil
		}
	}
	if s.killed {
		return nil
	}
	if err != nil {
		return fmt.Errorf("worker failed (%v): %s", err, s.stderr.String())
	}
	if s.rerr != nil {
		return fmt.Errorf("reading worker output: %w", s.rerr)
	}
	if s.torn {
		return errors.New("worker output ended inside a frame, though the worker was not killed")
	}
	return nil
}

// cpuSeconds is the user and system CPU time the worker used.
func (s *process) cpuSeconds() float64 {
	st := s.cmd.ProcessState
	if st == nil {
		return 0
	}
	return (st.UserTime() + st.SystemTime()).Seconds()
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return "no output"
	}
	return s
}
