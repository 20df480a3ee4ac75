// Package yara is glassav's front end for YARA rules.
//
// The language accepted is YARA 4.2 plus the cheap additions of 4.3–4.5:
// negated hex bytes (~41, ~?1), `of … at`, loops over string enumerations
// (`for any s in ("a", "b")`) and `$_`-prefixed strings that may stay
// unreferenced.
//
// The package works in stages, one per file, in the manner of regexp/syntax:
//
//	lex.go    source bytes → tokens (Lexer), with file:line:col positions
//	hex.go    the hex-string sublanguage `{ 4D 5A ?? [2-4] (01 | 02) }`
//	parse.go  tokens → abstract syntax tree (ast.go), includes resolved
//	check.go  name resolution, typing, constant folding and the rules
//	          yara enforces at compile time (unreferenced strings, bad
//	          modifiers, integer overflow, …)
//	re.go     validation of regular-expression syntax as yara's compiler does it
//	compile.go  checked rules → Rules: strings lowered into one match.Matcher,
//	          conditions compiled into closures (eval_expr.go, eval_loop.go)
//	eval.go   one scan: lazy search (conditions decided by filesize, header
//	          reads or modules never search), yara's undefined semantics
//	save.go   the compiled form (glassav yarac): Save and Load
//
// The checked tree is shaped for compilation: patterns keep their hex
// tokens and regexp source undigested until strings.go lowers them into
// match.Node trees, identifiers are resolved to what they name, and every
// expression carries its static type, so conditions compile into typed
// closures with no type tests left for scan time. A host with its own
// matcher (the engine) takes Rules.Patterns and calls Rules.Evaluate with
// its hits; Rules.Scan does both with the rules' own matcher.
//
// All entry points are safe on hostile input: recursion depth, expression
// size, include depth and identifier length are bounded, and errors carry
// positions instead of panicking.
package yara
