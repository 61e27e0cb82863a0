//! Plan 9 a.out, as Go's `debug/plan9obj` reads it: a big-endian header of eight 32-bit words
//! (and a 64-bit entry point after it for 64-bit magics), then the text and data segments.
//! Addresses are file offsets, as in Go's `debug/buildinfo`.

use super::{Endian, ExecutableFormat, FileRange, Image, Segment, View};
use crate::ReadError;

/// `_MAGIC(0, 11)`: 386.
const MAGIC_386: u32 = (4 * 11) * 11 + 7;
/// `HDR_MAGIC | _MAGIC(0, 26)`: amd64.
const MAGIC_AMD64: u32 = (4 * 26) * 26 + 7 + MAGIC_64;
/// `_MAGIC(0, 20)`: arm.
const MAGIC_ARM: u32 = (4 * 20) * 20 + 7;
/// The flag of magics with the expanded (64-bit) header.
const MAGIC_64: u32 = 0x8000;

/// Returns true if and only if `head` starts with a Plan 9 magic Go reads.
pub(super) fn is_magic(head: &[u8]) -> bool {
    let Some(word) = head.get(..4) else {
        return false;
    };
    let magic = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
    matches!(magic, MAGIC_386 | MAGIC_AMD64 | MAGIC_ARM)
}

pub(super) fn parse(data: View<'_>) -> Result<Image<'_>, ReadError> {
    let endian = Endian::Big;
    let magic = endian.u32(data, 0).ok_or(ReadError::UnknownFormat)?;
    let truncated = || ExecutableFormat::Plan9.malformed("truncated header");
    let text_size = endian.u32(data, 4).ok_or_else(truncated)?;
    let data_size = endian.u32(data, 8).ok_or_else(truncated)?;
    let header_size: u64 = if magic & MAGIC_64 == 0 { 32 } else { 40 };
    if data.len() < header_size {
        return Err(truncated());
    }
    let text = Segment {
        address: header_size,
        offset: header_size,
        file_size: u64::from(text_size),
    };
    let data_offset = header_size + u64::from(text_size);
    let data_segment = Segment {
        address: data_offset,
        offset: data_offset,
        file_size: u64::from(data_size),
    };
    Ok(Image {
        format: ExecutableFormat::Plan9,
        data,
        // The header is big-endian; the blob's pointers (before Go 1.18) follow the
        // architecture, and 386, amd64 and arm are little-endian.
        endian: Endian::Little,
        segments: vec![text, data_segment],
        data_start: Some((data_offset, u64::from(data_size))),
        notes: Vec::new(),
        text: Some(FileRange {
            offset: header_size,
            size: u64::from(text_size),
        }),
    })
}
