package main

import (
	"fmt"
	"strconv"
	"strings"
)

// yopt is one option of yara's own argument parser (cli/args.c), which
// differs from getopt in ways scripts notice: a boolean named twice is
// toggled back off, long options take a value only as "--name=value",
// a short option takes the next argument as its value only when it ends
// its bundle, integers are read as strtol base 0 (so 0x10 works), options
// named more often than allowed are an error, and every error ends the
// program with status 1.
type yopt struct {
	short byte
	long  string
	arg   string // value placeholder for help; "" for booleans
	help  string

	flag *bool
	num  *int64
	str  *string
	list *[]string // repeatable, at most yaraMaxMulti times

	count int
}

// yaraMaxMulti is yara's limit on a repeatable option (MAX_ARGS_TAG etc.).
const yaraMaxMulti = 32

// yopts is an ordered option table; the order is the help order.
type yopts []*yopt

// parse returns the operands. Errors carry yara's message, which names the
// whole argument as written.
func (opts yopts) parse(args []string) ([]string, error) {
	var operands []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case len(a) > 2 && strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			o := opts.byLong(name)
			if o == nil {
				return nil, fmt.Errorf("unknown option `%s`", a)
			}
			var v *string
			if hasVal {
				v = &val
			}
			if _, err := o.set(v, a); err != nil {
				return nil, err
			}
		case len(a) > 1 && a[0] == '-' && a[1] != '-':
			for j := 1; j < len(a); j++ {
				o := opts.byShort(a[j])
				if o == nil {
					return nil, fmt.Errorf("unknown option `%s`", a)
				}
				var v *string
				if j+1 == len(a) && i+1 < len(args) {
					v = &args[i+1]
				}
				used, err := o.set(v, a)
				if err != nil {
					return nil, err
				}
				if used {
					i++
				}
			}
		default:
			operands = append(operands, a)
		}
	}
	return operands, nil
}

// set applies the option with its possible value v; it reports whether v
// was consumed.
func (o *yopt) set(v *string, arg string) (bool, error) {
	max := 1
	if o.list != nil {
		max = yaraMaxMulti
	}
	if o.flag == nil && o.count == max {
		return false, fmt.Errorf("too many `%s` options", arg)
	}
	switch {
	case o.flag != nil:
		*o.flag = !*o.flag
		return false, nil
	case o.num != nil:
		if v == nil {
			return false, fmt.Errorf("option `%s` requires an integer argument", arg)
		}
		n, ok := strtol(*v)
		if !ok {
			return false, fmt.Errorf("option `%s` requires an integer argument", arg)
		}
		*o.num = n
	default:
		if v == nil {
			return false, fmt.Errorf("option `%s` requires a string argument", arg)
		}
		if o.list != nil {
			*o.list = append(*o.list, *v)
		} else {
			*o.str = *v
		}
	}
	o.count++
	return true, nil
}

func (opts yopts) byLong(name string) *yopt {
	for _, o := range opts {
		if o.long == name {
			return o
		}
	}
	return nil
}

func (opts yopts) byShort(c byte) *yopt {
	for _, o := range opts {
		if o.short != 0 && o.short == c {
			return o
		}
	}
	return nil
}

// usage formats the option list as yara's --help does, with the help text
// starting at column align.
func (opts yopts) usage(align int) string {
	var b strings.Builder
	for _, o := range opts {
		s := "  "
		if o.short != 0 {
			s += "-" + string(o.short)
		} else {
			s += "     "
		}
		if o.short != 0 && o.long != "" {
			s += ",  "
		}
		if o.long != "" {
			s += "--" + o.long
		}
		if o.arg != "" {
			s += "=" + o.arg
		}
		fmt.Fprintf(&b, "%-*s%s\n", align, s, o.help)
	}
	return b.String()
}

// strtol parses an integer as C's strtol with base 0 and a check that
// nothing follows: optional space and sign, then 0x (hex), 0 (octal) or
// decimal digits. Out-of-range values saturate, as strtol's do.
func strtol(s string) (int64, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	if s == "" || s[0] == '+' || s[0] == '-' || strings.ContainsRune(s, '_') {
		return 0, false
	}
	u, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, false
		}
		u = 1 << 63
	}
	if neg {
		if u > 1<<63 {
			u = 1 << 63
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		u = 1<<63 - 1
	}
	return int64(u), true
}
