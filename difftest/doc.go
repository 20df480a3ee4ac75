// Package difftest checks glassav against ClamAV's clamscan 1.4.6 by
// differential testing: it generates signature databases from real files on
// the machine (so every signature has something to find), runs both scanners
// over the same files with the same database, and compares the sets of
// (file, signature name) detections.
//
// The generators are exported so the benchmarks under bench/ can build
// feed-shaped databases with them. Everything is deterministic for a given
// seed and the same set of files on disk; the files differ between machines,
// so the databases do too.
//
// The generators cover one ClamAV feature each: hash signatures (.hdb, .hsb,
// .mdb, .msb, .imp), every body-signature operator (??, nibbles, *, {n},
// {-n}, {n-}, {n-m}, [n-m], alternatives, negated alternatives, boundaries),
// every .ndb target type and offset form that applies to files found here,
// logical signatures (.ldb) with counts, modifiers and target description
// keys, and near-miss negatives. See Features.
package difftest
