// Package clamav reads ClamAV signature databases and lowers them into the
// intermediate form of package ir.
//
// Formats, by extension:
//
//	.hdb .hsb .hdu .hsu   hash:size:name[:minfl[:maxfl]]  whole-object MD5/SHA1/SHA256
//	.mdb .msb .mdu .msu   size:hash:name[...]             PE section hashes
//	.imp                  hash:size:name[...]             PE import table hashes
//	.fp .sfp              hdb syntax                      allow list (ir.HashAllow)
//	.ndb .ndu             Name:Target:Offset:Hex[:MinFL[:MaxFL]]
//	.ldb .ldu             Name;TDB;Expression;Subsig0;...  logical signatures
//	.db                   Name=Hex                        legacy body signatures
//	.ign .ign2            SigName[:md5]                   ir.Set.Ignored
//	.ftm                  magictype:offset:magic:name:rtype:type  ir.Set.FileTypes
//	.cvd .cld .cud        signed/unsigned containers of the above (ReadContainer)
//
// Other ClamAV formats (.cdb .crb .pdb .gdb .wdb .idb .cfg .cbc .pwdb
// .ioc .yar .yara .sdb .zmd .rmd .cat) are skipped with one warning per file.
// The *u variants are PUA databases, loaded only with Options.DetectPUA.
//
// The loader follows clamscan 1.4 closely, because a database that clamscan
// loads must load here and one it rejects must be rejected: ParseHex applies
// ClamAV's acceptance rules for body signatures (two consecutive static
// bytes per part, three bytes for purely static .ndb/.db signatures, the
// shapes its prefilter can index), offsets are checked against the target
// type, and a malformed line fails the whole load with an error naming the
// format, file, line and reason.
//
// Counting and names follow clamscan too. ir.Set.Signatures is clamscan's
// "Known viruses": lines outside the functionality level (Options.FLevel),
// for target types above 14, or with unknown logical-signature attributes
// are left out silently and not counted (ir.Set.Skipped records them);
// signatures glassav cannot evaluate yet (PCRE, byte-compare, image-hash and
// macro subsignatures, icon groups, HandlerType, unsupported formats) are
// counted, skipped, and recorded in Skipped and Warnings. Names get
// ".UNOFFICIAL" appended unless they come from a signed container
// (Options.Official), as clamscan reports them; PUA names are kept as
// written. Ignore lists (.ign, .ign2) drop matching signatures loaded
// after them and, like clamscan, a directory loads its ignore lists first;
// they are also kept in ir.Set.Ignored for the engine.
package clamav
