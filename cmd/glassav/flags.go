package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// option is one command-line option in clamscan's style: a long name, an
// optional one-letter short name, and either a boolean (no value) or a
// setter for a value.
type option struct {
	long  string
	short byte // 0: none
	arg   string
	help  string
	// Exactly one of these is set.
	flag *bool
	set  func(string) error
}

// options is an ordered option table; the order is the help order.
type options []option

// parse splits args into operands and options, setting each option as it
// goes. It accepts the forms getopt_long accepts, which clamscan users
// write: "--name=value", "--name value", "-d value", "-dvalue", bundled
// short booleans ("-ri"), booleans with an explicit "--name=yes|no", and
// "--" to end options. A lone "-" is an operand (standard input).
// Options and operands may be mixed.
func (opts options) parse(args []string) ([]string, error) {
	var operands []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(operands, args[i+1:]...), nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			o := opts.byLong(name)
			if o == nil {
				return nil, fmt.Errorf("unknown option --%s", name)
			}
			if o.flag != nil {
				if !hasVal {
					*o.flag = true
					continue
				}
				b, err := parseBool(val)
				if err != nil {
					return nil, fmt.Errorf("--%s: %w", name, err)
				}
				*o.flag = b
				continue
			}
			if !hasVal {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("option --%s needs a value", name)
				}
				i++
				val = args[i]
			}
			if err := o.set(val); err != nil {
				return nil, fmt.Errorf("--%s: %w", name, err)
			}
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				o := opts.byShort(a[j])
				if o == nil {
					return nil, fmt.Errorf("unknown option -%c", a[j])
				}
				if o.flag != nil {
					*o.flag = true
					continue
				}
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return nil, fmt.Errorf("option -%c needs a value", a[j])
					}
					i++
					val = args[i]
				}
				if err := o.set(val); err != nil {
					return nil, fmt.Errorf("-%c: %w", a[j], err)
				}
				break
			}
		default:
			operands = append(operands, a)
		}
	}
	return operands, nil
}

func (opts options) byLong(name string) *option {
	for i := range opts {
		if opts[i].long == name {
			return &opts[i]
		}
	}
	return nil
}

func (opts options) byShort(c byte) *option {
	for i := range opts {
		if opts[i].short == c {
			return &opts[i]
		}
	}
	return nil
}

// usage returns the option list for --help.
func (opts options) usage() string {
	var b strings.Builder
	for _, o := range opts {
		name := "    --" + o.long
		if o.short != 0 {
			name = fmt.Sprintf("-%c, --%s", o.short, o.long)
		}
		if o.arg != "" {
			name += "=" + o.arg
		}
		fmt.Fprintf(&b, "  %-34s %s\n", name, o.help)
	}
	return b.String()
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes", "true", "1", "on":
		return true, nil
	case "no", "false", "0", "off":
		return false, nil
	}
	return false, fmt.Errorf("want yes or no, not %q", s)
}

// parseSize parses a size as clamscan does: a decimal number of bytes,
// optionally followed by K or M (kibibytes, mebibytes; either case). G is
// accepted too.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := s
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult, num = 1<<10, s[:n-1]
		case 'm', 'M':
			mult, num = 1<<20, s[:n-1]
		case 'g', 'G':
			mult, num = 1<<30, s[:n-1]
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q (want a number of bytes, optionally with K or M)", s)
	}
	if v > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return v * mult, nil
}

// parseCount parses a non-negative decimal integer no larger than max.
func parseCount(s string, max int) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad number %q", s)
	}
	if v > max {
		return 0, fmt.Errorf("%d is more than the maximum %d", v, max)
	}
	return v, nil
}

// Setters for the option table.

func stringVar(p *string) func(string) error {
	return func(s string) error { *p = s; return nil }
}

func listVar(p *[]string) func(string) error {
	return func(s string) error { *p = append(*p, s); return nil }
}

func sizeVar(p *int64) func(string) error {
	return func(s string) (err error) { *p, err = parseSize(s); return err }
}

func countVar(p *int, max int) func(string) error {
	return func(s string) (err error) { *p, err = parseCount(s, max); return err }
}
