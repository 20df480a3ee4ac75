package yara

import "fmt"

// Pos is a position in a rule source.
type Pos struct {
	File string
	Line int // 1-based
	Col  int // 1-based, in bytes
}

func (p Pos) String() string {
	if p.File == "" {
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is a diagnostic tied to a source position. Its text has the form
// "file:line:col: message", as yara prints compiler errors.
type Error struct {
	Pos Pos
	Msg string
	Err error // underlying cause, if any (e.g. an include file's read error)
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

func errorf(pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Token is the kind of a lexical token.
type Token uint8

// The tokens.
const (
	EOF Token = iota
	Identifier
	StringID     // $a, $ (anonymous); Text holds the name with '$'
	StringIDWild // $a*, $*; Text holds the prefix with '$', without '*'
	StringCount  // #a
	StringOffset // @a
	StringLength // !a
	Int
	Float
	Text   // "..."; Text holds the decoded bytes
	Regexp // /.../is; Text holds the source between the slashes, Flags the flags

	LBrace    // {
	RBrace    // }
	LParen    // (
	RParen    // )
	LBrack    // [
	RBrack    // ]
	Colon     // :
	Assign    // =
	Comma     // ,
	Dot       // .
	DotDot    // ..
	Plus      // +
	Minus     // -
	Star      // *
	Backslash // \ (integer division)
	Percent   // %
	Amp       // &
	Pipe      // |
	Caret     // ^
	Tilde     // ~
	Shl       // <<
	Shr       // >>
	Lt        // <
	Le        // <=
	Gt        // >
	Ge        // >=
	Eq        // ==
	Ne        // !=

	keywordStart
	KwAll
	KwAnd
	KwAny
	KwASCII
	KwAt
	KwBase64
	KwBase64Wide
	KwCondition
	KwContains
	KwDefined
	KwEndsWith
	KwEntrypoint
	KwFalse
	KwFilesize
	KwFor
	KwFullword
	KwGlobal
	KwIContains
	KwIEndsWith
	KwIEquals
	KwImport
	KwIn
	KwInclude
	KwInt8
	KwInt16
	KwInt32
	KwInt8BE
	KwInt16BE
	KwInt32BE
	KwIStartsWith
	KwMatches
	KwMeta
	KwNocase
	KwNone
	KwNot
	KwOf
	KwOr
	KwPrivate
	KwRule
	KwStartsWith
	KwStrings
	KwThem
	KwTrue
	KwUint8
	KwUint16
	KwUint32
	KwUint8BE
	KwUint16BE
	KwUint32BE
	KwWide
	KwXor
	keywordEnd
)

var tokenNames = [...]string{
	EOF: "end of file", Identifier: "identifier", StringID: "string identifier",
	StringIDWild: "string identifier with wildcard", StringCount: "string count",
	StringOffset: "string offset", StringLength: "string length", Int: "integer number",
	Float: "floating point number", Text: "text string", Regexp: "regular expression",
	LBrace: "'{'", RBrace: "'}'", LParen: "'('", RParen: "')'", LBrack: "'['", RBrack: "']'",
	Colon: "':'", Assign: "'='", Comma: "','", Dot: "'.'", DotDot: "'..'", Plus: "'+'",
	Minus: "'-'", Star: "'*'", Backslash: "'\\'", Percent: "'%'", Amp: "'&'", Pipe: "'|'",
	Caret: "'^'", Tilde: "'~'", Shl: "'<<'", Shr: "'>>'", Lt: "'<'", Le: "'<='", Gt: "'>'",
	Ge: "'>='", Eq: "'=='", Ne: "'!='",
}

// keywords maps each reserved word to its token.
var keywords = map[string]Token{
	"all": KwAll, "and": KwAnd, "any": KwAny, "ascii": KwASCII, "at": KwAt,
	"base64": KwBase64, "base64wide": KwBase64Wide, "condition": KwCondition,
	"contains": KwContains, "defined": KwDefined, "endswith": KwEndsWith,
	"entrypoint": KwEntrypoint, "false": KwFalse, "filesize": KwFilesize, "for": KwFor,
	"fullword": KwFullword, "global": KwGlobal, "icontains": KwIContains,
	"iendswith": KwIEndsWith, "iequals": KwIEquals, "import": KwImport, "in": KwIn,
	"include": KwInclude, "int8": KwInt8, "int16": KwInt16, "int32": KwInt32,
	"int8be": KwInt8BE, "int16be": KwInt16BE, "int32be": KwInt32BE,
	"istartswith": KwIStartsWith, "matches": KwMatches, "meta": KwMeta, "nocase": KwNocase,
	"none": KwNone, "not": KwNot, "of": KwOf, "or": KwOr, "private": KwPrivate,
	"rule": KwRule, "startswith": KwStartsWith, "strings": KwStrings, "them": KwThem,
	"true": KwTrue, "uint8": KwUint8, "uint16": KwUint16, "uint32": KwUint32,
	"uint8be": KwUint8BE, "uint16be": KwUint16BE, "uint32be": KwUint32BE, "wide": KwWide,
	"xor": KwXor,
}

var keywordNames = func() map[Token]string {
	m := make(map[Token]string, len(keywords))
	for k, v := range keywords {
		m[v] = k
	}
	return m
}()

func (t Token) String() string {
	if t > keywordStart && t < keywordEnd {
		return "'" + keywordNames[t] + "'"
	}
	if int(t) < len(tokenNames) && tokenNames[t] != "" {
		return tokenNames[t]
	}
	return fmt.Sprintf("Token(%d)", t)
}

// IsKeyword reports whether t is a reserved word.
func (t Token) IsKeyword() bool { return t > keywordStart && t < keywordEnd }
