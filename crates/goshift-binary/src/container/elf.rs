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

pub(super) fn parse(data: View<'_>) -> Result<Image<'_>, ReadError> {
    let tables = Tables::read(data)?;
    let names = tables.section_names(data);
    if names.is_none() && data.missed() {
        // The names are not fetched yet: the parse starts again once they are.
        return Err(malformed("the section names are not read"));
    }
    let is = |section: &SectionHeader, wanted: &[u8]| section_name(names, section) == Some(wanted);
    let buildinfo = tables.sections().find(|s| is(s, b".go.buildinfo"));
    let data_start = buildinfo.as_ref().map(|s| (s.address, s.size)).or_else(|| {
        tables
            .programs()
            .find(|p| p.kind == PT_LOAD && p.flags & (PF_W | PF_X) == PF_W)
            .map(|p| (p.address, p.memory_size))
    });
    let text = tables
        .sections()
        .find(|s| is(s, b".text") && s.kind != SHT_NOBITS)
        .map(|s| FileRange {
            offset: s.offset,
            size: s.size,
        });
    Ok(Image {
        format: ExecutableFormat::Elf,
        data,
        endian: tables.endian,
        segments: tables.segments(buildinfo),
        data_start,
        notes: tables.notes(),
        text,
    })
}

fn malformed(what: &'static str) -> ReadError {
    ReadError::Malformed {
        format: ExecutableFormat::Elf,
        what,
    }
}

/// The word size's layout and the byte order, from the ELF identification bytes.
fn identify(data: View<'_>) -> Result<(&'static Layout, Endian), ReadError> {
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
    Ok((layout, endian))
}

/// The program and section header tables.
///
/// Each table is taken out of the file as one slice and its entries are read from that
/// slice when needed: one look-up in the fetched windows per table, not one per field, and
/// nothing collected that the parse does not keep. Every entry lies inside its table, and a
/// table's entries are at least as large as the fields read from them, so reading an entry
/// cannot fail.
struct Tables<'a> {
    program: &'a [u8],
    section: &'a [u8],
    program_stride: usize,
    section_stride: usize,
    endian: Endian,
    pointer: u8,
    /// The index of the section holding the section names.
    shstrndx: u64,
}

impl<'a> Tables<'a> {
    /// Reads the ELF header, then takes both tables out of the file.
    fn read(data: View<'a>) -> Result<Self, ReadError> {
        let (layout, endian) = identify(data)?;
        let truncated = || malformed("the ELF header is truncated");
        let word = |offset| {
            endian
                .pointer(data, offset, layout.pointer)
                .ok_or_else(truncated)
        };
        let half = |offset| {
            endian
                .u16(data, offset)
                .map(u64::from)
                .ok_or_else(truncated)
        };
        let (phoff, shoff) = (word(layout.phoff)?, word(layout.shoff)?);
        let (phentsize, phnum) = (half(layout.phentsize)?, half(layout.phnum)?);
        let (shentsize, shnum) = (half(layout.shentsize)?, half(layout.shnum)?);
        let shstrndx = half(layout.shstrndx)?;
        let wide = layout.pointer == 8;
        let mut program: &[u8] = &[];
        if phnum > 0 {
            let minimum = if wide { 56 } else { 32 };
            if phentsize < minimum || phnum > MAX_HEADERS {
                return Err(malformed("bad program header table"));
            }
            program = data
                .get(phoff, phnum * phentsize)
                .ok_or_else(|| malformed("the program header table is truncated"))?;
        }
        let mut section: &[u8] = &[];
        if shnum > 0 && shoff != 0 {
            let minimum = if wide { 64 } else { 40 };
            if shentsize < minimum || shnum > MAX_HEADERS {
                return Err(malformed("bad section header table"));
            }
            section = data
                .get(shoff, shnum * shentsize)
                .ok_or_else(|| malformed("the section header table is truncated"))?;
        }
        // An empty table may come with an entry size of 0: the stride is at least 1.
        let stride = |size: u64| usize::try_from(size).unwrap_or(usize::MAX).max(1);
        Ok(Self {
            program,
            section,
            program_stride: stride(phentsize),
            section_stride: stride(shentsize),
            endian,
            pointer: layout.pointer,
            shstrndx,
        })
    }

    /// The section-name table, when the file has one and it is fetched.
    fn section_names(&self, data: View<'a>) -> Option<&'a [u8]> {
        let entry = self
            .section_entries()
            .nth(usize::try_from(self.shstrndx).ok()?)?;
        let strtab = section_header(entry, self.endian, self.pointer)?;
        bytes_at(data, strtab.offset, strtab.size)
    }

    fn programs(&self) -> impl Iterator<Item = ProgramHeader> + '_ {
        self.program
            .chunks_exact(self.program_stride)
            .filter_map(|entry| program_header(entry, self.endian, self.pointer))
    }

    fn section_entries(&self) -> std::slice::ChunksExact<'a, u8> {
        self.section.chunks_exact(self.section_stride)
    }

    fn sections(&self) -> impl Iterator<Item = SectionHeader> + '_ {
        self.section_entries()
            .filter_map(|entry| section_header(entry, self.endian, self.pointer))
    }

    /// The loadable segments, and the build-info section: files without program headers
    /// (relocatable objects) still map it.
    fn segments(&self, buildinfo: Option<SectionHeader>) -> Vec<Segment> {
        let mut segments: Vec<Segment> = self
            .programs()
            .filter(|p| p.kind == PT_LOAD)
            .map(|p| Segment {
                address: p.address,
                offset: p.offset,
                file_size: p.file_size,
            })
            .collect();
        if let Some(section) = buildinfo.filter(|s| s.kind != SHT_NOBITS) {
            segments.push(Segment {
                address: section.address,
                offset: section.offset,
                file_size: section.size,
            });
        }
        segments
    }

    fn notes(&self) -> Vec<(FileRange, u64)> {
        self.programs()
            .filter(|p| p.kind == PT_NOTE)
            .map(|p| {
                let range = FileRange {
                    offset: p.offset,
                    size: p.file_size,
                };
                (range, p.align)
            })
            .collect()
    }
}

/// A section's name, from the section-name table when it was read.
fn section_name<'n>(names: Option<&'n [u8]>, section: &SectionHeader) -> Option<&'n [u8]> {
    let rest = names?.get(usize::try_from(section.name).ok()?..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    Some(&rest[..end])
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
