// Package bundle builds and reads glassav's signature bundles: versioned,
// byte-for-byte reproducible archives of database files (ClamAV formats and
// YARA rules) with a manifest of their hashes.
//
// A bundle is a POSIX ustar archive whose first member is MANIFEST:
//
//	glassav-bundle/v1
//	version <n>
//	<hex sha256>  <size>  <name>
//	...
//
// one line per file, sorted by name. The other members follow in name
// order; every header has mtime 0, uid and gid 0, empty user and group
// names and mode 0644, there are no directories, and no PAX headers unless
// a name is too long for ustar. The same files therefore always give the
// same bytes, whatever the clock, umask, time zone or file order of the
// machine that built them, so anyone can rebuild a release and compare its
// hash with the one in the transparency log.
//
// A delta bundle holds the MANIFEST of the new version (the full list) and
// only the files that are new or changed since an older version; a file
// absent from the new MANIFEST is deleted. Applying a delta takes the older
// version's files plus the delta's and checks every hash of the MANIFEST.
//
// Names are relative slash paths of printable ASCII without spaces,
// backslashes, "." or ".." elements. Build takes only the top level of a
// source directory, because a database directory is read that way by the
// scanner and the daemon.
//
// Bundles arrive from untrusted mirrors: Read enforces Limits on member
// count and sizes before it allocates, refuses anything but regular files,
// duplicate or unsorted names, members absent from the MANIFEST, and
// members whose hash differs from it.
//
// Official ClamAV databases enter a bundle through ImportClamAV, which
// checks ClamAV's own signatures on every .cvd/.cld and .cdiff (package
// clamav) before a file is accepted. Check test-compiles a set of files
// the way the scanner will load them, so that a publisher cannot publish,
// and an installation cannot install, rules that do not compile.
package bundle
