// Package filetype detects what kind of content an object holds, with
// ClamAV's type names (CL_TYPE_*), so ClamAV signatures that target a type or
// a container type behave as in ClamAV.
package filetype

// Type is a detected file type. The zero value means "not yet detected".
type Type uint16
