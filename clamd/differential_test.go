//go:build unix

package clamd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// packet is one write of an exchange, optionally carrying a descriptor.
type packet struct {
	data []byte
	fd   *os.File
}

// exchange sends the packets on a new connection (pausing between them so
// each arrives as its own packet) and returns everything received until
// the server closes or wait passes.
func exchange(network, addr string, pkts []packet, wait time.Duration) ([]byte, error) {
	conn, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	for i, p := range pkts {
		if i > 0 {
			time.Sleep(30 * time.Millisecond)
		}
		if p.fd != nil {
			uc := conn.(*net.UnixConn)
			_, _, err = uc.WriteMsgUnix(p.data, syscall.UnixRights(int(p.fd.Fd())), nil)
		} else {
			_, err = conn.Write(p.data)
		}
		if err != nil {
			break // the server may close early (quota); read what it said
		}
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	var out bytes.Buffer
	_, err = io.Copy(&out, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		out.WriteString("<TIMEOUT>")
	}
	return out.Bytes(), nil
}

func chunks(sizes ...int) []byte {
	var b bytes.Buffer
	for _, n := range sizes {
		binary.Write(&b, binary.BigEndian, uint32(n))
		b.Write(bytes.Repeat([]byte{'a'}, n))
	}
	return b.Bytes()
}

func chunk(p []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(p)))
	b.Write(p)
	return b.Bytes()
}

var terminator = []byte{0, 0, 0, 0}

type diffCase struct {
	name    string
	pkts    []packet
	unix    bool // unix socket only (descriptors)
	session bool // compare reply lines as a set (IDSESSION order varies)
	wait    time.Duration
}

func p(s string) packet { return packet{data: []byte(s)} }

func differentialCases(t *testing.T, f *fixture) []diffCase {
	a := filepath.Join(f.tree, "a.txt")
	both := filepath.Join(f.tree, "both.txt")
	clean := filepath.Join(f.dir, "clean")
	// SCAN and ALLMATCHSCAN stop at the first infected file of a walk;
	// clamd walks in readdir order and glassav in name order, so their
	// directories hold one infected file.
	one := filepath.Join(f.dir, "one")
	var cs []diffCase
	add := func(name string, pk ...packet) { cs = append(cs, diffCase{name: name, pkts: pk}) }
	cmds := []string{
		"PING", "VERSION", "VERSIONCOMMANDS", "STATS", "END", "FOO", "PINGX", "", "SCAN",
		"SCAN " + a, "SCAN " + one, "SCAN " + one + "/", "CONTSCAN " + f.tree, "MULTISCAN " + f.tree,
		"ALLMATCHSCAN " + one, "ALLMATCHSCAN " + both, "SCAN " + both, "CONTSCAN " + one, "ALLMATCHSCAN " + clean,
		"SCAN " + filepath.Join(f.dir, "missing"), "CONTSCAN " + filepath.Join(f.dir, "missing"),
		"SCAN " + clean, "CONTSCAN " + clean, "MULTISCAN " + clean, "SCAN " + filepath.Join(f.tree, "empty"),
		"CONTSCAN " + a, "MULTISCAN " + a, "SCANX" + a, "SCAN  " + a, "CONTSCAN " + filepath.Join(f.dir, "tree2"),
		"SCAN /dev/null", "DETSTATS", "DETSTATSCLEAR", "STREAM", "SESSION", "RAWSCAN " + a, "SELFCHECK",
		"QUITX", "SHUTDOWNX", "RELOADX", "IDSESSIONX", "INSTREAMX", "scan " + a, "ping",
	}
	for _, c := range cmds {
		if strings.HasPrefix(c, "MULTISCAN ") || strings.HasPrefix(c, "CONTSCAN ") {
			// clamd's pool replies in any order, and its walks follow
			// readdir order where glassav's follow names.
			for _, fr := range []string{"z", "n", "", "bare"} {
				req := fr + c + map[string]string{"z": "\x00", "n": "\n", "": "\n", "bare": ""}[fr]
				req = strings.TrimPrefix(req, "bare")
				cs = append(cs, diffCase{name: fr + " " + c, pkts: []packet{p(req)}, session: true})
			}
			continue
		}
		add("z "+c, p("z"+c+"\x00"))
		add("n "+c, p("n"+c+"\n"))
		add("old "+c, p(c+"\n"))
		add("oldbare "+c, p(c))
	}
	add("two commands", p("zPING\x00zPING\x00"))
	add("old two lines", p("PING\nVERSION\n"))
	add("old ping extra", p("PING\nX"))
	add("old CRLF", p("PING\r\n"))
	add("nul in n", p("nPING\x00junk\n"))
	add("n with CR", p("nPING\r\n"))
	add("n SCAN with CR", p("nSCAN "+a+"\r\n"))
	add("n CONTSCAN with CR", p("nCONTSCAN "+clean+"\r\n"))
	add("n VERSION with CR", p("nVERSION\r\n"))
	add("old SCAN with CR", p("SCAN "+a+"\r\n"))
	add("z SCAN with CR", p("zSCAN "+a+"\r\x00"))
	add("n SCAN with CRCR", p("nSCAN "+a+"\r\r\n"))
	add("long command", p("zSCAN /"+strings.Repeat("a", 5000)+"\x00"))
	add("4000-byte path", p("zSCAN /"+strings.Repeat("b", 4000)+"\x00"))
	add("split z command", p("zPI"), p("NG\x00"))
	cs = append(cs, diffCase{name: "partial command times out", pkts: []packet{p("zPIN")}, wait: 4 * time.Second},
		diffCase{name: "silent client times out", pkts: nil, wait: 4 * time.Second})

	// INSTREAM in both framings.
	for _, fr := range []string{"z", "n"} {
		cmd := fr + "INSTREAM" + map[string]string{"z": "\x00", "n": "\n"}[fr]
		add(fr+" instream empty", p(cmd+string(terminator)))
		add(fr+" instream clean", p(cmd+string(chunk([]byte("hello world")))+string(terminator)))
		add(fr+" instream found", p(cmd+string(chunk([]byte("xx "+sigOne+" yy")))+string(terminator)))
		add(fr+" instream found split", p(cmd+string(chunk([]byte("xx GLASSAV-DAE")))), p(string(chunk([]byte("MON-TEST-ONE yy")))+string(terminator)))
		add(fr+" instream chunks in pieces", p(cmd), packet{data: chunk([]byte(sigTwo))[:3]}, packet{data: append(chunk([]byte(sigTwo))[3:], terminator...)})
		add(fr+" instream exactly quota", packet{data: append(append([]byte(cmd), chunks(streamMax)...), terminator...)})
		add(fr+" instream quota+1 header", p(cmd+string([]byte{0, 0x10, 0, 1})))
		add(fr+" instream 600K+600K", packet{data: append([]byte(cmd), chunks(600<<10, 600<<10)...)})
		add(fr+" instream many small", packet{data: append(append([]byte(cmd), chunks(1, 2, 3, 4, 5, 100, 1000)...), terminator...)})
	}

	// Sessions.
	sess := func(name string, pk ...packet) {
		cs = append(cs, diffCase{name: name, pkts: pk, session: true, wait: 4 * time.Second})
	}
	sess("session basic", p("zIDSESSION\x00"), p("zPING\x00"), p("zSCAN "+a+"\x00"), p("nVERSION\n"), p("zEND\x00"))
	sess("session mixed", p("zIDSESSION\x00"), p("zPING\x00"), p("zVERSION\x00"), p("zSCAN "+a+"\x00"),
		p("zSCAN "+clean+"\x00"), p("zINSTREAM\x00"+string(chunk([]byte(sigTwo)))+string(terminator)), p("zSTATS\x00"), p("zEND\x00"))
	sess("session one packet", p("zIDSESSION\x00zPING\x00zPING\x00zEND\x00"))
	sess("session old style", p("zIDSESSION\x00"), p("zPING\x00"), p("PING\n"))
	sess("session contscan", p("zIDSESSION\x00"), p("zPING\x00"), p("zCONTSCAN /tmp\x00"))
	sess("session unknown", p("zIDSESSION\x00"), p("zPING\x00"), p("zfoo\x00"), p("zPING\x00"))
	sess("session nested", p("zIDSESSION\x00"), p("zIDSESSION\x00"))
	sess("session reload", p("zIDSESSION\x00"), p("zRELOAD\x00"))
	sess("session empty", p("zIDSESSION\x00"), p("zEND\x00"))
	sess("session after end", p("zIDSESSION\x00"), p("zEND\x00"), p("zPING\x00"))
	sess("session n open", p("nIDSESSION\n"), p("zSCAN "+filepath.Join(f.tree, "c.txt")+"\x00"), p("nEND\n"))
	sess("session dir", p("zIDSESSION\x00"), p("zSCAN "+one+"\x00"), p("nEND\n"))
	sess("session quota", p("zIDSESSION\x00"), p("zPING\x00"), p("zINSTREAM\x00"+string([]byte{0, 0x10, 0, 1})))
	sess("session versioncommands", p("nIDSESSION\n"), p("nVERSIONCOMMANDS\n"), p("nEND\n"))
	sess("old idsession", p("IDSESSION\n"))

	// Descriptors (unix socket only).
	infected, err := os.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { infected.Close() })
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close(); pw.Close() })
	fd := func(name string, pk ...packet) { cs = append(cs, diffCase{name: name, pkts: pk, unix: true}) }
	fd("fildes z same packet", packet{data: []byte("zFILDES\x00X"), fd: infected})
	fd("fildes n same packet", packet{data: []byte("nFILDES\nX"), fd: infected})
	fd("fildes separate packet", p("zFILDES\x00"), packet{data: []byte("X"), fd: infected})
	fd("fildes no extra byte", packet{data: []byte("zFILDES\x00"), fd: infected})
	fd("fildes pipe", packet{data: []byte("zFILDES\x00X"), fd: pr})
	fd("fildes no fd", p("zFILDES\x00X"))
	fd("fildes old", packet{data: []byte("FILDES\n"), fd: infected})
	fd("fildes old extra", packet{data: []byte("FILDES\nX"), fd: infected})
	fd("fildes n no extra byte", packet{data: []byte("nFILDES\n"), fd: infected})
	fd("fildes n separate", p("nFILDES\n"), packet{data: []byte("X"), fd: infected})
	fd("fd with ping", packet{data: []byte("zPING\x00X"), fd: infected})
	fd("session fildes", packet{data: []byte("zIDSESSION\x00")}, packet{data: []byte("zFILDES\x00X"), fd: infected}, p("zEND\x00"))
	return cs
}

// TestDifferential sends every command in every framing to glassav and to
// a real clamd on the same database and compares the replies byte for
// byte, except version strings, descriptor numbers, the STATS body and the
// order of IDSESSION replies.
func TestDifferential(t *testing.T) {
	cd := startClamd(t)
	f := getFixture(t)
	gs := newTestServer(t, nil, Options{})
	cases := differentialCases(t, f)
	type target struct{ network, clamd, glassav string }
	targets := []target{{"unix", cd.sock, gs.sock}, {"tcp", cd.tcp, gs.tcp}}
	for _, tg := range targets {
		for _, c := range cases {
			if c.unix && tg.network != "unix" {
				continue
			}
			t.Run(tg.network+"/"+c.name, func(t *testing.T) {
				wait := c.wait
				if wait == 0 {
					wait = 3 * time.Second
				}
				want, err := exchange(tg.network, tg.clamd, c.pkts, wait)
				if err != nil {
					t.Fatalf("clamd: %v", err)
				}
				got, err := exchange(tg.network, tg.glassav, c.pkts, wait)
				if err != nil {
					t.Fatalf("glassav: %v", err)
				}
				norm := func(b []byte) string {
					r := normalise(b)
					if c.session {
						r = sortedLines(r)
					}
					return r
				}
				w, g := norm(want), norm(got)
				// clamd's own reply to some inputs depends on how its
				// reads split the bytes, which varies under load (seen:
				// "n SCAN with CRCR" over TCP with and without clamd's
				// "Error processing command" line). On a difference, ask
				// clamd again: glassav's reply must be one clamd gives.
				for retry := 0; w != g && retry < 3; retry++ {
					again, err := exchange(tg.network, tg.clamd, c.pkts, wait)
					if err != nil {
						t.Fatalf("clamd: %v", err)
					}
					if a := norm(again); a == g {
						t.Logf("clamd's reply varies between runs: %q, then %q", w, a)
						w = a
					}
				}
				if w != g {
					t.Errorf("replies differ\nclamd:   %q\nglassav: %q", w, g)
				}
			})
		}
	}
	// RELOAD last: both answer RELOADING and reload.
	for _, c := range []string{"zRELOAD\x00", "RELOAD"} {
		want, _ := exchange("unix", cd.sock, []packet{p(c)}, 3*time.Second)
		got, _ := exchange("unix", gs.sock, []packet{p(c)}, 3*time.Second)
		if string(want) != string(got) {
			t.Errorf("%q: clamd %q, glassav %q", c, want, got)
		}
	}
	if err := waitPing(cd.unix(), 30*time.Second, nil); err != nil {
		t.Fatalf("clamd after RELOAD: %v", err)
	}
}

// sortedLines splits replies at their terminators and sorts them.
func sortedLines(s string) string {
	var lines []string
	for len(s) > 0 {
		i := strings.IndexAny(s, "\x00\n")
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	slices.Sort(lines)
	return fmt.Sprint(lines)
}

// TestDifferentialOptions compares replies under clamd's limit, symbolic
// link and exclusion options, each with a clamd started with the same
// options.
func TestDifferentialOptions(t *testing.T) {
	f := getFixture(t)
	big := filepath.Join(f.dir, "big")
	os.MkdirAll(big, 0o755)
	os.WriteFile(filepath.Join(big, "over.txt"), []byte(strings.Repeat("x", 40)+sigOne), 0o644)
	os.WriteFile(filepath.Join(big, "under.txt"), []byte(sigTwo), 0o644)
	for _, v := range []struct {
		name, conf string
		set        func(*Config)
	}{
		{"MaxFileSize", "MaxFileSize 32\n", func(c *Config) { c.MaxFileSize = 32 }},
		{"MaxFileSize+AlertExceedsMax", "MaxFileSize 32\nAlertExceedsMax yes\n", func(c *Config) { c.MaxFileSize = 32; c.AlertExceedsMax = true }},
		{"MaxScanSize", "MaxScanSize 32\n", func(c *Config) { c.MaxScanSize = 32 }},
		{"MaxDirectoryRecursion", "MaxDirectoryRecursion 1\n", func(c *Config) { c.MaxDirectoryRecursion = 1 }},
		{"MaxDirectoryRecursion0", "MaxDirectoryRecursion 0\n", func(c *Config) { c.MaxDirectoryRecursion = 0 }},
		{"MaxDirectoryRecursion2", "MaxDirectoryRecursion 2\n", func(c *Config) { c.MaxDirectoryRecursion = 2 }},
		{"no symlinks", "", func(c *Config) {}},
		{"AllowAllMatchScan", "AllowAllMatchScan no\n", func(c *Config) { c.AllowAllMatchScan = false }},
		{"MaxThreads", "MaxThreads 1\n", func(c *Config) { c.MaxThreads = 1; c.MaxQueue = 2 }},
		{"FollowFileSymlinks", "FollowFileSymlinks yes\n", func(c *Config) { c.FollowFileSymlinks = true }},
		{"FollowDirectorySymlinks", "FollowDirectorySymlinks yes\n", func(c *Config) { c.FollowDirectorySymlinks = true }},
		{"FollowBothSymlinks", "FollowDirectorySymlinks yes\nFollowFileSymlinks yes\n", func(c *Config) {
			c.FollowDirectorySymlinks, c.FollowFileSymlinks = true, true
		}},
		{"ExcludePath", "ExcludePath /sub/\nExcludePath under\n", func(c *Config) {
			c.ExcludePath = []*regexp.Regexp{regexp.MustCompile("/sub/"), regexp.MustCompile("under")}
		}},
	} {
		t.Run(v.name, func(t *testing.T) {
			cd := startClamdWith(t, strings.ReplaceAll(v.name, "+", "-"), v.conf)
			cfg := testConfig()
			v.set(cfg)
			gs := newTestServer(t, cfg, Options{})
			over := string(chunk([]byte(strings.Repeat("y", 40) + sigOne)))
			cases := []diffCase{
				{name: "instream over", pkts: []packet{p("zINSTREAM\x00" + over + string(terminator))}},
				{name: "instream under", pkts: []packet{p("zINSTREAM\x00" + string(chunk([]byte(sigTwo))) + string(terminator))}},
				{name: "scan over", pkts: []packet{p("zSCAN " + filepath.Join(big, "over.txt") + "\x00")}},
				{name: "scan under", pkts: []packet{p("zSCAN " + filepath.Join(big, "under.txt") + "\x00")}},
				{name: "contscan big", pkts: []packet{p("zCONTSCAN " + big + "\x00")}, session: true},
				{name: "contscan tree", pkts: []packet{p("zCONTSCAN " + f.tree + "\x00")}, session: true},
				{name: "multiscan tree", pkts: []packet{p("zMULTISCAN " + f.tree + "\x00")}, session: true},
				{name: "scan sub", pkts: []packet{p("zSCAN " + filepath.Join(f.tree, "sub") + "\x00")}},
				{name: "contscan links", pkts: []packet{p("zCONTSCAN " + filepath.Join(f.dir, "links") + "\x00")}, session: true},
				{name: "allmatchscan", pkts: []packet{p("zALLMATCHSCAN " + filepath.Join(f.tree, "both.txt") + "\x00")}},
				{name: "multiscan one", pkts: []packet{p("zMULTISCAN " + filepath.Join(f.dir, "one") + "\x00")}, session: true},
				{name: "scan broken link", pkts: []packet{p("zSCAN " + filepath.Join(f.dir, "links/broken-link") + "\x00")}},
				{name: "scan file link", pkts: []packet{p("zSCAN " + filepath.Join(f.dir, "links/file-link") + "\x00")}},
				{name: "scan dir link", pkts: []packet{p("zCONTSCAN " + filepath.Join(f.dir, "links/dir-link") + "\x00")}, session: true},
				{name: "scan dotdot", pkts: []packet{p("zSCAN " + f.tree + "/../tree/a.txt\x00")}},
				{name: "contscan dot", pkts: []packet{p("zCONTSCAN " + f.tree + "/./sub\x00")}, session: true},
				{name: "contscan double slash", pkts: []packet{p("zCONTSCAN " + f.tree + "//sub//\x00")}, session: true},
				{name: "contscan deep", pkts: []packet{p("zCONTSCAN " + filepath.Join(f.dir, "deep") + "\x00")}, session: true},
			}
			for _, c := range cases {
				want, _ := exchange("unix", cd.sock, c.pkts, 3*time.Second)
				got, _ := exchange("unix", gs.sock, c.pkts, 3*time.Second)
				w, g := normalise(want), normalise(got)
				if c.session {
					w, g = sortedLines(w), sortedLines(g)
				}
				if w != g {
					t.Errorf("%s %s: replies differ\nclamd:   %q\nglassav: %q", v.name, c.name, w, g)
				}
			}
		})
	}
}
