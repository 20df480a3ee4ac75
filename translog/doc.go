// Package translog is glassav's transparency log of signature releases:
// an append-only Merkle tree (RFC 6962 hashing, golang.org/x/mod/sumdb/tlog)
// published as static files, signed checkpoints (c2sp.org/tlog-checkpoint)
// cosigned by witnesses (c2sp.org/tlog-cosignature, cosignature/v1), and
// the client checks that make a targeted or rewritten release visible:
// signatures under a pinned Policy, consistency with the last verified
// tree, inclusion of every installed release.
//
// # Static tree
//
// A publisher's Log writes, into its public directory:
//
//	checkpoint                   the signed checkpoint note (publisher signature + witness cosignatures)
//	tile/8/<L>/<NNN>[.p/<W>]     hash tiles, tlog.Tile.Path layout, height 8
//	tile/8/data/<NNN>[.p/<W>]    data tiles: the leaves of level-0 tile NNN
//
// Tiles are never rewritten; partial tiles stay after their full tile
// appears, and a client missing a partial tile cuts it from the full one.
// The publisher's private state (leaves, tree, signed history, a lock)
// lives in a separate state directory.
//
// # Data tile framing
//
// A leaf is text that ends in exactly one "\n" and has no empty line
// (CheckLeaf). A data tile is its leaves in order, each followed by one
// more "\n", so every leaf ends with an empty line: the sumdb framing.
// SplitRecords cuts at each "\n\n", which cannot occur inside a leaf. The
// leaf hash is tlog.RecordHash of the leaf bytes including their final
// "\n".
//
// # Checkpoints
//
//	<origin>
//	<tree size>
//	<base64 root hash>
//	time <unix seconds>
//
// followed by a blank line and note signature lines: the publisher's plain
// Ed25519 note signature and witnesses' cosignature/v1 lines (timestamp
// and Ed25519 signature over "cosignature/v1\ntime <t>\n" + the text).
// The time line is the publisher's signing time.
//
// # Leaves
//
// glassav-release/v1 leaves describe a bundle (Release); glassav-key/v1
// leaves add or revoke publisher and witness keys (KeyChange, replayed into
// a KeyState). Only the canonical text of each is accepted.
//
// # Verification
//
// Policy.Verify requires a signature by a trusted, unrevoked publisher key,
// Threshold cosignatures by distinct trusted witnesses, and freshness
// within MaxAge: of the publisher time when Threshold is 0, else of the
// Threshold-th newest cosignature, so a frozen feed is refused unless k
// witnesses vouch that it is current. Key leaves change the trusted set
// only for checkpoints verified after they were replayed.
//
// # Proof files
//
// Proof.Format writes the offline proof that a leaf is in the log:
//
//	glassav-proof/v1
//	index <leaf index>
//	leaf <n>
//	<n bytes: the leaf>
//	h <base64 hash>           inclusion proof, one line per hash
//	consistency <old size>    zero or more sections, each followed by
//	h <base64 hash>           the consistency proof from that size
//	checkpoint
//	<the signed checkpoint note, to end of file>
//
// The consistency sections cover the publisher's most recent earlier
// signed trees, so an air-gapped client can check that the new checkpoint
// extends the last one it saw.
package translog
