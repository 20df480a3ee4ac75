// Package pe parses Portable Executable files the way yara 4.2.3's pe
// module reads them, for the YARA pe module (package yara's mod_pe.go) and
// anyone else who wants yara's view of a PE file: headers, sections, data
// directories, the Rich header, the CodeView debug path, resources and
// version information, imports (standard and delayed), exports, the
// overlay and the two checksums.
//
// The values are yara's, quirks included, because rules written against
// yara test them: a function index of import_details that continues from
// one library to the next, an export ordinal lookup that compares with the
// number of exports rather than the ordinal range, an entry point of -1
// when its RVA maps to no file offset, and so on. Each quirk is described
// where it is reproduced.
//
// The input is untrusted. Every read is bounds-checked against the data,
// and every count is capped (sections, imports, exports, resources, and
// the total work of the resource walk), so parsing takes time and memory
// proportional to the input at most. Malformed structures leave the
// corresponding fields unset; Parse never panics.
package pe
