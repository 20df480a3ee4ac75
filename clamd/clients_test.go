package clamd

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestClamdscan runs Debian's clamdscan against a real clamd and against the
// glassav daemon binary on the same database, in each of its modes, and
// wants the same lines and exit status from both.
func TestClamdscan(t *testing.T) {
	bin := need(t, "clamdscan")
	cd := startClamd(t)
	gd := startDaemon(t, "")
	f := getFixture(t)
	targets := []string{f.tree, filepath.Join(f.tree, "a.txt"), filepath.Join(f.dir, "clean"), filepath.Join(f.tree, "c.txt")}
	modes := [][]string{{"unix"}, {"--stream"}, {"--fdpass"}, {"-m"}, {"-m", "--stream"}, {"-m", "--fdpass"}, {"-z"}}
	run := func(sock string, mode []string) (string, int) {
		conf := clientConf(t, sock)
		if !strings.HasPrefix(sock, "/") { // host:port
			host, port, _ := strings.Cut(sock, ":")
			conf = filepath.Join(t.TempDir(), "clamd.conf")
			os.WriteFile(conf, []byte("TCPSocket "+port+"\nTCPAddr "+host+"\n"), 0o644)
		}
		args := append([]string{"-c", conf, "--no-summary"}, mode...)
		cmd := exec.Command(bin, append(args, targets...)...)
		var out bytes.Buffer
		cmd.Stdout = &out
		cmd.Stderr = &out
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		slices.Sort(lines) // MULTISCAN replies in any order
		return strings.Join(lines, "\n"), code
	}
	for _, mode := range append(modes, []string{"tcp"}, []string{"tcp", "--stream"}, []string{"tcp", "-m"}) {
		t.Run(strings.Join(append([]string{"clamdscan"}, mode...), " "), func(t *testing.T) {
			csock, gsock := cd.sock, gd.sock
			switch mode[0] {
			case "tcp":
				csock, gsock, mode = cd.tcp, gd.tcp, mode[1:]
			case "unix":
				mode = mode[1:]
			}
			want, wcode := run(csock, mode)
			got, gcode := run(gsock, mode)
			if want != got || wcode != gcode {
				t.Errorf("clamd (exit %d):\n%s\nglassav (exit %d):\n%s", wcode, want, gcode, got)
			}
			if !strings.Contains(got, nameOne+" FOUND") {
				t.Errorf("no detection in glassav's output:\n%s", got)
			}
		})
	}
}

const pyclamdScript = `
import json, sys
import pyclamd
sock, tree, one = sys.argv[1], sys.argv[2], sys.argv[3]
if sock.startswith("/"):
    c = pyclamd.ClamdUnixSocket(filename=sock)
else:
    host, port = sock.rsplit(":", 1)
    c = pyclamd.ClamdNetworkSocket(host=host, port=int(port))
out = {
    "ping": c.ping(),
    "version": c.version(),
    "stream_found": c.scan_stream(b"xx " + one.encode() + b" yy"),
    "stream_clean": c.scan_stream(b"hello world"),
    "stream_big": c.scan_stream(b"z" * (300 * 1024) + one.encode()),
    "multiscan_file": c.multiscan_file(tree),
    "contscan_file": c.contscan_file(tree),
    "scan_file": c.scan_file(tree + "/a.txt"),
}
try:
    c.scan_stream(b"z" * (2 * 1024 * 1024))
    out["stream_too_big"] = "no error"
except Exception as e:
    out["stream_too_big"] = type(e).__name__ + ": " + str(e)
print(json.dumps(out, sort_keys=True))
`

// TestPyclamd drives python3-pyclamd against clamd and glassav: ping,
// version, scan_stream (including past StreamMaxLength), multiscan_file,
// contscan_file and scan_file must give the same results.
func TestPyclamd(t *testing.T) {
	py := "/usr/bin/python3" // Debian's python3-pyclamd is for the system Python
	if _, err := os.Stat(py); err != nil {
		py = need(t, "python3")
	}
	if err := exec.Command(py, "-c", "import pyclamd").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-pyclamd not installed (CI must have it): %v", err)
		}
		t.Skip("python3-pyclamd not installed: skipping")
	}
	cd := startClamd(t)
	gd := startDaemon(t, "")
	f := getFixture(t)
	run := func(sock string) map[string]any {
		out, err := exec.Command(py, "-c", pyclamdScript, sock, f.tree, sigOne).CombinedOutput()
		if err != nil {
			t.Fatalf("pyclamd: %v\n%s", err, out)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("pyclamd output: %v\n%s", err, out)
		}
		return m
	}
	for _, tc := range []struct{ name, clamd, glassav string }{
		{"unix", cd.sock, gd.sock},
		{"tcp", cd.tcp, gd.tcp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			comparePyclamd(t, run(tc.clamd), run(tc.glassav))
		})
	}
}

func comparePyclamd(t *testing.T, want, got map[string]any) {
	t.Helper()
	if !strings.HasPrefix(got["version"].(string), "glassav ") {
		t.Errorf("glassav version = %q", got["version"])
	}
	delete(want, "version")
	delete(got, "version")
	// Past the quota both close while pyclamd is still sending: it sees
	// EPIPE or ECONNRESET depending on timing, never a verdict.
	for _, m := range []map[string]any{want, got} {
		if e, _ := m["stream_too_big"].(string); !strings.Contains(e, "Error") {
			t.Errorf("scan_stream past StreamMaxLength: %q, want an error", e)
		}
		delete(m, "stream_too_big")
	}
	wj, _ := json.MarshalIndent(want, "", " ")
	gj, _ := json.MarshalIndent(got, "", " ")
	if !bytes.Equal(wj, gj) {
		t.Errorf("pyclamd results differ\nclamd:\n%s\nglassav:\n%s", wj, gj)
	}
	if !strings.Contains(string(gj), nameOne) {
		t.Errorf("no detection via pyclamd:\n%s", gj)
	}
}
