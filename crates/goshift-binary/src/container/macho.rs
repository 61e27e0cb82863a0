//! Mach-O, 32- and 64-bit, both byte orders, and fat (universal) files.

use super::{Endian, ExecutableFormat, FileRange, Image, Segment, View, bytes_at, fixed_name};
use crate::ReadError;

const LC_SEGMENT: u32 = 0x1;
const LC_SEGMENT_64: u32 = 0x19;
const VM_PROT_READ_WRITE: u32 = 3;
const MAX_COMMANDS: u32 = 1 << 16;

fn malformed(what: &'static str) -> ReadError {
    ExecutableFormat::MachO.malformed(what)
}

/// A fat file: Go reads its first architecture.
pub(super) fn parse_fat(data: View<'_>) -> Result<Image<'_>, ReadError> {
    let endian = Endian::Big;
    let magic = endian
        .u32(data, 0)
        .ok_or_else(|| malformed("truncated fat header"))?;
    let count = endian
        .u32(data, 4)
        .ok_or_else(|| malformed("truncated fat header"))?;
    if count == 0 {
        return Err(malformed("the fat file has no architectures"));
    }
    // The first architecture entry follows the 8-byte header.
    let (offset, size) = if magic == 0xcafe_babf {
        (endian.u64(data, 16), endian.u64(data, 24))
    } else {
        (
            endian.u32(data, 16).map(u64::from),
            endian.u32(data, 20).map(u64::from),
        )
    };
    let (Some(offset), Some(size)) = (offset, size) else {
        return Err(malformed("truncated fat architecture table"));
    };
    let slice = data
        .sub(offset, size)
        .ok_or_else(|| malformed("the first architecture lies outside the file"))?;
    match bytes_at(slice, 0, size.min(4)).unwrap_or_default() {
        [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..] | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..] => parse(slice),
        _ => Err(malformed("the first architecture is not a Mach-O image")),
    }
}

/// A thin Mach-O image.
pub(super) fn parse(data: View<'_>) -> Result<Image<'_>, ReadError> {
    let (endian, wide) = match bytes_at(data, 0, 4) {
        Some([0xfe, 0xed, 0xfa, 0xce]) => (Endian::Big, false),
        Some([0xfe, 0xed, 0xfa, 0xcf]) => (Endian::Big, true),
        Some([0xce, 0xfa, 0xed, 0xfe]) => (Endian::Little, false),
        Some([0xcf, 0xfa, 0xed, 0xfe]) => (Endian::Little, true),
        _ => return Err(malformed("bad magic")),
    };
    let count = endian
        .u32(data, 16)
        .ok_or_else(|| malformed("truncated header"))?;
    if count > MAX_COMMANDS {
        return Err(malformed("too many load commands"));
    }
    let mut at: u64 = if wide { 32 } else { 28 };
    let mut segments = Vec::new();
    let mut data_start = None;
    let mut data_segment = None;
    let mut text = None;
    for _ in 0..count {
        let command = endian
            .u32(data, at)
            .ok_or_else(|| malformed("truncated load command"))?;
        let size = endian
            .u32(data, at + 4)
            .ok_or_else(|| malformed("truncated load command"))?;
        if size < 8 {
            return Err(malformed("a load command is smaller than its header"));
        }
        if command == LC_SEGMENT || command == LC_SEGMENT_64 {
            let segment = segment(data, endian, command == LC_SEGMENT_64, at)
                .ok_or_else(|| malformed("truncated segment command"))?;
            if segment.file_size != 0 {
                segments.push(Segment {
                    address: segment.address,
                    offset: segment.offset,
                    file_size: segment.file_size,
                });
                if data_segment.is_none()
                    && segment.address != 0
                    && segment.max_protection == VM_PROT_READ_WRITE
                    && segment.initial_protection == VM_PROT_READ_WRITE
                {
                    data_segment = Some((segment.address, segment.memory_size));
                }
            }
            for section in segment.sections {
                match section.name {
                    b"__go_buildinfo" if data_start.is_none() => {
                        data_start = Some((section.address, section.size));
                    }
                    b"__text" if text.is_none() => {
                        text = Some(FileRange {
                            offset: section.offset,
                            size: section.size,
                        });
                    }
                    _ => {}
                }
            }
        }
        at = at
            .checked_add(u64::from(size))
            .ok_or_else(|| malformed("load commands overflow"))?;
    }
    Ok(Image {
        format: ExecutableFormat::MachO,
        data,
        endian,
        segments,
        data_start: data_start.or(data_segment),
        notes: Vec::new(),
        text,
    })
}

struct SegmentCommand<'a> {
    address: u64,
    memory_size: u64,
    offset: u64,
    file_size: u64,
    max_protection: u32,
    initial_protection: u32,
    sections: Vec<Section<'a>>,
}

struct Section<'a> {
    name: &'a [u8],
    address: u64,
    size: u64,
    offset: u64,
}

fn segment(data: View<'_>, endian: Endian, wide: bool, at: u64) -> Option<SegmentCommand<'_>> {
    let u32_at = |offset: u64| endian.u32(data, at.checked_add(offset)?);
    let word = |offset: u64| {
        let offset = at.checked_add(offset)?;
        if wide {
            endian.u64(data, offset)
        } else {
            endian.u32(data, offset).map(u64::from)
        }
    };
    let (address, memory_size, offset, file_size, protections, header, section_size) = if wide {
        (word(24)?, word(32)?, word(40)?, word(48)?, 56, 72, 80)
    } else {
        (word(24)?, word(28)?, word(32)?, word(36)?, 40, 56, 68)
    };
    let max_protection = u32_at(protections)?;
    let initial_protection = u32_at(protections + 4)?;
    let count = u32_at(protections + 8)?;
    if count > MAX_COMMANDS {
        return None;
    }
    let mut sections = Vec::new();
    for index in 0..u64::from(count) {
        let base = at.checked_add(header + index * section_size)?;
        let name = fixed_name(bytes_at(data, base, 16)?);
        let field = |offset: u64| {
            if wide {
                endian.u64(data, base + offset)
            } else {
                endian.u32(data, base + offset).map(u64::from)
            }
        };
        let (address, size, file_offset) = if wide {
            (
                field(32)?,
                field(40)?,
                u64::from(endian.u32(data, base + 48)?),
            )
        } else {
            (
                field(32)?,
                field(36)?,
                u64::from(endian.u32(data, base + 40)?),
            )
        };
        sections.push(Section {
            name,
            address,
            size,
            offset: file_offset,
        });
    }
    Some(SegmentCommand {
        address,
        memory_size,
        offset,
        file_size,
        max_protection,
        initial_protection,
        sections,
    })
}
