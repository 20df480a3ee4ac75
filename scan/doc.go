// Package scan walks paths and scans the files it finds with a pool of
// workers, applying clamscan's selection rules (symbolic links, exclusion
// patterns, /proc, empty and special files) and per-file limits, and emits
// one report.Object per path in walk order.
//
// Order. The walker visits arguments in the order given and directory
// entries sorted by name (clamscan uses the unsorted readdir order). Files
// are scanned in parallel, but results are emitted in walk order, so the
// output is the same for any number of workers and each object's lines are
// written whole by one goroutine. A bounded window of objects in flight
// keeps memory flat: a slow large file holds back the printing of the
// objects after it, never the scanning of more than the window.
//
// Recursion. glassav always descends into subdirectories (clamscan needs
// -r), down to Options.MaxDirRecursion levels.
//
// Reading. Files are read into memory (one reused buffer per worker) rather
// than mapped: a mapped file that another process truncates faults on
// access and would crash the scanner, and reading costs little next to
// matching.
package scan
