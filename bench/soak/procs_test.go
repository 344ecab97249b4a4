package soak

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/labelhub/labelhub/testservers"
)

// lockedBuffer collects a process's output while the test reads it; it
// keeps the last 1 MiB.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		rest := l.b.Bytes()[l.b.Len()-512<<10:]
		l.b = *bytes.NewBuffer(append([]byte("…\n"), rest...))
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tail returns the last n lines.
func (l *lockedBuffer) tail(n int) string {
	lines := strings.Split(strings.TrimRight(l.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// proc is a process the soak starts, kills with SIGKILL and starts again
// with the same arguments. peakKB is the largest VmHWM (peak resident
// memory) seen of any of its instances.
type proc struct {
	name string
	bin  string
	args []string
	env  []string
	out  lockedBuffer

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	starts   int
	peakKB   int64
	stopping bool
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(testservers.CleanEnv(), p.env...)
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	p.cmd, p.exited = cmd, exited
	p.starts++
	return nil
}

// kill9 kills the running instance with SIGKILL and waits for it to exit.
func (p *proc) kill9() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	p.sample()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// stop ends the process for good (SIGKILL; the soak checks the database
// afterwards, nothing is left to flush).
func (p *proc) stop() {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	p.kill9()
}

// alive reports whether the current instance runs.
func (p *proc) alive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// sample reads the running instance's VmHWM from /proc into peakKB.
func (p *proc) sample() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	if kb := vmHWM(p.cmd.Process.Pid); kb > p.peakKB {
		p.peakKB = kb
	}
}

func (p *proc) peak() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peakKB
}

// vmHWM is a process's peak resident set in KiB (0 when unknown).
func vmHWM(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// sampleMemory samples every process's peak memory until done is closed.
func sampleMemory(done <-chan struct{}, procs ...*proc) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		for _, p := range procs {
			p.sample()
		}
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

// pid is the running instance's process id.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}
