package clamd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options are the parts of a Server that do not come from clamd.conf.
type Options struct {
	// Version is glassav's version, shown by VERSION.
	Version string
	// Log receives the daemon's log lines; nil discards them.
	Log *log.Logger
	// Metrics, if set, counts scans for the HTTP API's /metrics.
	Metrics *Metrics
	// CacheEntries bounds the INSTREAM/FILDES verdict cache; 0 disables it.
	CacheEntries int
}

// Server serves the clamd protocol on any number of listeners.
type Server struct {
	cfg     *Config
	db      *Database
	opt     Options
	log     *log.Logger
	metrics *Metrics
	cache   *verdictCache

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	threads    chan struct{} // one per running scan (MaxThreads)
	multiscans atomic.Int32
	waiting    atomic.Int32  // scans waiting for a slot (STATS' QUEUE)
	events     chan struct{} // bounds VirusEvent commands running at once

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	jobs      map[*job]struct{}
	closed    bool
	wg        sync.WaitGroup // connection goroutines

	shutdownOnce sync.Once
	shutdown     chan struct{} // closed by SHUTDOWN
}

// job is one running command, for STATS.
type job struct {
	cmd   string
	start time.Time
	name  string
}

// NewServer returns a server for cfg using the rules in db.
func NewServer(cfg *Config, db *Database, opt Options) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg: cfg, db: db, opt: opt,
		log:       opt.Log,
		metrics:   opt.Metrics,
		ctx:       ctx,
		cancel:    cancel,
		threads:   make(chan struct{}, cfg.MaxThreads),
		events:    make(chan struct{}, 4),
		listeners: map[net.Listener]struct{}{},
		conns:     map[net.Conn]struct{}{},
		jobs:      map[*job]struct{}{},
		shutdown:  make(chan struct{}),
	}
	if s.log == nil {
		s.log = log.New(io.Discard, "", 0)
	}
	if opt.CacheEntries > 0 {
		s.cache = newVerdictCache(opt.CacheEntries)
	}
	return s
}

// ShutdownRequested is closed when a client sends SHUTDOWN (or QUIT).
func (s *Server) ShutdownRequested() <-chan struct{} { return s.shutdown }

// Database returns the server's database.
func (s *Server) Database() *Database { return s.db }

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("clamd: server closed")

// Serve accepts connections on l until Close. Temporary accept errors
// (out of descriptors) are retried after a pause.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Printf("accept: %v; retrying in %v", err, delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("clamd: accept: %w", err)
		}
		delay = 0
		if !s.admitted(c) {
			s.log.Printf("connection from %s refused: not in TCPAllow", c.RemoteAddr())
			c.Close()
			continue
		}
		if !s.track(c) {
			c.Close()
			return ErrServerClosed
		}
		go s.serveConn(c)
	}
}

// admitted applies the TCP allow-list; unix-socket clients are always
// admitted (the socket's file mode guards them).
func (s *Server) admitted(c net.Conn) bool {
	if len(s.cfg.TCPAllow) == 0 {
		return true
	}
	a, ok := c.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return true
	}
	ip, ok := netip.AddrFromSlice(a.IP)
	if !ok {
		return false
	}
	ip = ip.Unmap()
	for _, p := range s.cfg.TCPAllow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// isTemporary reports accept errors worth retrying: too many open files
// and the like.
func isTemporary(err error) bool {
	s := err.Error()
	return strings.Contains(s, "too many open files") || strings.Contains(s, "resource temporarily unavailable")
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	if s.metrics != nil {
		s.metrics.connections.Inc()
	}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	if s.metrics != nil {
		s.metrics.connections.Dec()
	}
	s.wg.Done()
}

// Close stops the listeners, ends every connection and waits for their
// goroutines, up to ctx's deadline.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	s.cancel()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// requestShutdown handles SHUTDOWN: the owner of the server sees
// ShutdownRequested close and calls Close.
func (s *Server) requestShutdown() {
	s.shutdownOnce.Do(func() { close(s.shutdown) })
}

// Version returns the VERSION reply: "glassav <version>", then the daily
// database version and build time in clamd's form when there is one.
func (s *Server) Version() string {
	v := "glassav " + s.opt.Version
	if g := s.db.Current(); g.Info.Version > 0 {
		v += fmt.Sprintf("/%d/%s", g.Info.Version, g.Info.Built.Local().Format("Mon Jan _2 15:04:05 2006"))
	}
	return v
}

// acquire takes a scan slot, waiting for one; it fails when the server is
// closing.
func (s *Server) acquire(ctx context.Context) error {
	select {
	case s.threads <- struct{}{}:
		return nil
	default:
	}
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	select {
	case s.threads <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) release() { <-s.threads }

func (s *Server) startJob(cmd, name string) *job {
	j := &job{cmd: cmd, start: time.Now(), name: name}
	s.mu.Lock()
	s.jobs[j] = struct{}{}
	s.mu.Unlock()
	return j
}

func (s *Server) endJob(j *job) {
	s.mu.Lock()
	delete(s.jobs, j)
	s.mu.Unlock()
}

// virusEvent runs the VirusEvent command for a detection, as clamd does:
// %v in the command is replaced by the virus name (%f by the file name),
// and both are also in the environment. At most a few run at once; further
// events are logged and dropped rather than queued without bound.
func (s *Server) virusEvent(file, virus string) {
	if s.cfg.VirusEvent == "" {
		return
	}
	select {
	case s.events <- struct{}{}:
	default:
		s.log.Printf("VirusEvent: too many running, not run for %s", file)
		return
	}
	cmdline := strings.NewReplacer("%v", virus, "%f", file).Replace(s.cfg.VirusEvent)
	go func() {
		defer func() { <-s.events }()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", cmdline)
		cmd.Env = append(os.Environ(), "CLAM_VIRUSEVENT_FILENAME="+file, "CLAM_VIRUSEVENT_VIRUSNAME="+virus)
		if out, err := cmd.CombinedOutput(); err != nil {
			s.log.Printf("VirusEvent: %v: %s", err, strings.TrimSpace(string(out)))
		}
	}()
}
