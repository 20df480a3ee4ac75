package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// server is a glassav server process (witness or mirror) on loopback.
type server struct {
	url    string
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
}

func (s *server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.Write(p)
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

func (s *server) stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

var listenLine = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+`)

// startServer runs glassav with args, which must print its URL first.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	s := &server{cmd: exec.Command(glassavBin, args...)}
	s.cmd.Stderr = s
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	line, err := bufio.NewReader(out).ReadString('\n')
	if s.url = listenLine.FindString(line); s.url == "" {
		t.Fatalf("glassav %s: no URL in %q (%v): %s", args[0], line, err, s.log())
	}
	go func() { bufio.NewReader(out).WriteTo(io.Discard) }()
	return s
}

// glassav runs the binary and returns its exit code and output.
func glassav(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(glassavBin, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

func mustGlassav(t *testing.T, args ...string) string {
	t.Helper()
	code, out := glassav(t, args...)
	if code != 0 {
		t.Fatalf("glassav %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLogAudit publishes three releases cosigned by two witness processes,
// serves them with glassav mirror, audits them, and then checks that a
// fork is refused by a restarted witness and detected by the audit.
func TestLogAudit(t *testing.T) {
	dir := t.TempDir()
	keys, src, pub, fork := filepath.Join(dir, "keys"), filepath.Join(dir, "src"), filepath.Join(dir, "pub"), filepath.Join(dir, "fork")
	for _, k := range []string{"pub.test", "w1.test", "w2.test"} {
		mustGlassav(t, "keygen", "-o", keys, k)
	}
	if code, out := glassav(t, "keygen", "-o", keys, "pub.test"); code == 0 {
		t.Fatalf("keygen overwrote a key: %s", out)
	}
	if fi, err := os.Stat(filepath.Join(keys, "pub.test.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signer key mode: %v %v", fi.Mode(), err)
	}
	pubKey := filepath.Join(keys, "pub.test.pub")
	logArg := "glassav.example/avdb=" + pubKey
	w1 := startServer(t, "witness", "--state", filepath.Join(dir, "w1"), "--key", filepath.Join(keys, "w1.test.key"), "--listen", "127.0.0.1:0", "--log", logArg)
	w2 := startServer(t, "witness", "--state", filepath.Join(dir, "w2"), "--key", filepath.Join(keys, "w2.test.key"), "--listen", "127.0.0.1:0", "--log", logArg)

	os.MkdirAll(src, 0o755)
	writeFile(t, filepath.Join(src, "a.hdb"), "44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n")
	writeFile(t, filepath.Join(src, "b.ndb"), "Test.Sig.A:0:*:48656c6c6f20776f726c64\n")
	writeFile(t, filepath.Join(src, "r.yar"), "rule one { strings: $a = \"abcdef\" condition: $a }\n")
	publish := func(state, out string, extra ...string) (int, string) {
		args := append([]string{"publish", "--state", state, "--key", filepath.Join(keys, "pub.test.key"), "--source", src}, extra...)
		return glassav(t, append(args, out)...)
	}
	state := filepath.Join(dir, "state")
	ws := []string{"--witness", w1.url, "--witness", w2.url}
	if code, out := publish(state, pub, append(ws, "--init")...); code != 0 {
		t.Fatal(out)
	}
	writeFile(t, filepath.Join(src, "b.ndb"), "Test.Sig.A:0:*:48656c6c6f20776f726c64\nTest.Sig.C:0:*:6162636465666768696a\n")
	writeFile(t, filepath.Join(src, "r.yar"), "rule one { strings: $a = \"abcdeg\" condition: $a }\n")
	if code, out := publish(state, pub, append(ws, "--delta")...); code != 0 {
		t.Fatal(out)
	}
	os.Remove(filepath.Join(src, "a.hdb"))
	if code, out := publish(state, pub, ws...); code != 0 {
		t.Fatal(out)
	}

	mirror := startServer(t, "mirror", "serve", "--listen", "127.0.0.1:0", pub)
	audit := []string{"log", "audit", "--publisher", pubKey, "--witness", filepath.Join(keys, "w1.test.pub"), "--witness", filepath.Join(keys, "w2.test.pub"), "-k", "2"}
	auditPub := []string{"log", "audit", "--publisher", pubKey} // only w1 cosigns from here on
	astate := filepath.Join(dir, "audit")
	out := mustGlassav(t, append(audit, "--state", astate, "--compile", mirror.url)...)
	for _, want := range []string{
		"checkpoint of size 3 signed by pub.test",
		"cosigned by w1.test, w2.test",
		"leaf 0: release 1: 3 files",
		"      + Eicar-Test-Signature",
		"delta from 1: 2 files, verified",
		"~ b.ndb: 2 rules (+1 -0 ~0)",
		"      + Test.Sig.C",
		"~ r.yar: 1 rules (+0 -0 ~1)",
		"      ~ one",
		"- a.hdb (1 rules)",
		"proofs/3.proof verified (tree 3, 2 cosignatures)",
		"compiled: 3 signatures, as logged",
		"audited 3 leaves: 3 releases, 0 key changes; 0 problem(s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("audit output lacks %q:\n%s", want, out)
		}
	}
	if t.Failed() {
		return
	}
	// Policy failures, each with its reason.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"log", "audit", "--publisher", filepath.Join(keys, "w1.test.pub"), mirror.url}, "no trusted publisher signature"},
		{[]string{"log", "audit", "--publisher", pubKey, "--witness", filepath.Join(keys, "w1.test.pub"), "-k", "1", "--max-age", "1ns", mirror.url}, "stale checkpoint"},
		{[]string{"log", "audit", "--publisher", pubKey, "--witness", filepath.Join(keys, "w1.test.pub"), "--witness", pubKey, "-k", "2", mirror.url}, "too few witness cosignatures"},
	} {
		code, out := glassav(t, tt.args...)
		if code != 1 || !strings.Contains(out, tt.want) {
			t.Errorf("glassav %s: exit %d, want 1 and %q:\n%s", strings.Join(tt.args, " "), code, tt.want, out)
		}
	}

	// A fork: the publisher's state copied, a different release 4 signed.
	// A restarted witness still refuses to cosign it.
	copyTree(t, state, filepath.Join(dir, "fstate"))
	copyTree(t, pub, fork)
	writeFile(t, filepath.Join(src, "b.ndb"), "Evil.Sig:0:*:414243444546474849\n")
	w1.stop()
	w1 = startServer(t, "witness", "--state", filepath.Join(dir, "w1"), "--key", filepath.Join(keys, "w1.test.key"), "--listen", "127.0.0.1:0", "--log", logArg)
	if code, out := publish(filepath.Join(dir, "fstate"), fork); code != 0 {
		t.Fatal(out)
	}
	writeFile(t, filepath.Join(src, "b.ndb"), "Good.Sig:0:*:5a5a5a5a5a5a5a5a5a5a\n")
	if code, out := publish(state, pub, "--witness", w1.url); code != 0 {
		t.Fatal(out)
	}
	mustGlassav(t, append(auditPub, "--state", astate, mirror.url)...)
	if code, out := publish(filepath.Join(dir, "fstate"), fork, "--witness", w1.url); code == 0 || !strings.Contains(out, "fork") {
		t.Errorf("witness cosigned a fork: exit %d\n%s", code, out)
	}
	if !strings.Contains(w1.log(), "refusing to cosign a fork") {
		t.Errorf("witness did not log the fork:\n%s", w1.log())
	}
	code, out := glassav(t, append(auditPub, "--state", astate, fork)...)
	if code != 1 || !strings.Contains(out, "fork detected") || !strings.Contains(out, "evidence") {
		t.Errorf("audit of a fork: exit %d\n%s", code, out)
	}
	if ev, _ := filepath.Glob(filepath.Join(astate, "evidence", "*.checkpoint")); len(ev) != 2 {
		t.Errorf("evidence files: %v", ev)
	}

	// A proof file for another leaf is reported.
	p1, err := os.ReadFile(filepath.Join(pub, "proofs", "1.proof"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(pub, "proofs", "2.proof"), string(p1))
	code, out = glassav(t, "log", "audit", "--publisher", pubKey, pub)
	if code != 1 || !strings.Contains(out, "proofs/2.proof proves leaf 0") {
		t.Errorf("audit of a wrong proof file: exit %d\n%s", code, out)
	}

	// A tampered bundle is reported.
	b, err := os.ReadFile(filepath.Join(pub, "bundles", "2.tar"))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	writeFile(t, filepath.Join(pub, "bundles", "2.tar"), string(b))
	code, out = glassav(t, "log", "audit", "--publisher", pubKey, pub)
	if code != 1 || !strings.Contains(out, "tampered bundle") {
		t.Errorf("audit of a tampered bundle: exit %d\n%s", code, out)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMirrorHeaders checks the cache headers and that dot files and
// listings are not served.
func TestMirrorHeaders(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "tile", "8", "0"), 0o755)
	writeFile(t, filepath.Join(dir, "checkpoint"), "c\n")
	writeFile(t, filepath.Join(dir, "tile", "8", "0", "000"), "t")
	writeFile(t, filepath.Join(dir, "tile", "8", "0", ".000.tmp1"), "t")
	m := startServer(t, "mirror", "serve", "--listen", "127.0.0.1:0", dir)
	for _, tt := range []struct {
		path, cache string
		status      int
	}{
		{"/checkpoint", "no-cache", 200},
		{"/tile/8/0/000", "public, max-age=31536000, immutable", 200},
		{"/tile/8/0/.000.tmp1", "", 404},
		{"/tile/8/0/", "", 404},
	} {
		resp, err := httpGet(m.url + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tt.status || resp.Header.Get("Cache-Control") != tt.cache {
			t.Errorf("%s: %d %q, want %d %q", tt.path, resp.StatusCode, resp.Header.Get("Cache-Control"), tt.status, tt.cache)
		}
	}
}

func httpGet(url string) (*http.Response, error) {
	resp, err := http.Get(url)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}
