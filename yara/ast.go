package yara

// File is one parsed rule source, with its includes spliced in where they
// appeared (as yara does textually); every node keeps the position of the
// file it came from.
type File struct {
	Name      string
	Namespace string
	Imports   []*Import
	Rules     []*Rule
	Includes  []string // resolved paths of the files included, in order
}

// Import is `import "module"`.
type Import struct {
	Pos    Pos
	Module string
}

// Rule is one rule declaration.
type Rule struct {
	Pos       Pos
	Name      string
	Namespace string
	Global    bool
	Private   bool
	Tags      []string
	TagPos    []Pos
	Meta      []*Meta
	Strings   []*String
	Condition Expr
	// Imports are the modules imported in the file before or after this
	// rule (yara scopes imports per namespace).
	Imports []string
}

// Meta is one `key = value` of a meta section; Value is a string, int64 or bool.
type Meta struct {
	Pos   Pos
	Key   string
	Value any
}

// PatternKind says how a string's pattern is written.
type PatternKind uint8

// Pattern kinds.
const (
	TextPattern   PatternKind = iota // "..."
	HexPattern                       // { ... }
	RegexpPattern                    // /.../
)

// String is one `$id = pattern modifiers` of a strings section.
type String struct {
	Pos  Pos
	ID   string // with '$'; "$" for anonymous strings
	Kind PatternKind
	Text []byte       // TextPattern: decoded bytes
	Hex  []HexToken   // HexPattern: the token sequence
	Re   RegexpSource // RegexpPattern
	Mods Modifiers
	// Referenced is set by the checker when the condition uses the string.
	Referenced bool
}

// RegexpSource is a regular expression as written, with its flags.
type RegexpSource struct {
	Source string // between the slashes, escapes kept (except "\/" → "/")
	NoCase bool   // flag i
	DotAll bool   // flag s
}

// Modifiers are the modifiers of a string. XORMin/XORMax hold the key range
// (0-255 for a bare xor); Alphabet is "" for the standard base64 alphabet.
type Modifiers struct {
	ASCII, Wide, NoCase, Fullword, Private bool
	XOR                                    bool
	XORMin, XORMax                         int
	Base64, Base64Wide                     bool
	Alphabet                               string
	Pos                                    map[string]Pos // where each modifier was written
}

// HexKind is the kind of a hex-string token.
type HexKind uint8

// Hex token kinds.
const (
	HexByte HexKind = iota // a byte matched under Mask (Not: any byte but that)
	HexJump                // Min..Max arbitrary bytes (Max < 0: unbounded)
	HexAlt                 // one of Alts
)

// HexToken is one element of a hex string. A byte b matches when
// b&Mask == Value (Not inverts it); `??` has Mask 0, `4?` Mask 0xF0.
// Tokens carry no position (hex strings can be megabytes long); errors
// inside them are reported when lexing.
type HexToken struct {
	Kind     HexKind
	Value    byte
	Mask     byte
	Not      bool
	Min, Max int
	Alts     [][]HexToken
}

// Type is the static type of an expression.
type Type uint8

// Types. TypeUnknown marks values whose type only a module schema knows;
// the checker lets them through.
const (
	TypeUnknown Type = iota
	TypeBool
	TypeInt
	TypeFloat
	TypeString
	TypeRegexp
)

func (t Type) String() string {
	return [...]string{"unknown", "boolean", "integer", "float", "string", "regexp"}[t]
}

// Expr is a condition expression. Position returns where it starts; Type
// is its static type after checking.
type Expr interface {
	Position() Pos
	Type() Type
	exprNode()
}

// node carries what every expression has.
type node struct {
	P Pos
	T Type
}

func (n *node) Position() Pos { return n.P }
func (n *node) Type() Type    { return n.T }
func (*node) exprNode()       {}

// BoolLit is true or false.
type BoolLit struct {
	node
	Value bool
}

// IntLit is an integer literal.
type IntLit struct {
	node
	Value int64
}

// FloatLit is a float literal.
type FloatLit struct {
	node
	Value float64
}

// StringLit is a text string in a condition.
type StringLit struct {
	node
	Value string
}

// RegexpLit is a regular expression operand of `matches` or a module call.
type RegexpLit struct {
	node
	Re RegexpSource
}

// KeywordKind is a built-in value.
type KeywordKind uint8

// Built-in values.
const (
	Filesize KeywordKind = iota
	Entrypoint
)

// Keyword is filesize or entrypoint.
type Keyword struct {
	node
	Kind KeywordKind
}

// IdentKind says what an identifier names; set by the checker.
type IdentKind uint8

// Identifier kinds.
const (
	IdentUnresolved IdentKind = iota
	IdentRule                 // another rule (Rule points at it)
	IdentExternal             // an external variable
	IdentModule               // an imported module
	IdentLoopVar              // a variable of an enclosing for ... in
)

// Ident is a bare identifier.
type Ident struct {
	node
	Name string
	Kind IdentKind
	Rule *Rule // IdentRule
}

// Field is X.Name (module member access).
type Field struct {
	node
	X    Expr
	Name string
}

// Index is X[Index] (module array or dictionary).
type Index struct {
	node
	X     Expr
	Index Expr
}

// Call is Fn(Args...) (module function).
type Call struct {
	node
	Fn   Expr
	Args []Expr
}

// RefKind says which property of a string a StringRef reads.
type RefKind uint8

// String reference kinds.
const (
	RefMatch  RefKind = iota // $a, $a at e, $a in (r)
	RefCount                 // #a, #a in (r)
	RefOffset                // @a, @a[i]
	RefLength                // !a, !a[i]
)

// StringRef is a reference to a string of the rule. ID is "$" inside a
// for … of loop for the current string.
type StringRef struct {
	node
	Kind  RefKind
	ID    string
	Index Expr   // RefOffset, RefLength: 1-based match index; nil means 1
	At    Expr   // RefMatch: `at` offset
	In    *Range // RefMatch, RefCount: `in (lo..hi)`
	// String is the referenced declaration (nil for "$"); set by the checker.
	String *String
}

// Range is (Lo..Hi), inclusive.
type Range struct {
	Pos    Pos
	Lo, Hi Expr
}

// Unary is an operation on one operand: not, -, ~, defined.
type Unary struct {
	node
	Op Token // KwNot, Minus, Tilde, KwDefined
	X  Expr
}

// Binary is an operation on two operands. Op is the operator token
// (KwAnd, KwOr, Eq, …, KwContains, KwMatches, Plus, Backslash, Shl, …).
type Binary struct {
	node
	Op   Token
	X, Y Expr
}

// Read is one of the data readers int8 … uint32be applied to an offset.
type Read struct {
	node
	Fn     Token // KwInt8 … KwUint32BE
	Offset Expr
}

// Size returns the width of the read in bytes, whether it is signed and
// whether it is big endian.
func (r *Read) Size() (n int, signed, bigEndian bool) {
	switch r.Fn {
	case KwInt8, KwInt8BE:
		n, signed = 1, true
	case KwInt16, KwInt16BE:
		n, signed = 2, true
	case KwInt32, KwInt32BE:
		n, signed = 4, true
	case KwUint8, KwUint8BE:
		n = 1
	case KwUint16, KwUint16BE:
		n = 2
	default:
		n = 4
	}
	switch r.Fn {
	case KwInt8BE, KwInt16BE, KwInt32BE, KwUint8BE, KwUint16BE, KwUint32BE:
		bigEndian = true
	}
	return
}

// QuantKind is the kind of a quantifier.
type QuantKind uint8

// Quantifier kinds.
const (
	QuantAll QuantKind = iota
	QuantAny
	QuantNone
	QuantN       // N of
	QuantPercent // N% of
)

// Quantifier is the `any`, `all`, `none`, `N` or `N%` of an of/for expression.
type Quantifier struct {
	Pos  Pos
	Kind QuantKind
	N    Expr
}

// SetItem is one element of a string or rule set: "$a", "$a*" (Wildcard,
// Name without '*'), "rule", "rule*".
type SetItem struct {
	Pos      Pos
	Name     string
	Wildcard bool
}

// Set is `them`, a parenthesised list of strings, or a list of rules.
type Set struct {
	Pos   Pos
	Them  bool
	Rules bool // items are rule names
	Items []SetItem
	// Strings (string sets) or RuleRefs (rule sets) are the members after
	// expansion by the checker.
	Strings  []*String
	RuleRefs []*Rule
}

// Of is `quant of set [at e | in (r)]`.
type Of struct {
	node
	Quant Quantifier
	Set   *Set
	At    Expr
	In    *Range
}

// ForOf is `for quant of set : (body)`; inside Body, "$", "#", "@" and "!"
// without a name refer to the current string.
type ForOf struct {
	node
	Quant Quantifier
	Set   *Set
	Body  Expr
}

// IterKind is the kind of a for … in iterable.
type IterKind uint8

// Iterable kinds.
const (
	IterRange IterKind = iota // (lo..hi)
	IterList                  // (e1, e2, …): integers or strings
	IterExpr                  // a module array or dictionary
)

// ForIn is `for quant v1[, v2] in iterable : (body)`.
type ForIn struct {
	node
	Quant Quantifier
	Vars  []string
	Iter  IterKind
	Range *Range // IterRange
	List  []Expr // IterList
	X     Expr   // IterExpr
	Body  Expr
	// VarTypes are the loop variables' types, set by the checker.
	VarTypes []Type
}
