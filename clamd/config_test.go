package clamd

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	const conf = `# a comment
LocalSocket /run/glassav/clamd.ctl
LocalSocketGroup glassav
LocalSocketMode 660
TCPSocket 3310
TCPAddr 127.0.0.1
TCPAddr ::1
User glassav
DatabaseDirectory "/var/lib/glassav"
Foreground yes
MaxThreads 4
MaxQueue 2
StreamMaxLength 25M
MaxFileSize 10K
MaxScanTime 5000
ReadTimeout 10
CommandReadTimeout 3
SendBufTimeout 200
ExcludePath ^/proc/
ExcludePath ^/sys/
VirusEvent echo %v
EnableShutdownCommand no
LogTime	true
ScanSWF yes
ScanPDF no
ScanHTML no
`
	c, err := ParseConfig(strings.NewReader(conf), "t.conf")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"LocalSocket", c.LocalSocket, "/run/glassav/clamd.ctl"},
		{"LocalSocketMode", c.LocalSocketMode, os.FileMode(0o660)},
		{"TCPSocket", c.TCPSocket, 3310},
		{"TCPAddr", strings.Join(c.TCPAddr, ","), "127.0.0.1,::1"},
		{"DatabaseDirectory", c.DatabaseDirectory, "/var/lib/glassav"},
		{"MaxThreads", c.MaxThreads, 4},
		{"MaxQueue", c.MaxQueue, 8}, // raised to 2*MaxThreads, as clamd does
		{"StreamMaxLength", c.StreamMaxLength, int64(25 << 20)},
		{"MaxFileSize", c.MaxFileSize, int64(10 << 10)},
		{"MaxScanTime", c.MaxScanTime, 5 * time.Second},
		{"ReadTimeout", c.ReadTimeout, 10 * time.Second},
		{"CommandReadTimeout", c.CommandReadTimeout, 3 * time.Second},
		{"SendBufTimeout", c.SendBufTimeout, 200 * time.Millisecond},
		{"ExcludePath", len(c.ExcludePath), 2},
		{"VirusEvent", c.VirusEvent, "echo %v"},
		{"EnableShutdownCommand", c.EnableShutdownCommand, false},
		{"EnableReloadCommand", c.EnableReloadCommand, true},
		{"LogTime", c.LogTime, true},
		{"Ignored", strings.Join(c.Ignored, ","), "ScanSWF"},
		{"ScanPDF", c.ScanPDF, false},
		{"ScanArchive", c.ScanArchive, true},
		{"ScanHTML", c.ScanHTML, false},
		{"ScanPE", c.ScanPE, true},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, conf := range []string{
		"Example\n",
		"NoSuchOption yes\n",
		"Foreground maybe\n",
		"MaxThreads 0\n",
		"MaxThreads x\n",
		"StreamMaxLength 12Q\n",
		"StreamMaxLength 99999999999999999999M\n",
		"TCPSocket 70000\n",
		"ExcludePath (\n",
		"LocalSocketMode 999\n",
		"LocalSocket\n",
	} {
		if _, err := ParseConfig(strings.NewReader(conf), "t.conf"); err == nil {
			t.Errorf("%q: no error", conf)
		} else if !strings.HasPrefix(err.Error(), "t.conf") {
			t.Errorf("%q: error %q does not name the file", conf, err)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add("LocalSocket /x\nMaxThreads 3\nStreamMaxLength 1M\n")
	f.Add("ExcludePath ^/proc\nTCPAddr 1.2.3.4\n# c\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConfig(strings.NewReader(s), "f")
		if err != nil {
			return
		}
		if c.MaxThreads < 1 || c.MaxQueue < 2*c.MaxThreads {
			t.Fatalf("accepted MaxThreads %d MaxQueue %d", c.MaxThreads, c.MaxQueue)
		}
	})
}
