// Package report defines the one result schema every glassav front end
// emits (the scan command now; the daemon and the HTTP API later) and writes
// it in two forms: clamscan-compatible text and JSON lines.
//
// A scan produces a stream of Object records, one per path looked at, and
// ends with one Summary record. In JSON each record is one line, told apart
// by its "record" field:
//
//	{"record":"object","path":"t/bad.txt","status":"found","detections":[{"name":"Eicar-Test-Signature","database":"builtin:glassav.ndb","line":3,"kind":"body"}],"type":"CL_TYPE_TEXT_ASCII","size":68}
//	{"record":"summary","known_viruses":1,"engine_version":"0.1.0","directories":1,"files":1,"infected":1,...}
//
// Paths are arbitrary bytes on Unix; JSON strings are UTF-8. A path that is
// not valid UTF-8 is written with each invalid byte shown as \xNN in "path"
// and its exact bytes, base64-encoded, in "path_b64"; readers use
// Object.RawPath to get the bytes back.
//
// The text form reproduces clamscan 1.4.6 line for line: "path: OK",
// "path: Name FOUND", "path: Empty file", the stderr WARNING lines and the
// "----------- SCAN SUMMARY -----------" block, so scripts written for
// clamscan keep working.
package report
