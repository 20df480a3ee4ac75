// Package clamd serves glassav's engine over the clamd socket protocol, so
// that every clamd client (clamdscan, clamonacc, pyclamd, mail filters, the
// many INSTREAM libraries) works unchanged against glassav, and over a small
// HTTP API for clients that do not speak clamd.
//
// The wire behaviour follows ClamAV 1.4's clamd byte for byte: the three
// framings (z-prefixed and NUL-terminated, n-prefixed and LF-terminated,
// and the old unprefixed one-command-per-packet form), prefix matching of
// command names in clamd's table order, the reply strings and their
// terminators, the INSTREAM quota checked on each chunk header, FILDES
// descriptors passed with SCM_RIGHTS, and IDSESSION's numbered replies.
// The differential tests compare our replies with a real clamd's.
//
// Rules are held in a Database that reloads beside the serving generation
// and swaps a pointer: a scan keeps the generation it started with, no scan
// waits for a reload, and a database that fails to load leaves the old one
// serving.
//
// Differences from clamd, deliberate:
//   - Connections are goroutines, not poll slots: idle clients cost a few
//     KiB each and never hold up others, so accept does not pause at
//     MaxQueue. MaxThreads bounds the scans that run at once; further scans
//     wait for a slot. MaxQueue bounds the outstanding commands of one
//     IDSESSION.
//   - A client that breaks off an INSTREAM (truncated chunk, or silence for
//     ReadTimeout) is told so in an ERROR line; clamd just closes.
//   - Directories are walked in name order (package scan), clamd's in
//     readdir order: CONTSCAN lines come in another order, and SCAN of a
//     directory with several infected files may name another first one.
//   - INSTREAM data is kept in memory up to spoolThreshold and spooled to an
//     unlinked temporary file beyond it; it is read back into memory only
//     while a scan slot is held, so memory is bounded by MaxThreads times
//     StreamMaxLength, as in clamd.
//   - glassav does not fork into the background: it always runs in the
//     foreground, as systemd wants.
package clamd
