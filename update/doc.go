// Package update installs signature database releases from a glassav
// transparency log, so that an installation only ever runs databases that
// everyone else can see too.
//
// Update runs these named steps, in order; Config.Hook is called before
// each (the crash-safety test kills the process there):
//
//	fetch-checkpoint   read the mirror's signed checkpoint
//	verify-checkpoint  publisher signature, k of n witness cosignatures, age
//	consistency        the new tree extends the last one this installation
//	                   verified (trust/latest-checkpoint); a rollback or a
//	                   fork is refused and both notes kept as evidence
//	replay-keys        apply the key leaves appended since the last online
//	                   update, then verify the checkpoint again under the
//	                   resulting keys (a key revoked inside the new tree
//	                   cannot sign for it)
//	find-release       the newest release leaf of the log
//	inclusion          that leaf is in the verified tree
//	download           the bundle (or a delta from the installed version),
//	                   resumed with Range, never more than the leaf's size
//	verify-hash        SHA-256 and size of the download equal the leaf's
//	unpack             every file checked against the MANIFEST, whose hash
//	                   must equal the leaf's
//	test-compile       the databases load and compile (bundle.CheckDir)
//	install            the checked directory renamed to versions/<version>
//	switch             previous -> the old version, current -> the new one,
//	                   each by rename(2) of a new symbolic link
//	save-checkpoint    the verified checkpoint and key state saved
//	prune              versions other than current and previous removed
//
// The state directory:
//
//	versions/<version>/       installed, complete, hash-checked databases
//	current -> versions/<v>   what the scanner and daemon read
//	previous -> versions/<v>  kept for Rollback
//	trust/latest-checkpoint   the last verified checkpoint (never deleted)
//	trust/latest-release      the newest release leaf and its index
//	trust/keys                the key leaves replayed so far
//	trust/replayed            how many log leaves they were replayed from
//	trust/evidence/           both notes of a detected fork or rollback
//	trust/hold                the version a Rollback moved away from
//	trust/lock                held (flock) by the running update
//	download/                 partial downloads
//
// Every file is written to a temporary name, synced and renamed, and every
// directory is complete before it gets its final name, so a crash at any
// point leaves either the old or the new database in place and the next
// run completes the update. Nothing is installed unless every check
// passed.
//
// Offline installs the same way from a bundle and its proof file, with
// no network: the proof's checkpoint is verified against the pinned keys,
// and its consistency with the last verified tree is checked with the
// consistency proofs the proof file carries (translog.Proof). A proof
// file carries no key leaves, so an offline update cannot learn of a
// rotation or revocation; the next online update replays the key leaves
// the offline ones skipped.
package update
