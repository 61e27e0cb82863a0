//! XCOFF (AIX), 32- and 64-bit, as Go's `internal/xcoff` reads it: big-endian headers,
//! sections mapped at their virtual addresses, the build information at the start of the
//! first `STYP_DATA` section.

use super::{Endian, ExecutableFormat, Image, View, sections};
use crate::ReadError;

/// `U802TOCMAGIC`: 32-bit XCOFF.
const MAGIC_32: u16 = 0x01df;
/// `U64_TOCMAGIC`: 64-bit XCOFF.
const MAGIC_64: u16 = 0x01f7;
const STYP_TEXT: u32 = 0x20;
const STYP_DATA: u32 = 0x40;

pub(super) fn parse(data: View<'_>) -> Result<Image<'_>, ReadError> {
    let endian = Endian::Big;
    let wide = match endian.u16(data, 0) {
        Some(MAGIC_32) => false,
        Some(MAGIC_64) => true,
        _ => return Err(ReadError::UnknownFormat),
    };
    let truncated = || ExecutableFormat::Xcoff.malformed("truncated file header");
    let sections = endian.u16(data, 2).ok_or_else(truncated)?;
    // The optional (auxiliary) header follows the file header; the section table follows it.
    let (header_size, optional_size, entry_size) = if wide {
        (24, endian.u16(data, 16).ok_or_else(truncated)?, 72)
    } else {
        (20, endian.u16(data, 16).ok_or_else(truncated)?, 40)
    };
    let table = sections::Table {
        format: ExecutableFormat::Xcoff,
        endian,
        offset: header_size + u64::from(optional_size),
        count: u64::from(sections),
        entry_size,
    };
    table.image(data, |entry| {
        let (address, size, offset, flags) = if wide {
            (
                endian.u64(entry, 16),
                endian.u64(entry, 24),
                endian.u64(entry, 32),
                endian.u32(entry, 64),
            )
        } else {
            (
                endian.u32(entry, 12).map(u64::from),
                endian.u32(entry, 16).map(u64::from),
                endian.u32(entry, 20).map(u64::from),
                endian.u32(entry, 36),
            )
        };
        let (Some(address), Some(size), Some(offset), Some(flags)) = (address, size, offset, flags)
        else {
            return Err(ExecutableFormat::Xcoff.malformed("truncated section header"));
        };
        Ok(sections::Section {
            address,
            memory_size: size,
            offset,
            file_size: size,
            // A section without file data (`.bss`) reads as zeros in Go; nothing is found
            // there.
            mapped: offset != 0,
            data: flags == STYP_DATA,
            text: flags == STYP_TEXT && offset != 0,
        })
    })
}
