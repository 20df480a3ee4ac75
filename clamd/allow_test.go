package clamd

import (
	"net/netip"
	"strings"
	"testing"
)

// TestTCPAllow checks the TCP address allow-list: a client outside it gets
// no reply, one inside is served, and unix-socket clients are unaffected.
func TestTCPAllow(t *testing.T) {
	tests := []struct {
		allow   string
		tcpOK   bool
		comment string
	}{
		{"", true, "no list: everyone"},
		{"127.0.0.0/8", true, "loopback allowed"},
		{"10.0.0.0/8", false, "loopback not in the list"},
		{"::1", false, "an IPv6 address does not admit IPv4 loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.comment, func(t *testing.T) {
			cfg := testConfig()
			if tt.allow != "" {
				p, err := ParsePrefix(tt.allow)
				if err != nil {
					t.Fatal(err)
				}
				cfg.TCPAllow = []netip.Prefix{p}
			}
			s := newTestServer(t, cfg, Options{})
			reply, err := s.tcpc().Command("PING")
			pong := err == nil && len(reply) == 1 && reply[0] == "PONG"
			if tt.tcpOK && !pong {
				t.Errorf("TCP PING: %q, %v; want PONG", reply, err)
			}
			if !tt.tcpOK && pong {
				t.Errorf("TCP PING answered PONG from outside the allow-list")
			}
			if reply, err := s.unix().Command("PING"); err != nil || len(reply) != 1 || reply[0] != "PONG" {
				t.Errorf("unix PING: %q, %v; want PONG", reply, err)
			}
		})
	}
}

func TestParsePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":      "127.0.0.1/32",
		"192.168.1.7/24": "192.168.1.0/24",
		"::1":            "::1/128",
	} {
		p, err := ParsePrefix(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	if _, err := ParsePrefix("not-an-address"); err == nil || !strings.Contains(err.Error(), "bad network") {
		t.Errorf("bad input: %v", err)
	}
	cfg, err := ParseConfig(strings.NewReader("TCPAllow 127.0.0.0/8\nTCPAllow ::1\n"), "test.conf")
	if err != nil || len(cfg.TCPAllow) != 2 {
		t.Errorf("config TCPAllow: %v, %v", cfg, err)
	}
}
