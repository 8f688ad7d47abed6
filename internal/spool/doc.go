// Package spool is a segmented write-ahead log on disk: the Logger appends
// every accepted event to it before the logging call returns, and the store
// and each sink read it at their own pace.
//
// # Format
//
// A spool is a directory of segment files, named by their number in
// hexadecimal (0000000000000000.seg, ...), each of a fixed size
// (Options.SegmentBytes) and mapped into memory, and one ledger file per
// reader. Files are created 0600.
//
// A segment starts with the 8 bytes "AUDSPL01", then holds records, each
// framed as
//
//	uint32 length (little endian, > 0)
//	uint32 CRC-32C (Castagnoli) of the 4 length bytes and the payload
//	payload
//
// and ends at the first zero length or at the end of the file. The
// checksum covers the length, so a torn length is caught like a torn
// payload (as in Vector's disk buffer, which checksums each record with
// CRC-32C, and unlike Fluent Bit's chunks, which checksum a whole chunk).
// On open, the first record whose frame does not fit or whose checksum
// fails ends the segment: what follows is zeroed, and counted in
// [Recovery] (a region counts as one record, since its framing cannot be
// trusted).
//
// A ledger holds its reader's acknowledged position (segment number and
// offset, 8 bytes) and the CRC-32C of those bytes. A missing or corrupt
// ledger makes its reader start from the oldest segment kept: records are
// then delivered again, never lost. A segment is deleted once every reader
// has acknowledged a position beyond it.
//
// # Durability
//
// Append copies the record into the shared mapping, so once it returns the
// record is in the OS page cache and survives a crash of the process. The
// [Sync] policy decides when it reaches stable storage.
package spool
