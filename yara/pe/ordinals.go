package pe

import "github.com/glassav/glassav/internal/winord"

// OrdinalName returns the name yara gives to function ordinal ord of
// library dll (yara's ord_lookup, from pefile's tables): the export's name
// for ws2_32.dll, wsock32.dll and oleaut32.dll, "ordN" otherwise. ClamAV
// names them from the same tables (package winord).
func OrdinalName(dll []byte, ord uint16) []byte { return []byte(winord.Name(string(dll), ord)) }
