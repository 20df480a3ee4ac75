package clamd

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config is the daemon's configuration, read from a clamd.conf. Field names
// are clamd's option names; DefaultConfig holds clamd 1.4's defaults.
type Config struct {
	LocalSocket      string
	LocalSocketGroup string
	LocalSocketMode  os.FileMode
	FixStaleSocket   bool
	TCPSocket        int      // 0: no TCP listener
	TCPAddr          []string // empty: every address

	User               string
	DatabaseDirectory  string
	Foreground         bool
	PidFile            string
	LogFile            string
	LogTime            bool
	LogClean           bool
	TemporaryDirectory string

	MaxThreads               int
	MaxQueue                 int
	MaxConnectionQueueLength int

	StreamMaxLength       int64
	MaxScanSize           int64
	MaxFileSize           int64
	MaxScanTime           time.Duration
	MaxRecursion          int
	MaxFiles              int
	MaxDirectoryRecursion int

	FollowDirectorySymlinks bool
	FollowFileSymlinks      bool
	AlertExceedsMax         bool
	DetectPUA               bool
	AllowAllMatchScan       bool
	// ScanPE, ScanELF and ScanHTML are clamd's switches for executable
	// parsing (entry-point and section offsets, section hashes) and for the
	// normalised text view of text files.
	ScanPE, ScanELF, ScanHTML bool
	// ScanArchive, ScanMail, ScanOLE2 and ScanPDF open those containers
	// and scan their members; AlertEncrypted* report encrypted members as
	// Heuristics.Encrypted.*.
	ScanArchive, ScanMail, ScanOLE2, ScanPDF                 bool
	AlertEncrypted, AlertEncryptedArchive, AlertEncryptedDoc bool

	ReadTimeout        time.Duration
	CommandReadTimeout time.Duration
	SendBufTimeout     time.Duration
	IdleTimeout        time.Duration
	SelfCheck          time.Duration

	ExcludePath []*regexp.Regexp
	VirusEvent  string

	// TCPAllow, when not empty, lists the client networks the TCP socket
	// serves; connections from elsewhere are closed unanswered. clamd has
	// no such control; the option name is glassav's ("TCPAllow CIDR",
	// repeatable).
	TCPAllow []netip.Prefix

	// Commands that can be turned off (clamd 1.5's options). A disabled
	// command answers "COMMAND UNAVAILABLE".
	EnableShutdownCommand bool
	EnableReloadCommand   bool
	EnableStatsCommand    bool
	EnableVersionCommand  bool

	// Ignored lists the options read but without effect in glassav, for a
	// warning at start-up.
	Ignored []string
}

// DefaultConfig returns clamd 1.4.6's defaults.
func DefaultConfig() *Config {
	return &Config{
		LocalSocketMode:          0o666,
		FixStaleSocket:           true,
		MaxThreads:               10,
		MaxQueue:                 100,
		MaxConnectionQueueLength: 200,
		StreamMaxLength:          100 << 20,
		MaxScanSize:              400 << 20,
		MaxFileSize:              100 << 20,
		MaxScanTime:              120 * time.Second,
		MaxRecursion:             17,
		MaxFiles:                 10000,
		MaxDirectoryRecursion:    15,
		AllowAllMatchScan:        true,
		ScanPE:                   true,
		ScanELF:                  true,
		ScanHTML:                 true,
		ScanArchive:              true,
		ScanMail:                 true,
		ScanOLE2:                 true,
		ScanPDF:                  true,
		ReadTimeout:              120 * time.Second,
		CommandReadTimeout:       30 * time.Second,
		SendBufTimeout:           500 * time.Millisecond,
		IdleTimeout:              30 * time.Second,
		SelfCheck:                600 * time.Second,
		EnableShutdownCommand:    true,
		EnableReloadCommand:      true,
		EnableStatsCommand:       true,
		EnableVersionCommand:     true,
	}
}

// Limits against hostile or mistaken configuration files.
const (
	maxConfigSize  = 1 << 20
	maxConfigLines = 10000
	maxThreads     = 4096
)

// optionKind is how an option's value is parsed.
type optionKind int

const (
	kString optionKind = iota
	kBool
	kInt
	kSize
	kSeconds
	kMillis
	kMode
	kRegexp
	kPrefix
	kIgnored
)

// configOptions maps each option name glassav knows to its kind and a
// setter. Options clamd has that glassav does not act on are listed with
// kIgnored so that an existing clamd.conf loads.
func (c *Config) options() map[string]struct {
	kind optionKind
	set  func(v any)
} {
	type opt = struct {
		kind optionKind
		set  func(v any)
	}
	str := func(p *string) opt { return opt{kString, func(v any) { *p = v.(string) }} }
	boo := func(p *bool) opt { return opt{kBool, func(v any) { *p = v.(bool) }} }
	num := func(p *int) opt { return opt{kInt, func(v any) { *p = int(v.(int64)) }} }
	size := func(p *int64) opt { return opt{kSize, func(v any) { *p = v.(int64) }} }
	secs := func(p *time.Duration) opt { return opt{kSeconds, func(v any) { *p = v.(time.Duration) }} }
	ms := func(p *time.Duration) opt { return opt{kMillis, func(v any) { *p = v.(time.Duration) }} }
	m := map[string]opt{
		"LocalSocket":              str(&c.LocalSocket),
		"LocalSocketGroup":         str(&c.LocalSocketGroup),
		"LocalSocketMode":          {kMode, func(v any) { c.LocalSocketMode = v.(os.FileMode) }},
		"FixStaleSocket":           boo(&c.FixStaleSocket),
		"TCPSocket":                num(&c.TCPSocket),
		"TCPAddr":                  {kString, func(v any) { c.TCPAddr = append(c.TCPAddr, v.(string)) }},
		"User":                     str(&c.User),
		"DatabaseDirectory":        str(&c.DatabaseDirectory),
		"Foreground":               boo(&c.Foreground),
		"PidFile":                  str(&c.PidFile),
		"LogFile":                  str(&c.LogFile),
		"LogTime":                  boo(&c.LogTime),
		"LogClean":                 boo(&c.LogClean),
		"TemporaryDirectory":       str(&c.TemporaryDirectory),
		"MaxThreads":               num(&c.MaxThreads),
		"MaxQueue":                 num(&c.MaxQueue),
		"MaxConnectionQueueLength": num(&c.MaxConnectionQueueLength),
		"StreamMaxLength":          size(&c.StreamMaxLength),
		"MaxScanSize":              size(&c.MaxScanSize),
		"MaxFileSize":              size(&c.MaxFileSize),
		"MaxScanTime":              ms(&c.MaxScanTime),
		"MaxRecursion":             num(&c.MaxRecursion),
		"MaxFiles":                 num(&c.MaxFiles),
		"MaxDirectoryRecursion":    num(&c.MaxDirectoryRecursion),
		"FollowDirectorySymlinks":  boo(&c.FollowDirectorySymlinks),
		"FollowFileSymlinks":       boo(&c.FollowFileSymlinks),
		"AlertExceedsMax":          boo(&c.AlertExceedsMax),
		"DetectPUA":                boo(&c.DetectPUA),
		"AllowAllMatchScan":        boo(&c.AllowAllMatchScan),
		"ScanPE":                   boo(&c.ScanPE),
		"ScanELF":                  boo(&c.ScanELF),
		"ScanHTML":                 boo(&c.ScanHTML),
		"ScanArchive":              boo(&c.ScanArchive),
		"ScanMail":                 boo(&c.ScanMail),
		"ScanOLE2":                 boo(&c.ScanOLE2),
		"ScanPDF":                  boo(&c.ScanPDF),
		"AlertEncrypted":           boo(&c.AlertEncrypted),
		"AlertEncryptedArchive":    boo(&c.AlertEncryptedArchive),
		"AlertEncryptedDoc":        boo(&c.AlertEncryptedDoc),
		"ReadTimeout":              secs(&c.ReadTimeout),
		"CommandReadTimeout":       secs(&c.CommandReadTimeout),
		"SendBufTimeout":           ms(&c.SendBufTimeout),
		"IdleTimeout":              secs(&c.IdleTimeout),
		"SelfCheck":                secs(&c.SelfCheck),
		"ExcludePath":              {kRegexp, func(v any) { c.ExcludePath = append(c.ExcludePath, v.(*regexp.Regexp)) }},
		"TCPAllow":                 {kPrefix, func(v any) { c.TCPAllow = append(c.TCPAllow, v.(netip.Prefix)) }},
		"VirusEvent":               str(&c.VirusEvent),
		"EnableShutdownCommand":    boo(&c.EnableShutdownCommand),
		"EnableReloadCommand":      boo(&c.EnableReloadCommand),
		"EnableStatsCommand":       boo(&c.EnableStatsCommand),
		"EnableVersionCommand":     boo(&c.EnableVersionCommand),
	}
	for _, name := range ignoredOptions {
		m[name] = opt{kIgnored, nil}
	}
	return m
}

// ignoredOptions are clamd options that glassav accepts and ignores: they
// tune parts of libclamav glassav does not have, or logging details.
var ignoredOptions = []string{
	"LogFileUnlock", "LogFileMaxSize", "LogSyslog", "LogFacility", "LogVerbose",
	"LogRotate", "ExtendedDetectionInfo", "OfficialDatabaseOnly",
	"FailIfCvdOlderThan", "ConcurrentDatabaseReload", "LeaveTemporaryFiles",
	"GenerateMetadataJson", "Debug", "ExitOnOOM", "CrossFilesystems",
	"DisableCache", "CacheSize", "HeuristicAlerts", "HeuristicScanPrecedence",
	"ScanSWF", "ScanXMLDOCS",
	"ScanHWP3", "ScanOneNote", "ScanPartialMessages",
	"ScanImage", "ScanImageFuzzyHash", "PhishingSignatures",
	"PhishingScanURLs", "AlertBrokenExecutables", "AlertBrokenMedia",
	"AlertOLE2Macros", "AlertPhishingSSLMismatch", "AlertPhishingCloak",
	"AlertPartitionIntersection", "StructuredDataDetection", "Bytecode",
	"BytecodeSecurity", "BytecodeTimeout", "BytecodeUnsigned", "MaxEmbeddedPE",
	"MaxHTMLNormalize", "MaxHTMLNoTags", "MaxScriptNormalize", "MaxZipTypeRcg",
	"MaxPartitions", "MaxIconsPE", "MaxRecHWP3", "PCREMatchLimit",
	"PCRERecMatchLimit", "PCREMaxFileSize", "ForceToDisk", "ExcludePUA",
	"IncludePUA", "OnAccessIncludePath", "OnAccessExcludePath",
	"OnAccessExcludeUname", "OnAccessExcludeUID", "OnAccessExcludeRootUID",
	"OnAccessMaxFileSize", "OnAccessMaxThreads", "OnAccessCurlTimeout",
	"OnAccessDisableDDD", "OnAccessPrevention", "OnAccessExtraScanning",
	"OnAccessRetryAttempts", "OnAccessDenyOnError", "OnAccessMountPath",
	"DisableCertCheck", "StatsEnabled", "StatsHostID", "StatsPEDisabled",
	"StatsTimeout", "AllowSupplementaryGroups", "BytecodeMode",
	"StructuredMinCreditCardCount", "StructuredMinSSNCount",
	"StructuredSSNFormatNormal", "StructuredSSNFormatStripped",
	"StructuredCCOnly", "HeuristicAlerts", "DetectBrokenExecutables",
}

// ParseConfig reads a clamd.conf: "Option value" lines, '#' comments,
// booleans yes/no/true/false/1/0, sizes with K or M suffixes. As in clamd,
// an "Example" line (left in the packaged sample) is an error, and so is an
// unknown option.
func ParseConfig(r io.Reader, name string) (*Config, error) {
	c := DefaultConfig()
	opts := c.options()
	sc := bufio.NewScanner(io.LimitReader(r, maxConfigSize+1))
	sc.Buffer(make([]byte, 4096), 64<<10)
	n, total := 0, 0
	for sc.Scan() {
		n++
		total += len(sc.Bytes()) + 1
		if total > maxConfigSize || n > maxConfigLines {
			return nil, fmt.Errorf("%s: file too large", name)
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		if k2, v2, ok := strings.Cut(line, "\t"); ok && len(k2) < len(key) {
			key, val = k2, v2
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		if key == "Example" {
			return nil, fmt.Errorf("%s:%d: the \"Example\" line must be removed or commented out", name, n)
		}
		o, ok := opts[key]
		if !ok {
			return nil, fmt.Errorf("%s:%d: unknown option %s", name, n, key)
		}
		if o.kind == kIgnored {
			c.Ignored = append(c.Ignored, key)
			continue
		}
		if val == "" {
			return nil, fmt.Errorf("%s:%d: option %s needs a value", name, n, key)
		}
		v, err := parseValue(o.kind, val)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", name, n, key, err)
		}
		o.set(v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// ReadConfigFile reads a clamd.conf from disk.
func ReadConfigFile(name string) (*Config, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return ParseConfig(f, name)
}

func parseValue(k optionKind, s string) (any, error) {
	switch k {
	case kString:
		return s, nil
	case kBool:
		switch strings.ToLower(s) {
		case "yes", "true", "1", "on":
			return true, nil
		case "no", "false", "0", "off":
			return false, nil
		}
		return nil, fmt.Errorf("want yes or no, not %q", s)
	case kInt:
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("bad number %q", s)
		}
		return v, nil
	case kSize:
		return parseSize(s)
	case kSeconds, kMillis:
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("bad number %q", s)
		}
		unit := time.Second
		if k == kMillis {
			unit = time.Millisecond
		}
		return time.Duration(v) * unit, nil
	case kMode:
		v, err := strconv.ParseUint(s, 8, 32)
		if err != nil || v > 0o777 {
			return nil, fmt.Errorf("bad octal mode %q", s)
		}
		return os.FileMode(v), nil
	case kRegexp:
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, err
		}
		return re, nil
	case kPrefix:
		return ParsePrefix(s)
	}
	return nil, fmt.Errorf("internal: option kind %d", k)
}

// parseSize parses clamd's size syntax: bytes, or a number with a K or M
// (kibibytes, mebibytes) suffix; G is accepted too.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := s
	switch s[len(s)-1] {
	case 'k', 'K':
		mult, num = 1<<10, s[:len(s)-1]
	case 'm', 'M':
		mult, num = 1<<20, s[:len(s)-1]
	case 'g', 'G':
		mult, num = 1<<30, s[:len(s)-1]
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	if v > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return v * mult, nil
}

// check validates option combinations and clamps values as clamd does.
func (c *Config) check() error {
	if c.TCPSocket > 65535 {
		return fmt.Errorf("TCPSocket %d out of range", c.TCPSocket)
	}
	if c.MaxThreads < 1 {
		return fmt.Errorf("MaxThreads must be at least 1")
	}
	if c.MaxThreads > maxThreads {
		return fmt.Errorf("MaxThreads %d is more than %d", c.MaxThreads, maxThreads)
	}
	if c.MaxQueue < 2*c.MaxThreads {
		c.MaxQueue = 2 * c.MaxThreads // clamd raises it the same way
	}
	if c.MaxRecursion > 100 {
		c.MaxRecursion = 100
	}
	return nil
}

// ParsePrefix parses a network ("127.0.0.0/8", "::1/128") or a single
// address, for address allow-lists.
func ParsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		ip, ierr := netip.ParseAddr(s)
		if ierr != nil {
			return netip.Prefix{}, fmt.Errorf("bad network %q: want an address or CIDR", s)
		}
		p = netip.PrefixFrom(ip, ip.BitLen())
	}
	return p.Masked(), nil
}
