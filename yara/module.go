package yara

import "time"

// Kind is the type of a module value.
type Kind uint8

// Value kinds. Booleans returned by module functions are KindInt (0 or 1),
// as in yara.
const (
	KindInt Kind = iota + 1
	KindFloat
	KindString
	KindStruct
	KindArray
	KindDict
	KindFunc
)

// Object is a node of a module's value tree: a scalar, a structure, an
// array or dictionary of objects, or a set of function overloads. A
// module's Declare returns the tree with every field present and no value
// set; Load returns a tree of the same shape for one scanned object, in
// which unset scalars (Defined false) and missing array items or
// dictionary keys are undefined, as in yara.
type Object struct {
	Kind Kind

	// Scalars.
	Defined bool
	Int     int64
	Float   float64
	Str     []byte

	// KindStruct: fields by name, and their declaration order (for
	// printing module data).
	Fields map[string]*Object
	Order  []string

	// KindArray and KindDict: Elem is the declared element (its shape);
	// Items (array; nil entries are undefined) or Dict hold the values.
	Elem  *Object
	Items []*Object
	Dict  map[string]*Object
	Keys  []string // dictionary keys in insertion order

	// KindFunc: the overloads.
	Funcs []*Func

	// Since43 marks a member yara 4.3 or later added to a module that
	// otherwise reproduces yara 4.2.3 (pe.is_signed, export_details[i].rva,
	// delayed_import_details…). Rules see it like any other member; only
	// WriteModuleData leaves it and everything under it out, so yara -D's
	// output stays line for line 4.2.3's, the version the differential
	// tests compare against.
	Since43 bool
}

// Func is one overload of a module function.
type Func struct {
	// Args has one letter per argument, as yara declares them: 'i'
	// integer, 'f' float, 's' string, 'r' regular expression, 'b'
	// boolean (math.to_number; passed as a KindInt 0 or 1).
	Args string
	// Ret is KindInt, KindFloat or KindString.
	Ret Kind
	// Call computes the result; it returns an undefined Value when yara
	// would (for example an offset outside the data).
	Call func(sc *ScanContext, args []Value) Value
}

// Value is a value of a condition at run time.
type Value struct {
	Kind      Kind // KindInt, KindFloat, KindString; 0 for a regexp argument
	Undefined bool
	Int       int64
	Float     float64
	Str       []byte
	Re        *Regex // regular-expression arguments (see regex.go)
}

// Module is a YARA module.
type Module interface {
	Name() string
	// Declare returns the module's structure with all fields and
	// functions and no values; the checker and evaluator resolve names
	// against it.
	Declare() *Object
	// Load builds the module's values for one scanned object.
	Load(sc *ScanContext) (*Object, error)
}

// ScanContext is what module functions and Load see of the scan.
type ScanContext struct {
	Data       []byte    // the whole scanned object
	ModuleData []byte    // data given for the module (yara -x), or nil
	Now        time.Time // time.now(); fixed for the whole scan
	// Console receives console.log output; nil discards it.
	Console func(msg string)
	// cache lets modules memoise per-scan work (hash module digests).
	cache map[any]any
}

// Cached returns the value memoised under key, computing it with f on the
// first call in this scan.
func (sc *ScanContext) Cached(key any, f func() any) any {
	if v, ok := sc.cache[key]; ok {
		return v
	}
	if sc.cache == nil {
		sc.cache = make(map[any]any)
	}
	v := f()
	sc.cache[key] = v
	return v
}
