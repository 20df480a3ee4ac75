package clamd

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// openFDs counts this process's open descriptors (Linux only; -1 elsewhere).
func openFDs() int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(es)
}

// settle waits until the goroutine and descriptor counts fall back to at
// most the baseline (plus slack), and fails the test if they do not.
func settle(t *testing.T, goroutines, fds int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, f := runtime.NumGoroutine(), openFDs()
		if g <= goroutines+2 && f <= fds+2 {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("leak: %d goroutines (baseline %d), %d fds (baseline %d)\n%s", g, goroutines, f, fds, buf[:n])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func dialUnix(t *testing.T, sock string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHostileClients: bad input never takes the server down. Each kind of
// misbehaving client gets a clear answer (or is dropped), everyone else is
// served meanwhile, and no goroutine or descriptor outlives its connection.
func TestHostileClients(t *testing.T) {
	cfg := testConfig()
	cfg.CommandReadTimeout = 1500 * time.Millisecond
	cfg.ReadTimeout = time.Second
	gs := newTestServer(t, cfg, Options{})
	c := gs.unix()
	if err := c.Ping(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	baseG, baseF := runtime.NumGoroutine(), openFDs()

	// 1,000 idle connections; meanwhile others are served at once.
	const idle = 1000
	conns := make([]net.Conn, 0, idle)
	for range idle {
		conns = append(conns, dialUnix(t, gs.sock))
	}
	start := time.Now()
	for range 20 {
		if err := c.Ping(); err != nil {
			t.Fatalf("PING with %d idle clients: %v", idle, err)
		}
		r, err := c.Instream(strings.NewReader("xx "+sigOne), 0)
		if err != nil || r != "stream: "+nameOne+" FOUND" {
			t.Fatalf("INSTREAM with %d idle clients: %q, %v", idle, r, err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("40 requests beside %d idle clients took %v", idle, d)
	}
	// The idle ones are told and dropped after CommandReadTimeout.
	var wg sync.WaitGroup
	var mu sync.Mutex
	timedOut := 0
	for _, ic := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer ic.Close()
			ic.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, _ := io.ReadAll(ic)
			if string(b) == replyTimedOut {
				mu.Lock()
				timedOut++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if timedOut != idle {
		t.Errorf("%d of %d idle clients got %q", timedOut, idle, replyTimedOut)
	}

	cases := []struct {
		name string
		send func(net.Conn)
		want string // reply prefix; "" means no reply expected
	}{
		{"oversize chunk header", func(c net.Conn) {
			c.Write([]byte("zINSTREAM\x00\xff\xff\xff\xff"))
		}, replyQuota + "\x00"},
		{"truncated chunk then half-close", func(c net.Conn) {
			c.Write([]byte("zINSTREAM\x00\x00\x00\x10\x00abc"))
			c.(*net.UnixConn).CloseWrite()
		}, "INSTREAM: truncated stream. ERROR\x00"},
		{"truncated header", func(c net.Conn) {
			c.Write([]byte("zINSTREAM\x00\x00\x00"))
			c.(*net.UnixConn).CloseWrite()
		}, "INSTREAM: truncated stream. ERROR\x00"},
		{"stalled mid-stream", func(c net.Conn) {
			c.Write([]byte("zINSTREAM\x00\x00\x00\x00\x05ab"))
		}, "INSTREAM: read timed out. ERROR\x00"},
		{"stalled session", func(c net.Conn) {
			c.Write([]byte("zIDSESSION\x00zPING\x00"))
		}, "1: PONG\x00"},
		{"FILDES without a descriptor", func(c net.Conn) {
			c.Write([]byte("zFILDES\x00"))
		}, replyNoFD + "\x00"},
		{"unknown command", func(c net.Conn) { c.Write([]byte("zHELLO\x00")) }, "UNKNOWN COMMAND\x00"},
		{"binary garbage", func(c net.Conn) { c.Write([]byte{0xff, 0, 1, 2, '\n'}) }, "UNKNOWN COMMAND\n"},
		{"command too long", func(c net.Conn) { c.Write(bytes.Repeat([]byte("z"), 3*MaxCommand)) }, ""},
		{"partial command", func(c net.Conn) { c.Write([]byte("zPIN")) }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn := dialUnix(t, gs.sock)
			defer conn.Close()
			tc.send(conn)
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, err := io.ReadAll(conn)
			if err != nil && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("read: %v (got %q)", err, b)
			}
			if tc.want == "" && len(b) > 0 && string(b) != replyTimedOut {
				t.Errorf("got %q, want no reply", b)
			}
			if tc.want != "" && !strings.HasPrefix(string(b), tc.want) {
				t.Errorf("got %q, want %q", b, tc.want)
			}
		})
	}

	// Clients vanishing mid-stream, many at once, while others scan.
	var vanish sync.WaitGroup
	for i := range 50 {
		vanish.Add(1)
		go func() {
			defer vanish.Done()
			conn, err := net.Dial("unix", gs.sock)
			if err != nil {
				return
			}
			var hdr [4]byte
			binary.BigEndian.PutUint32(hdr[:], 1<<19)
			conn.Write([]byte("zINSTREAM\x00"))
			conn.Write(hdr[:])
			conn.Write(bytes.Repeat([]byte{byte(i)}, 1000*i))
			conn.Close()
		}()
	}
	for range 10 {
		if r, err := c.Instream(strings.NewReader("clean"), 0); err != nil || r != "stream: OK" {
			t.Fatalf("INSTREAM beside vanishing clients: %q, %v", r, err)
		}
	}
	vanish.Wait()
	settle(t, baseG, baseF)
}

// TestSpool: a stream past the in-memory threshold is spooled to a
// temporary file and still scanned whole.
func TestSpool(t *testing.T) {
	cfg := testConfig()
	cfg.StreamMaxLength = 8 << 20
	cfg.TemporaryDirectory = t.TempDir()
	gs := newTestServer(t, cfg, Options{})
	data := append(bytes.Repeat([]byte("x"), 3<<20), []byte(sigTwo)...)
	r, err := gs.unix().Instream(bytes.NewReader(data), 100000)
	if err != nil || r != "stream: "+nameTwo+" FOUND" {
		t.Fatalf("spooled INSTREAM: %q, %v", r, err)
	}
	if es, _ := os.ReadDir(cfg.TemporaryDirectory); len(es) != 0 {
		t.Errorf("temporary files left: %v", es)
	}
}
