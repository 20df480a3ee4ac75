package exe

import "github.com/glassav/glassav/internal/winord"

// ordinalName names a function imported by ordinal as ClamAV does when it
// hashes an import table, so .imp signatures of programs that import
// socket or OLE automation functions by ordinal use their names.
func ordinalName(dll string, ord uint16) string { return winord.Name(dll, ord) }
