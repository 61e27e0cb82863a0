//! Finding and decoding the build-info blob (`go:buildinfo`).
//!
//! The blob is a 32-byte header starting with [`MAGIC`], 16-byte aligned in the writable
//! data, followed (Go 1.18+) by two length-prefixed strings: the Go version and the modinfo
//! text. Go 1.13–1.17 binaries instead hold two pointers to Go string headers. The whole
//! data range is searched, as the newer `debug/buildinfo` reader does.

use crate::ReadError;
use crate::container::{Endian, Image};

/// The blob's magic: `"\xff Go buildinf:"`.
pub const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
const HEADER_SIZE: u64 = 32;
const ALIGN_USIZE: usize = 16;
const FLAG_BIG_ENDIAN: u8 = 0x1;
const FLAG_INLINE: u8 = 0x2;
/// The sentinels around the modinfo text (`cmd/go/internal/modload`).
const SENTINEL_LEN: usize = 16;

/// The two strings the blob carries, still raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawBuildInfo<'a> {
    /// The Go version, such as `go1.22.10`.
    pub go_version: &'a [u8],
    /// The modinfo text without its sentinels, empty for a build without modules.
    pub modinfo: &'a [u8],
}

/// Finds the blob in an image and returns its strings.
pub(crate) fn read<'a>(image: &Image<'a>) -> Result<RawBuildInfo<'a>, ReadError> {
    let (start, size) = image.data_start.ok_or(ReadError::NoBuildInfo)?;
    // Go looks for the magic at multiples of 16 bytes from the start of the data, not at
    // aligned addresses: the two differ where the data does not start aligned (a Plan 9
    // a.out's data follows its header and text).
    let range = image.read(start, size).ok_or(ReadError::NoBuildInfo)?;
    let offset = find_magic(range).ok_or(ReadError::NoBuildInfo)?;
    let header = range
        .get(offset..)
        .and_then(|rest| rest.get(..32))
        .ok_or(ReadError::NoBuildInfo)?;
    let address = start + offset as u64;
    let pointer_size = header[14];
    let flags = header[15];
    let (go_version, modinfo) = if flags & FLAG_INLINE != 0 {
        let (version, next) = inline_string(image, address + HEADER_SIZE)?;
        let (modinfo, _) = inline_string(image, next)?;
        (version, modinfo)
    } else {
        let endian = if flags & FLAG_BIG_ENDIAN != 0 {
            Endian::Big
        } else {
            Endian::Little
        };
        if pointer_size != 4 && pointer_size != 8 {
            return Err(ReadError::NoBuildInfo);
        }
        let version_pointer = endian
            .pointer(header, 16, pointer_size)
            .ok_or(ReadError::NoBuildInfo)?;
        let modinfo_pointer = endian
            .pointer(header, 16 + u64::from(pointer_size), pointer_size)
            .ok_or(ReadError::NoBuildInfo)?;
        (
            pointer_string(image, endian, pointer_size, version_pointer),
            pointer_string(image, endian, pointer_size, modinfo_pointer),
        )
    };
    if go_version.is_empty() {
        return Err(ReadError::NoBuildInfo);
    }
    Ok(RawBuildInfo {
        go_version,
        modinfo: strip_sentinels(modinfo),
    })
}

/// The offset of the first 16-byte-aligned magic in `range`, if any.
pub fn find_magic(range: &[u8]) -> Option<usize> {
    range
        .chunks(ALIGN_USIZE)
        .position(|chunk| chunk.starts_with(MAGIC))
        .map(|index| index * ALIGN_USIZE)
}

/// Removes the 16-byte sentinels, as `debug/buildinfo` does: only when the text is long
/// enough and a newline precedes the end sentinel; otherwise there is no module information.
pub fn strip_sentinels(modinfo: &[u8]) -> &[u8] {
    let len = modinfo.len();
    if len > 2 * SENTINEL_LEN && modinfo[len - SENTINEL_LEN - 1] == b'\n' {
        &modinfo[SENTINEL_LEN..len - SENTINEL_LEN]
    } else {
        &[]
    }
}

/// A uvarint length and that many bytes at `address`; returns the string and the address
/// after it.
fn inline_string<'a>(image: &Image<'a>, address: u64) -> Result<(&'a [u8], u64), ReadError> {
    let head = image.read(address, 10).ok_or(ReadError::NoBuildInfo)?;
    let (length, used) = uvarint(head).ok_or(ReadError::NoBuildInfo)?;
    let start = address + used as u64;
    if length == 0 {
        return Ok((&[], start));
    }
    let bytes = image.read(start, length).ok_or(ReadError::NoBuildInfo)?;
    if (bytes.len() as u64) < length {
        return Err(ReadError::NoBuildInfo);
    }
    Ok((bytes, start + length))
}

/// Decodes an unsigned LEB128 value of at most 10 bytes (Go's `binary.Uvarint`).
pub(crate) fn uvarint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (index, &byte) in bytes.iter().enumerate().take(10) {
        if index == 9 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte < 0x80 {
            return Some((value, index + 1));
        }
    }
    None
}

/// Reads a Go string header `{data, len}` at `address`; empty on any failure, like Go.
fn pointer_string<'a>(image: &Image<'a>, endian: Endian, size: u8, address: u64) -> &'a [u8] {
    let read = || {
        let header = image.read(address, 2 * u64::from(size))?;
        let data = endian.pointer(header, 0, size)?;
        let len = endian.pointer(header, u64::from(size), size)?;
        let bytes = image.read(data, len)?;
        (bytes.len() as u64 == len).then_some(bytes)
    };
    read().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uvarint_matches_go() {
        assert_eq!(uvarint(&[0x08]), Some((8, 1)));
        assert_eq!(uvarint(&[0xf0, 0x01]), Some((240, 2)));
        assert_eq!(uvarint(&[0x80]), None);
        assert_eq!(uvarint(&[0xff; 10]), None);
        assert_eq!(
            uvarint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Some((u64::MAX, 10))
        );
    }

    #[test]
    fn magic_must_be_aligned() {
        let mut range = vec![0u8; 64];
        range[8..22].copy_from_slice(MAGIC);
        assert_eq!(find_magic(&range), None);
        range[32..46].copy_from_slice(MAGIC);
        assert_eq!(find_magic(&range), Some(32));
    }

    #[test]
    fn sentinels_need_a_newline_before_the_end() {
        let body = b"path\tx\n";
        let mut framed = vec![b'A'; 16];
        framed.extend_from_slice(body);
        framed.extend_from_slice(&[b'B'; 16]);
        assert_eq!(strip_sentinels(&framed), body);
        framed[16 + body.len() - 1] = b'x';
        assert_eq!(strip_sentinels(&framed), b"");
        assert_eq!(strip_sentinels(b"short"), b"");
    }
}
