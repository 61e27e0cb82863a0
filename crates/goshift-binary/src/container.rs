//! Executable containers: just enough of ELF, Mach-O, PE, XCOFF and Plan 9 a.out to find
//! Go's data.
//!
//! Every read is bounds-checked against the file; a header that points outside the file makes
//! the container malformed, never a panic. The readers see the file through a [`View`] that
//! may hold only some of its bytes (see [`view`]). Addresses are virtual addresses, read
//! through the file's load segments exactly as Go's `debug/buildinfo` does, so a range ends
//! at the end of its segment's file data.

mod elf;
mod macho;
mod pe;
mod plan9;
mod sections;
pub(crate) mod view;
mod xcoff;

use std::fmt;

use crate::ReadError;
pub(crate) use view::{Bytes, Fetched, View};

/// The kind of executable a build-info blob was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutableFormat {
    /// ELF (Linux, BSDs).
    Elf,
    /// Mach-O (macOS, iOS), thin or the first slice of a fat file.
    #[serde(rename = "macho")]
    MachO,
    /// PE/COFF (Windows).
    Pe,
    /// XCOFF (AIX).
    Xcoff,
    /// Plan 9 a.out.
    Plan9,
}

impl fmt::Display for ExecutableFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Elf => "ELF",
            Self::MachO => "Mach-O",
            Self::Pe => "PE",
            Self::Xcoff => "XCOFF",
            Self::Plan9 => "Plan 9 a.out",
        })
    }
}

impl ExecutableFormat {
    /// The error for a damaged container of this format.
    pub(crate) fn malformed(self, what: &'static str) -> ReadError {
        ReadError::Malformed { format: self, what }
    }
}

/// Byte order of a container's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

impl Endian {
    pub(crate) fn u16<'a>(self, data: impl Bytes<'a>, offset: u64) -> Option<u16> {
        let bytes: [u8; 2] = bytes_at(data, offset, 2)?.try_into().ok()?;
        Some(match self {
            Self::Little => u16::from_le_bytes(bytes),
            Self::Big => u16::from_be_bytes(bytes),
        })
    }

    pub(crate) fn u32<'a>(self, data: impl Bytes<'a>, offset: u64) -> Option<u32> {
        let bytes: [u8; 4] = bytes_at(data, offset, 4)?.try_into().ok()?;
        Some(match self {
            Self::Little => u32::from_le_bytes(bytes),
            Self::Big => u32::from_be_bytes(bytes),
        })
    }

    pub(crate) fn u64<'a>(self, data: impl Bytes<'a>, offset: u64) -> Option<u64> {
        let bytes: [u8; 8] = bytes_at(data, offset, 8)?.try_into().ok()?;
        Some(match self {
            Self::Little => u64::from_le_bytes(bytes),
            Self::Big => u64::from_be_bytes(bytes),
        })
    }

    /// Reads a target pointer of `size` bytes (4 or 8).
    pub(crate) fn pointer<'a>(self, data: impl Bytes<'a>, offset: u64, size: u8) -> Option<u64> {
        match size {
            4 => self.u32(data, offset).map(u64::from),
            8 => self.u64(data, offset),
            _ => None,
        }
    }
}

/// `len` bytes at `offset`, or `None` when they are not there.
pub(crate) fn bytes_at<'a>(data: impl Bytes<'a>, offset: u64, len: u64) -> Option<&'a [u8]> {
    data.range(offset, len)
}

/// A piece of the file mapped at a virtual address.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    pub(crate) address: u64,
    pub(crate) offset: u64,
    pub(crate) file_size: u64,
}

/// A file range (offset, size).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileRange {
    pub(crate) offset: u64,
    pub(crate) size: u64,
}

/// The parsed parts of one executable image that the readers need.
#[derive(Debug)]
pub(crate) struct Image<'a> {
    pub(crate) format: ExecutableFormat,
    /// The image's bytes (one slice of a fat Mach-O file).
    pub(crate) data: View<'a>,
    pub(crate) endian: Endian,
    /// Address-mapped file ranges, in header order.
    pub(crate) segments: Vec<Segment>,
    /// Where the writable data starts (address, size): the place Go's linker puts the blob.
    pub(crate) data_start: Option<(u64, u64)>,
    /// ELF note segments (`PT_NOTE`), with their alignment.
    pub(crate) notes: Vec<(FileRange, u64)>,
    /// The text section, where non-ELF linkers put the raw build-ID marker.
    pub(crate) text: Option<FileRange>,
}

impl<'a> Image<'a> {
    /// Detects the container from its first bytes and parses its headers.
    pub(crate) fn parse(data: View<'a>) -> Result<Self, ReadError> {
        let head = data
            .get(0, data.len().min(4))
            .ok_or(ReadError::UnknownFormat)?;
        match head {
            [0x7f, b'E', b'L', b'F', ..] => elf::parse(data),
            [b'M', b'Z', ..] => pe::parse(data),
            [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..] | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..] => {
                macho::parse(data)
            }
            [0xca, 0xfe, 0xba, 0xbe | 0xbf, ..] => macho::parse_fat(data),
            [0x01, 0xdf | 0xf7, ..] => xcoff::parse(data),
            head if plan9::is_magic(head) => plan9::parse(data),
            _ => Err(ReadError::UnknownFormat),
        }
    }

    /// Returns true if and only if `data` starts like a container this crate reads.
    pub(crate) fn looks_executable(head: &[u8]) -> bool {
        matches!(
            head,
            [0x7f, b'E', b'L', b'F', ..]
                | [b'M', b'Z', ..]
                | [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..]
                | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..]
                | [0xca, 0xfe, 0xba, 0xbe | 0xbf, ..]
                | [0x01, 0xdf | 0xf7, ..]
        ) || plan9::is_magic(head)
    }

    /// Up to `size` bytes at virtual address `address`, stopping at the end of the segment's
    /// file data. `None` if no segment maps the address.
    pub(crate) fn read(&self, address: u64, size: u64) -> Option<&'a [u8]> {
        self.segments.iter().find_map(|segment| {
            let end = segment.address.checked_add(segment.file_size)?;
            if address < segment.address || address >= end {
                return None;
            }
            let skip = address - segment.address;
            let len = size.min(end - address);
            let offset = segment.offset.checked_add(skip)?;
            // A segment whose file range is cut short by the end of the file is read up to
            // the end of the file, as a short read.
            let available = self.data.len().checked_sub(offset)?;
            bytes_at(self.data, offset, len.min(available))
        })
    }
}

/// A NUL-padded fixed-size name (Mach-O segment and section names, PE section names).
pub(crate) fn fixed_name(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}
