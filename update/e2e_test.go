package update

// End-to-end tests: the glassav binary is built once and every party (the
// publisher, two witnesses, the mirror, installations, the daemon) runs as
// its own process with its own state directory, talking real HTTP and the
// clamd protocol on loopback.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/glassav/glassav/bundle"
	"github.com/glassav/glassav/engine"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// glassav returns the binary, built once per test run.
func glassav(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: builds the binary and starts processes (-short)")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "glassav-e2e-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "glassav")
		if runtime.GOOS == "windows" {
			binPath += ".exe"
		}
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/glassav").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// result is a finished command.
type result struct {
	code           int
	signaled       bool
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runBin runs glassav with args and env additions and returns its result.
func runBin(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runCmd(t, exec.Command(glassav(t), args...), env)
}

func runCmd(t *testing.T, cmd *exec.Cmd, env []string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), env...)
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.signaled = ws.Signal() == syscall.SIGKILL
		}
	default:
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return r
}

// must runs glassav and fails the test unless it exits 0.
func must(t *testing.T, args ...string) result {
	t.Helper()
	r := runBin(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("glassav %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// refused runs glassav and expects exit status 1 with want in its errors.
func refused(t *testing.T, want string, args ...string) result {
	t.Helper()
	r := runBin(t, nil, args...)
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("glassav %s: want exit 1 and %q in the errors, got %s", strings.Join(args, " "), want, r)
	}
	t.Logf("refused as expected: %s", strings.TrimSpace(r.stderr))
	return r
}

// proc is a long-running party.
type proc struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{}
}

type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// start starts glassav with args in the background until the test ends.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(glassav(t), args...), out: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	p.cmd.Stdout = lockedBuffer{p.mu, p.out}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitDial waits until addr accepts connections on network.
func (p *proc) waitDial(t *testing.T, network, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("%v exited: %s", p.cmd.Args, p.output())
		default:
		}
		if c, err := net.Dial(network, addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%v: %s not ready: %s", p.cmd.Args, addr, p.output())
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func readTrim(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// writeSource writes version v's database files into a fresh directory.
func writeSource(t *testing.T, v int64) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files(v) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// network is the publisher, two witnesses and a mirror, all running.
type network struct {
	t         *testing.T
	dir       string
	pubKey    string // signer key file
	pubVKey   string
	wVKeys    []string
	witnesses []string // URLs
	pubState  string
	public    string
	mirror    string // URL
}

const e2eOrigin = "glassav.e2e/avdb"

func newNetwork(t *testing.T) *network {
	t.Helper()
	n := &network{t: t, dir: t.TempDir()}
	keys := filepath.Join(n.dir, "keys")
	for _, name := range []string{"publisher", "witness1", "witness2"} {
		must(t, "keygen", name, "-o", keys)
	}
	n.pubKey = filepath.Join(keys, "publisher.key")
	n.pubVKey = readTrim(t, filepath.Join(keys, "publisher.pub"))
	for _, w := range []string{"witness1", "witness2"} {
		addr := freeAddr(t)
		p := start(t, "witness", "--state", filepath.Join(n.dir, w+"-state"), "--key", filepath.Join(keys, w+".key"),
			"--listen", addr, "--log", e2eOrigin+"="+filepath.Join(keys, "publisher.pub"))
		p.waitDial(t, "tcp", addr)
		n.witnesses = append(n.witnesses, "http://"+addr)
		n.wVKeys = append(n.wVKeys, readTrim(t, filepath.Join(keys, w+".pub")))
	}
	n.pubState = filepath.Join(n.dir, "publisher-state")
	n.public = filepath.Join(n.dir, "public")
	os.MkdirAll(n.public, 0o755)
	n.mirror = n.serve(n.public)
	return n
}

// serve starts a mirror process serving dir and returns its URL.
func (n *network) serve(dir string) string {
	addr := freeAddr(n.t)
	p := start(n.t, "mirror", "serve", "--listen", addr, dir)
	p.waitDial(n.t, "tcp", addr)
	return "http://" + addr
}

// publish publishes version v of the test databases, cosigned by both
// witnesses, with a delta from the previous release.
func (n *network) publish(v int64, extra ...string) result {
	n.t.Helper()
	args := []string{"publish", "--state", n.pubState, "--key", n.pubKey, "--source", writeSource(n.t, v), "--delta"}
	if v == 1 {
		args = append(args, "--init", "--origin", e2eOrigin)
	}
	for i, w := range n.witnesses {
		// Pinned, so publish verifies the witness's line before using it.
		args = append(args, "--witness", w+"="+n.wVKeys[i])
	}
	args = append(append(args, extra...), n.public)
	return must(n.t, args...)
}

// install writes an installation's configuration file and returns it.
func (n *network) install(name string, threshold int, mirror string) (conf, state string) {
	n.t.Helper()
	state = filepath.Join(n.dir, name)
	var b strings.Builder
	fmt.Fprintf(&b, "# installation %s\nmirror %s\norigin %s\npublisher %s\nthreshold %d\nmax-age 1h\nstate %s\n", name, mirror, e2eOrigin, n.pubVKey, threshold, state)
	for _, w := range n.wVKeys {
		fmt.Fprintf(&b, "witness %s\n", w)
	}
	conf = filepath.Join(n.dir, name+".conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		n.t.Fatal(err)
	}
	return conf, state
}

// checkInstalled verifies, as a fresh reader would, that state/current is
// version v complete: every file of its MANIFEST present with its hash,
// nothing else, and the databases load.
func checkInstalled(t *testing.T, state string, v int64) {
	t.Helper()
	cur, _, err := Installed(state)
	if err != nil || cur != v {
		t.Fatalf("%s: current version %d (%v), want %d", state, cur, err, v)
	}
	checkComplete(t, filepath.Join(state, "current"), v)
}

func checkComplete(t *testing.T, dir string, v int64) {
	t.Helper()
	mb, err := os.ReadFile(filepath.Join(dir, bundle.ManifestName))
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	m, err := bundle.ParseManifest(mb, bundle.DefaultLimits())
	if err != nil || m.Version != v {
		t.Fatalf("%s: manifest version %v (%v), want %d", dir, m, err, v)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(m.Files)+1 {
		t.Fatalf("%s: %d entries for %d files", dir, len(ents), len(m.Files))
	}
	for _, f := range m.Files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil || sha256.Sum256(b) != f.SHA256 {
			t.Fatalf("%s/%s: missing or wrong content (%v)", dir, f.Name, err)
		}
	}
	if _, err := engine.Load(context.Background(), engine.LoadOptions{Paths: []string{dir}}); err != nil {
		t.Fatalf("%s: does not load: %v", dir, err)
	}
}

// clamd sends one clamd command over the unix socket and returns the reply.
func clamd(t *testing.T, sock, command string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "n%s\n", command)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("clamd %s: %v", command, err)
	}
	return strings.TrimSpace(line)
}

// sample writes a file that version v's body signature detects.
func sample(t *testing.T, dir string, v int64) string {
	t.Helper()
	name := filepath.Join(dir, fmt.Sprintf("sample-%d.bin", v))
	os.WriteFile(name, fmt.Appendf(nil, "padding glassav-test-version-%d padding\n", v), 0o644)
	return name
}

// TestEndToEnd: publish v1, v2, v3 cosigned by two witness processes; one
// installation updates step by step while a daemon serves from it and
// picks up each version; another goes from v1 straight to v3.
func TestEndToEnd(t *testing.T) {
	n := newNetwork(t)
	n.publish(1)
	confA, stateA := n.install("installA", 2, n.mirror)
	confB, stateB := n.install("installB", 2, n.mirror)
	r := must(t, "update", "--config", confA)
	if !strings.Contains(r.stdout, "installed version 1") {
		t.Fatalf("update A: %s", r)
	}
	must(t, "update", "--config", confB)
	checkInstalled(t, stateA, 1)
	checkInstalled(t, stateB, 1)

	// The daemon reads installation A's current databases.
	ddir, err := os.MkdirTemp("", "gav")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(ddir) })
	sock := filepath.Join(ddir, "s")
	conf := filepath.Join(ddir, "clamd.conf")
	os.WriteFile(conf, fmt.Appendf(nil, "LocalSocket %s\nDatabaseDirectory %s\nSelfCheck 1\nForeground yes\n", sock, filepath.Join(stateA, "current")), 0o644)
	httpAddr := freeAddr(t)
	d := start(t, "daemon", "-c", conf, "--http", httpAddr)
	d.waitDial(t, "unix", sock)
	d.waitDial(t, "tcp", httpAddr)
	// The daemon serving an updater's "current" link reports how fresh
	// the verified release is.
	if age := metric(t, "http://"+httpAddr+"/metrics", "glassav_database_age_seconds"); age < 0 || age > 600 {
		t.Errorf("glassav_database_age_seconds = %v, want the seconds since v1 was published", age)
	}
	if got := clamd(t, sock, "PING"); got != "PONG" {
		t.Fatalf("PING: %q", got)
	}
	samples := t.TempDir()
	for v := int64(1); v <= 3; v++ {
		sample(t, samples, v)
	}
	scan := func(v int64) string {
		return clamd(t, sock, "SCAN "+filepath.Join(samples, fmt.Sprintf("sample-%d.bin", v)))
	}
	if got := scan(1); !strings.Contains(got, fmt.Sprintf("Glassav.Test.V%d", 1)) || !strings.HasSuffix(got, "FOUND") {
		t.Fatalf("daemon on v1: SCAN sample-1: %q", got)
	}
	if got := scan(2); !strings.HasSuffix(got, "OK") {
		t.Fatalf("daemon on v1: SCAN sample-2: %q", got)
	}

	for v := int64(2); v <= 3; v++ {
		r := n.publish(v)
		if !strings.Contains(r.stdout, fmt.Sprintf("delta from version %d", v-1)) {
			t.Errorf("publish %d: no delta: %s", v, r)
		}
		r = must(t, "update", "--config", confA)
		if !strings.Contains(r.stdout, fmt.Sprintf("installed version %d (was %d) from the delta bundle", v, v-1)) {
			t.Errorf("update A to %d: %s", v, r)
		}
		checkInstalled(t, stateA, v)
		// The daemon notices the switched link within a few SelfChecks.
		deadline := time.Now().Add(20 * time.Second)
		for {
			got := scan(v)
			if strings.Contains(got, fmt.Sprintf("Glassav.Test.V%d", v)) && strings.HasSuffix(got, "FOUND") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("daemon did not pick up version %d: SCAN says %q\n%s", v, got, d.output())
			}
			time.Sleep(200 * time.Millisecond)
		}
		if got := scan(v - 1); !strings.HasSuffix(got, "OK") {
			t.Errorf("daemon on v%d still detects v%d's signature: %q", v, v-1, got)
		}
	}

	// B goes from v1 straight to v3 (the delta is from v2, so the full bundle).
	r = must(t, "update", "--config", confB)
	if !strings.Contains(r.stdout, "installed version 3 (was 1) from the full bundle") {
		t.Errorf("update B: %s", r)
	}
	checkInstalled(t, stateB, 3)
	must(t, "update", "--config", confB)
	checkInstalled(t, stateB, 3)

	// Rollback by the administrator, and back.
	r = must(t, "update", "--config", confA, "--rollback")
	if !strings.Contains(r.stdout, "from version 3 to version 2") {
		t.Errorf("rollback: %s", r)
	}
	checkInstalled(t, stateA, 2)
	must(t, "update", "--config", confA, "--rollback")
	checkInstalled(t, stateA, 3)

	// Offline: an air-gapped installation with the bundle and proof only.
	confC, stateC := n.install("installC", 2, "http://192.0.2.1:9")
	must(t, "update", "--config", confC, "--offline", filepath.Join(n.public, "bundles", "3.tar"), "--proof", filepath.Join(n.public, "proofs", "3.proof"))
	checkInstalled(t, stateC, 3)
}

// metric fetches a Prometheus text page and returns the value of name.
func metric(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("%s: no %s in\n%s", url, name, b)
	return 0
}
