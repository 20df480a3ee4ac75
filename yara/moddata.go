package yara

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// WriteModuleData writes the values of module name as yara -D prints them
// (yr_object_print_data), without the trailing blank line yara adds after
// each module. Members marked Since43 are left out: the output is yara
// 4.2.3's. The format is yara's, so a test can compare a module's
// values field by field with yara's own output.
func WriteModuleData(b *bytes.Buffer, name string, o *Object) {
	printObject(b, name, o, 0, true, false)
}

// printObject writes a module's values as yara's yr_object_print_data:
// one tab of indent per level, array items as [i], dictionary items by key
// in insertion order, functions left out. yara keeps structure members in
// a list it prepends to, so declared structures print in the reverse of
// their declaration order, while array and dictionary items, copies of the
// declared element that reverse the list once more, print in declaration
// order. Every array level copies once more (an item's nested array
// prototype was itself copied with the item), so the order flips at each
// level of arrays and dictionaries: copied says the current one is an odd
// number of levels deep.
func printObject(b *bytes.Buffer, name string, o *Object, indent int, ident, copied bool) {
	tabs := strings.Repeat("\t", min(indent, 31))
	if ident && o.Kind != KindFunc {
		b.WriteString(tabs + name)
	}
	switch o.Kind {
	case KindInt:
		if o.Defined {
			fmt.Fprintf(b, " = %d", o.Int)
		} else {
			b.WriteString(" = YR_UNDEFINED")
		}
	case KindFloat:
		if o.Defined {
			fmt.Fprintf(b, " = %s", strconv.FormatFloat(o.Float, 'f', 6, 64))
		} else {
			b.WriteString(" = nan")
		}
	case KindString:
		if !o.Defined {
			b.WriteString(" = YR_UNDEFINED")
			break
		}
		b.WriteString(" = \"")
		for _, c := range o.Str {
			if c >= 32 && c <= 126 {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(b, "\\x%02x", c)
			}
		}
		b.WriteByte('"')
	case KindStruct:
		for k := range o.Order {
			i := len(o.Order) - 1 - k
			if copied {
				i = k
			}
			f := o.Fields[o.Order[i]]
			if f == nil || f.Kind == KindFunc || f.Since43 {
				continue
			}
			b.WriteByte('\n')
			printObject(b, o.Order[i], f, indent+1, true, copied)
		}
	case KindArray:
		for i, it := range o.Items {
			if it == nil {
				continue
			}
			fmt.Fprintf(b, "\n%s\t[%d]", tabs, i)
			printObject(b, "", it, indent+1, false, !copied)
		}
	case KindDict:
		for _, k := range o.Keys {
			it := o.Dict[k]
			if it == nil {
				continue
			}
			fmt.Fprintf(b, "\n%s\t%s", tabs, k)
			printObject(b, "", it, indent+1, false, !copied)
		}
	}
}
