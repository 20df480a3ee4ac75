//go:build unix

package clamd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run the glassav binary ("glassav daemon -c FILE").

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func fileContains(name, s string) bool {
	b, err := os.ReadFile(name)
	return err == nil && strings.Contains(string(b), s)
}

func TestDaemonSignalsAndShutdown(t *testing.T) {
	logDir := t.TempDir()
	logFile := filepath.Join(logDir, "glassav.log")
	event := filepath.Join(logDir, "event")
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("LogFile %s\nVirusEvent echo %%v >> %s\n", logFile, event),
		"--http", fmt.Sprintf("127.0.0.1:%d", port))
	c := d.client()

	// SIGUSR2 reloads.
	d.cmd.Process.Signal(syscall.SIGUSR2)
	waitFor(t, "reload after SIGUSR2", func() bool { return fileContains(logFile, "Database correctly reloaded") })

	// SIGHUP reopens the log: after a rotation the new file gets the lines.
	os.Rename(logFile, logFile+".1")
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "new log after SIGHUP", func() bool { return fileContains(logFile, "SIGHUP caught") })

	// VirusEvent runs with the detection name.
	if r, err := c.Instream(strings.NewReader(sigOne), 0); err != nil || r != "stream: "+nameOne+" FOUND" {
		t.Fatalf("INSTREAM: %q, %v", r, err)
	}
	waitFor(t, "VirusEvent", func() bool { return fileContains(event, nameOne) })

	// The HTTP API is up beside the socket.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok\n" {
		t.Errorf("healthz: %q", b)
	}

	// SHUTDOWN: no reply, the daemon exits cleanly and removes its socket.
	if r, err := c.Raw([]byte("zSHUTDOWN\x00")); err != nil || len(r) != 0 {
		t.Errorf("SHUTDOWN: %q, %v", r, err)
	}
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		t.Fatal("daemon still running 15 s after SHUTDOWN")
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d after SHUTDOWN\n%s", code, d.log)
	}
	if _, err := os.Stat(d.sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

func TestDaemonShutdownDisabled(t *testing.T) {
	d := startDaemon(t, "EnableShutdownCommand no\n")
	r, err := d.client().Command("SHUTDOWN")
	if err != nil || !slices.Equal(r, []string{"COMMAND UNAVAILABLE"}) {
		t.Errorf("SHUTDOWN when disabled: %q, %v", r, err)
	}
	if err := d.client().Ping(); err != nil {
		t.Errorf("daemon gone after refused SHUTDOWN: %v", err)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		t.Fatal("daemon still running 15 s after SIGTERM")
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d after SIGTERM\n%s", code, d.log)
	}
}

func TestDaemonBadConfig(t *testing.T) {
	bin := glassavBinary(t)
	conf := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(conf, []byte("Example\n"), 0o644)
	out, err := runProgram(bin, "daemon", "-c", conf)
	if err == nil || !strings.Contains(out, "Example") {
		t.Errorf("bad config: %v\n%s", err, out)
	}
}

// TestDaemonSocketActivation hands the daemon a listening socket the way
// systemd does (descriptor 3, LISTEN_PID, LISTEN_FDS), with no socket in
// its configuration.
func TestDaemonSocketActivation(t *testing.T) {
	bin := glassavBinary(t)
	f := getFixture(t)
	dir, err := os.MkdirTemp("", "ga")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	lf, err := l.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	defer lf.Close()
	conf := filepath.Join(dir, "clamd.conf")
	os.WriteFile(conf, []byte("DatabaseDirectory "+f.db+"\nForeground yes\n"), 0o644)
	cmd := osexec.Command("/bin/sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" daemon -c "$1"`, bin, conf)
	cmd.ExtraFiles = []*os.File{lf}
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() { cmd.Process.Kill(); <-done }()
	c := &Client{Network: "unix", Address: sock, Timeout: 5 * time.Second}
	if err := waitPing(c, 30*time.Second, done); err != nil {
		t.Fatalf("socket-activated daemon: %v\n%s", err, &log)
	}
	if r, err := c.Instream(strings.NewReader(sigTwo), 0); err != nil || r != "stream: "+nameTwo+" FOUND" {
		t.Errorf("INSTREAM: %q, %v", r, err)
	}
	if !strings.Contains(log.String(), "from systemd") {
		t.Errorf("log does not mention systemd:\n%s", &log)
	}
}

// TestDaemonUser: with User set, the daemon binds its socket as root and
// then runs as that user.
func TestDaemonUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to switch users")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	d := startDaemon(t, "User nobody\n")
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		t.Skip("no /proc")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Uid:") {
			if f := strings.Fields(l); len(f) < 2 || f[1] != u.Uid {
				t.Errorf("daemon runs as %q, want uid %s", l, u.Uid)
			}
		}
	}
	// Streams need no file access, so they still work.
	if r, err := d.client().Instream(strings.NewReader(sigOne), 0); err != nil || r != "stream: "+nameOne+" FOUND" {
		t.Errorf("INSTREAM as nobody: %q, %v", r, err)
	}
}

// TestDaemonTLS serves the HTTP API over TLS with a certificate made here.
func TestDaemonTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("t0ken\n"), 0o600)
	port := freePort(t)
	startDaemon(t, "", "--http", fmt.Sprintf("127.0.0.1:%d", port), "--tls-cert", certFile, "--tls-key", keyFile,
		"--http-token-file", tokenFile, "--http-allow", "127.0.0.0/8")
	pool := x509.NewCertPool()
	cert, _ := x509.ParseCertificate(der)
	pool.AddCert(cert)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("POST", fmt.Sprintf("https://127.0.0.1:%d/v1/scan", port), strings.NewReader(sigTwo))
	req.Header.Set("Authorization", "Bearer t0ken")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), nameTwo) {
		t.Errorf("TLS scan: %d %s", resp.StatusCode, b)
	}
}

func TestFildesClient(t *testing.T) {
	f := getFixture(t)
	gs := newTestServer(t, nil, Options{})
	fh, err := openFile(filepath.Join(f.tree, "sub/b.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, err := gs.unix().Fildes(fh)
	if err != nil || !strings.HasPrefix(r, "fd[") || !strings.HasSuffix(r, "]: "+nameTwo+" FOUND") {
		t.Errorf("FILDES: %q, %v", r, err)
	}
}
