//! ELF, 32- and 64-bit, both byte orders.

use super::{Endian, ExecutableFormat, FileRange, Image, Segment, View, bytes_at};
use crate::ReadError;

const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const SHT_NOBITS: u32 = 8;
/// More headers than any real file has; a count above this is hostile.
const MAX_HEADERS: u64 = 1 << 16;

/// Field offsets that differ between ELF32 and ELF64.
struct Layout {
    pointer: u8,
    phoff: u64,
    shoff: u64,
    phentsize: u64,
    phnum: u64,
    shentsize: u64,
    shnum: u64,
    shstrndx: u64,
}

const ELF32: Layout = Layout {
    pointer: 4,
    phoff: 0x1c,
    shoff: 0x20,
    phentsize: 0x2a,
    phnum: 0x2c,
    shentsize: 0x2e,
    shnum: 0x30,
    shstrndx: 0x32,
};

const ELF64: Layout = Layout {
    pointer: 8,
    phoff: 0x20,
    shoff: 0x28,
    phentsize: 0x36,
    phnum: 0x38,
    shentsize: 0x3a,
    shnum: 0x3c,
    shstrndx: 0x3e,
};

struct ProgramHeader {
    kind: u32,
    flags: u32,
    offset: u64,
    address: u64,
    file_size: u64,
    memory_size: u64,
    align: u64,
}

struct SectionHeader {
    name: u32,
    kind: u32,
    address: u64,
    offset: u64,
    size: u64,
}

#[expect(
    clippy::too_many_lines,
    reason = "one linear walk over the headers reads best in one place"
)]
pub(super) fn parse(data: View<'_>) -> Result<Image<'_>, ReadError> {
    let malformed = |what| ReadError::Malformed {
        format: ExecutableFormat::Elf,
        what,
    };
    let layout = match data.byte(4) {
        Some(1) => &ELF32,
        Some(2) => &ELF64,
        _ => return Err(malformed("unknown ELF class")),
    };
    let endian = match data.byte(5) {
        Some(1) => Endian::Little,
        Some(2) => Endian::Big,
        _ => return Err(malformed("unknown ELF byte order")),
    };
    let truncated = || malformed("the ELF header is truncated");
    let word = |offset| endian.pointer(data, offset, layout.pointer);
    let half = |offset| endian.u16(data, offset).map(u64::from);
    let phoff = word(layout.phoff).ok_or_else(truncated)?;
    let shoff = word(layout.shoff).ok_or_else(truncated)?;
    let phentsize = half(layout.phentsize).ok_or_else(truncated)?;
    let phnum = half(layout.phnum).ok_or_else(truncated)?;
    let shentsize = half(layout.shentsize).ok_or_else(truncated)?;
    let shnum = half(layout.shnum).ok_or_else(truncated)?;
    let shstrndx = half(layout.shstrndx).ok_or_else(truncated)?;

    // Each table is taken out of the file as one slice and its entries are read from that
    // slice when needed: one look-up in the fetched windows per table, not one per field, and
    // nothing collected that the walk below does not keep.
    let mut program_table: &[u8] = &[];
    if phnum > 0 {
        let minimum = if layout.pointer == 8 { 56 } else { 32 };
        if phentsize < minimum || phnum > MAX_HEADERS {
            return Err(malformed("bad program header table"));
        }
        program_table = data
            .get(phoff, phnum * phentsize)
            .ok_or_else(|| malformed("the program header table is truncated"))?;
    }
    let mut section_table: &[u8] = &[];
    if shnum > 0 && shoff != 0 {
        let minimum = if layout.pointer == 8 { 64 } else { 40 };
        if shentsize < minimum || shnum > MAX_HEADERS {
            return Err(malformed("bad section header table"));
        }
        section_table = data
            .get(shoff, shnum * shentsize)
            .ok_or_else(|| malformed("the section header table is truncated"))?;
    }
    // Every entry lies inside its table, and a table's entries are at least as large as the
    // fields read from them, so reading an entry cannot fail.
    // (An empty table may come with an entry size of 0: the stride is at least 1.)
    let stride = |size: u64| usize::try_from(size).unwrap_or(usize::MAX).max(1);
    let programs = || {
        program_table
            .chunks_exact(stride(phentsize))
            .filter_map(|entry| program_header(entry, endian, layout.pointer))
    };
    let section_entries = || section_table.chunks_exact(stride(shentsize));
    let sections =
        || section_entries().filter_map(|entry| section_header(entry, endian, layout.pointer));

    let names = usize::try_from(shstrndx)
        .ok()
        .and_then(|index| section_entries().nth(index))
        .and_then(|entry| section_header(entry, endian, layout.pointer))
        .and_then(|strtab| bytes_at(data, strtab.offset, strtab.size));
    if names.is_none() && data.missed() {
        // The names are not fetched yet: the parse starts again once they are.
        return Err(malformed("the section names are not read"));
    }
    let section_name = |section: &SectionHeader| -> Option<&[u8]> {
        let names = names?;
        let rest = names.get(usize::try_from(section.name).ok()?..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(&rest[..end])
    };
    let buildinfo = sections().find(|s| section_name(s) == Some(b".go.buildinfo".as_slice()));
    let data_start = buildinfo.as_ref().map(|s| (s.address, s.size)).or_else(|| {
        programs()
            .find(|p| p.kind == PT_LOAD && p.flags & (PF_W | PF_X) == PF_W)
            .map(|p| (p.address, p.memory_size))
    });

    let mut segments: Vec<Segment> = programs()
        .filter(|p| p.kind == PT_LOAD)
        .map(|p| Segment {
            address: p.address,
            offset: p.offset,
            file_size: p.file_size,
        })
        .collect();
    // Files without program headers (relocatable objects) still map the build-info section.
    if let Some(section) = buildinfo.filter(|s| s.kind != SHT_NOBITS) {
        segments.push(Segment {
            address: section.address,
            offset: section.offset,
            file_size: section.size,
        });
    }
    let notes = programs()
        .filter(|p| p.kind == PT_NOTE)
        .map(|p| {
            (
                FileRange {
                    offset: p.offset,
                    size: p.file_size,
                },
                p.align,
            )
        })
        .collect();
    let text = sections()
        .find(|s| section_name(s) == Some(b".text".as_slice()) && s.kind != SHT_NOBITS)
        .map(|s| FileRange {
            offset: s.offset,
            size: s.size,
        });
    Ok(Image {
        format: ExecutableFormat::Elf,
        data,
        endian,
        segments,
        data_start,
        notes,
        text,
    })
}

fn program_header(entry: &[u8], endian: Endian, pointer: u8) -> Option<ProgramHeader> {
    let u32_at = |offset: u64| endian.u32(entry, offset);
    let word = |offset: u64| endian.pointer(entry, offset, pointer);
    Some(if pointer == 8 {
        ProgramHeader {
            kind: u32_at(0)?,
            flags: u32_at(4)?,
            offset: word(8)?,
            address: word(16)?,
            file_size: word(32)?,
            memory_size: word(40)?,
            align: word(48)?,
        }
    } else {
        ProgramHeader {
            kind: u32_at(0)?,
            offset: word(4)?,
            address: word(8)?,
            file_size: word(16)?,
            memory_size: word(20)?,
            flags: u32_at(24)?,
            align: word(28)?,
        }
    })
}

fn section_header(entry: &[u8], endian: Endian, pointer: u8) -> Option<SectionHeader> {
    let u32_at = |offset: u64| endian.u32(entry, offset);
    let word = |offset: u64| endian.pointer(entry, offset, pointer);
    Some(if pointer == 8 {
        SectionHeader {
            name: u32_at(0)?,
            kind: u32_at(4)?,
            address: word(16)?,
            offset: word(24)?,
            size: word(32)?,
        }
    } else {
        SectionHeader {
            name: u32_at(0)?,
            kind: u32_at(4)?,
            address: word(12)?,
            offset: word(16)?,
            size: word(20)?,
        }
    })
}
