package clamd

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests share one fixture per test binary: a small database of our own
// signatures, a tree of files to scan, a real clamd (started once, as a
// child process) and a glassav binary (built once).

const (
	sigOne  = "GLASSAV-DAEMON-TEST-ONE"
	sigTwo  = "GLASSAV-DAEMON-TEST-TWO"
	nameOne = "Glassav.Test.One.UNOFFICIAL"
	nameTwo = "Glassav.Test.Two.UNOFFICIAL"
	// streamMax is StreamMaxLength for both daemons in the tests.
	streamMax = 1 << 20
)

type fixture struct {
	dir  string // root of everything
	db   string // database directory
	tree string // files to scan
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func getFixture(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = makeFixture() })
	if fixErr != nil {
		t.Fatalf("fixture: %v", fixErr)
	}
	return fix
}

func hexOf(s string) string { return fmt.Sprintf("%x", s) }

func makeFixture() (*fixture, error) {
	dir, err := os.MkdirTemp("", "gd")
	if err != nil {
		return nil, err
	}
	f := &fixture{dir: dir, db: filepath.Join(dir, "db"), tree: filepath.Join(dir, "tree")}
	files := map[string]string{
		"db/test.ndb": "Glassav.Test.One:0:*:" + hexOf(sigOne) + "\n" +
			"Glassav.Test.Two:0:*:" + hexOf(sigTwo) + "\n",
		"tree/a.txt":           sigOne + "\n",
		"tree/both.txt":        sigOne + " " + sigTwo + "\n",
		"tree/c.txt":           "clean\n",
		"tree/empty":           "",
		"tree/sub/b.txt":       "xx " + sigTwo + " yy\n",
		"tree/sub/d.txt":       "also clean\n",
		"clean/x.txt":          "nothing here\n",
		"clean/deeper/y.txt":   "nor here\n",
		"tree2/only/one.txt":   sigTwo,
		"one/a.txt":            "x " + sigTwo + " " + sigOne,
		"one/b.txt":            "clean",
		"one/empty":            "",
		"one/sub/c.txt":        "clean too",
		"deep/x0.txt":          sigOne,
		"deep/l1/x1.txt":       sigOne,
		"deep/l1/l2/x2.txt":    sigOne,
		"deep/l1/l2/l3/x3.txt": sigOne,
		"tree2/only/zero.txt":  "0",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	links := filepath.Join(dir, "links")
	os.MkdirAll(links, 0o755)
	os.WriteFile(filepath.Join(links, "plain.txt"), []byte("plain"), 0o644)
	if err := os.Symlink(filepath.Join(f.tree, "a.txt"), filepath.Join(links, "file-link")); err != nil {
		return nil, err
	}
	if err := os.Symlink(filepath.Join(f.tree, "sub"), filepath.Join(links, "dir-link")); err != nil {
		return nil, err
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(links, "broken-link")); err != nil {
		return nil, err
	}
	return f, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopClamd()
	if fix != nil {
		os.RemoveAll(fix.dir)
	}
	os.Exit(code)
}

// need skips the test when a peer program is missing, or fails it when CI
// is set (CI installs every peer).
func need(t testing.TB, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (CI must have it): %v", prog, err)
		}
		t.Skipf("%s not installed: skipping", prog)
	}
	return p
}

// realClamd is the shared clamd child process.
type realClamd struct {
	cmd   *exec.Cmd
	sock  string
	tcp   string
	conf  string
	done  chan struct{}
	ready error
}

var (
	clamdOnce sync.Once
	clamdProc *realClamd
)

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startClamd starts (once) a real clamd on the fixture database with its own
// socket and no freshclam, in the foreground.
func startClamd(t testing.TB) *realClamd {
	t.Helper()
	bin := clamdBinary(t)
	f := getFixture(t)
	clamdOnce.Do(func() { clamdProc = launchClamd(t, bin, f, "shared", "") })
	if clamdProc.ready != nil {
		t.Fatalf("starting clamd: %v", clamdProc.ready)
	}
	return clamdProc
}

// startClamdWith starts a clamd of the test's own with extra configuration
// lines; it is stopped when the test ends.
func startClamdWith(t *testing.T, name, extra string) *realClamd {
	t.Helper()
	c := launchClamd(t, clamdBinary(t), getFixture(t), name, extra)
	t.Cleanup(func() {
		if c.cmd != nil && c.cmd.Process != nil {
			c.cmd.Process.Kill()
			<-c.done
		}
	})
	if c.ready != nil {
		t.Fatalf("starting clamd: %v", c.ready)
	}
	return c
}

func clamdBinary(t testing.TB) string {
	bin := "/usr/sbin/clamd"
	if _, err := os.Stat(bin); err != nil {
		bin = need(t, "clamd")
	}
	return bin
}

func launchClamd(t testing.TB, bin string, f *fixture, name, extra string) *realClamd {
	d := filepath.Join(f.dir, "clamd-"+name)
	os.MkdirAll(d, 0o755)
	port := freePort(t)
	c := &realClamd{sock: filepath.Join(d, "s"), tcp: fmt.Sprintf("127.0.0.1:%d", port), conf: filepath.Join(d, "clamd.conf"), done: make(chan struct{})}
	conf := fmt.Sprintf("LocalSocket %s\nTCPSocket %d\nTCPAddr 127.0.0.1\nDatabaseDirectory %s\nForeground yes\nLogFile %s\n"+
		"StreamMaxLength %d\nReadTimeout 2\nCommandReadTimeout 1\nSelfCheck 0\nTemporaryDirectory %s\n",
		c.sock, port, f.db, filepath.Join(d, "log"), streamMax, d) + extra
	if os.Getuid() == 0 {
		conf += "User root\n"
	}
	if err := os.WriteFile(c.conf, []byte(conf), 0o644); err != nil {
		c.ready = err
		return c
	}
	c.cmd = exec.Command(bin, "-c", c.conf)
	if out, err := os.Create(filepath.Join(d, "stderr")); err == nil {
		c.cmd.Stdout, c.cmd.Stderr = out, out // the child holds its own copy
		defer out.Close()
	}
	if err := c.cmd.Start(); err != nil {
		c.ready = err
		return c
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	c.ready = waitPing(&Client{Network: "unix", Address: c.sock, Timeout: time.Second}, 60*time.Second, c.done)
	return c
}

func stopClamd() {
	if clamdProc != nil && clamdProc.cmd != nil && clamdProc.cmd.Process != nil {
		clamdProc.cmd.Process.Kill()
		<-clamdProc.done
	}
}

// waitPing waits until a daemon answers PING, or died is closed.
func waitPing(c *Client, limit time.Duration, died <-chan struct{}) error {
	deadline := time.Now().Add(limit)
	for {
		err := c.Ping()
		if err == nil {
			return nil
		}
		select {
		case <-died:
			return fmt.Errorf("daemon exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG after %v: %v", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testServer is an in-process glassav server on a unix socket and a TCP
// port.
type testServer struct {
	*Server
	sock, tcp string
	dir       string
}

func testConfig() *Config {
	cfg := DefaultConfig()
	cfg.StreamMaxLength = streamMax
	cfg.ReadTimeout = 2 * time.Second
	cfg.CommandReadTimeout = time.Second
	return cfg
}

func newTestServer(t testing.TB, cfg *Config, opt Options) *testServer {
	t.Helper()
	f := getFixture(t)
	if cfg == nil {
		cfg = testConfig()
	}
	db, err := NewDatabase(context.Background(), EngineLoader([]string{f.db}, false))
	if err != nil {
		t.Fatal(err)
	}
	if opt.Version == "" {
		opt.Version = "test"
	}
	dir, err := os.MkdirTemp("", "gs")
	if err != nil {
		t.Fatal(err)
	}
	cfg.LocalSocket = filepath.Join(dir, "s")
	cfg.TCPSocket = freePort(t)
	cfg.TCPAddr = []string{"127.0.0.1"}
	ls, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{Server: NewServer(cfg, db, opt), sock: cfg.LocalSocket, dir: dir,
		tcp: fmt.Sprintf("127.0.0.1:%d", cfg.TCPSocket)}
	for _, l := range ls {
		go s.Serve(l)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("closing server: %v", err)
		}
		os.RemoveAll(dir)
	})
	return s
}

func (s *testServer) unix() *Client {
	return &Client{Network: "unix", Address: s.sock, Timeout: 10 * time.Second}
}
func (s *testServer) tcpc() *Client {
	return &Client{Network: "tcp", Address: s.tcp, Timeout: 10 * time.Second}
}
func (c *realClamd) unix() *Client {
	return &Client{Network: "unix", Address: c.sock, Timeout: 10 * time.Second}
}

var (
	buildOnce sync.Once
	glassBin  string
	buildErr  error
)

// glassavBinary builds cmd/glassav once per test binary.
func glassavBinary(t testing.TB) string {
	t.Helper()
	f := getFixture(t)
	buildOnce.Do(func() {
		glassBin = filepath.Join(f.dir, "glassav")
		if runtime.GOOS == "windows" {
			glassBin += ".exe"
		}
		cmd := exec.Command("go", "build", "-o", glassBin, "../cmd/glassav")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out.String())
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return glassBin
}

// daemonProc is a running glassav daemon binary.
type daemonProc struct {
	cmd  *exec.Cmd
	sock string
	tcp  string
	dir  string
	conf string
	log  *syncBuffer
	done chan struct{}
}

// startDaemon runs the glassav binary with a generated clamd.conf (extra
// lines appended) and waits for PONG.
func startDaemon(t *testing.T, extra string, args ...string) *daemonProc {
	t.Helper()
	bin := glassavBinary(t)
	f := getFixture(t)
	dir, err := os.MkdirTemp("", "gb")
	if err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{sock: filepath.Join(dir, "s"), dir: dir, conf: filepath.Join(dir, "clamd.conf"), log: &syncBuffer{}, done: make(chan struct{})}
	port := freePort(t)
	d.tcp = fmt.Sprintf("127.0.0.1:%d", port)
	conf := fmt.Sprintf("LocalSocket %s\nTCPSocket %d\nTCPAddr 127.0.0.1\nDatabaseDirectory %s\nForeground yes\nStreamMaxLength %d\nReadTimeout 2\n",
		d.sock, port, f.db, streamMax) + extra
	if err := os.WriteFile(d.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(bin, append([]string{"daemon", "-c", d.conf}, args...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
		os.RemoveAll(dir)
	})
	if err := waitPing(d.client(), 30*time.Second, d.done); err != nil {
		t.Fatalf("glassav daemon: %v\nlog:\n%s", err, d.log)
	}
	return d
}

func (d *daemonProc) client() *Client {
	return &Client{Network: "unix", Address: d.sock, Timeout: 10 * time.Second}
}

// clientConf writes a clamd.conf that points clamdscan at a socket.
func clientConf(t *testing.T, sock string) string {
	p := filepath.Join(t.TempDir(), "clamd.conf")
	if err := os.WriteFile(p, []byte("LocalSocket "+sock+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// normalise makes replies of the two daemons comparable: version strings,
// descriptor numbers and the STATS body are masked.
func normalise(b []byte) string {
	s := string(b)
	for _, v := range []string{"ClamAV ", "glassav "} {
		for {
			i := strings.Index(s, v)
			if i < 0 {
				break
			}
			j := i + len(v)
			for j < len(s) && s[j] != 0 && s[j] != '\n' && s[j] != '|' {
				j++
			}
			s = s[:i] + "<VERSION>" + s[j:]
		}
	}
	for {
		i := strings.Index(s, "fd[")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			break
		}
		s = s[:i] + "fd<N>" + s[i+j+1:]
	}
	if i := strings.Index(s, "POOLS: "); i >= 0 {
		if j := strings.Index(s[i:], "\nEND"); j >= 0 {
			s = s[:i] + "<STATS>" + s[i+j+len("\nEND"):]
		}
	}
	return s
}

// runProgram runs a program and returns its combined output.
func runProgram(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// syncBuffer is a bytes.Buffer a child process may write while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
