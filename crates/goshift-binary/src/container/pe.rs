//! PE/COFF (PE32 and PE32+).

use super::{Endian, ExecutableFormat, Image, View, bytes_at, fixed_name, sections};
use crate::ReadError;

const INITIALIZED_DATA: u32 = 0x40;
const CODE: u32 = 0x20;
const MEM_READ: u32 = 0x4000_0000;
const MEM_WRITE: u32 = 0x8000_0000;
const ALIGN_32_BYTES: u32 = 0x0060_0000;

fn malformed(what: &'static str) -> ReadError {
    ExecutableFormat::Pe.malformed(what)
}

pub(super) fn parse(data: View<'_>) -> Result<Image<'_>, ReadError> {
    let endian = Endian::Little;
    let Some(header) = endian.u32(data, 0x3c).map(u64::from) else {
        return Err(ReadError::UnknownFormat);
    };
    // `MZ` alone is common (DOS programs, random data); without the PE signature this is
    // simply not something we read.
    if bytes_at(data, header, 4) != Some(b"PE\0\0".as_slice()) {
        return Err(ReadError::UnknownFormat);
    }
    let coff = header + 4;
    let section_count = endian
        .u16(data, coff + 2)
        .ok_or_else(|| malformed("truncated COFF header"))?;
    let optional_size = endian
        .u16(data, coff + 16)
        .ok_or_else(|| malformed("truncated COFF header"))?;
    let optional = coff + 20;
    let image_base = match endian.u16(data, optional) {
        Some(0x10b) => endian.u32(data, optional + 28).map(u64::from),
        Some(0x20b) => endian.u64(data, optional + 24),
        _ => return Err(malformed("unknown optional header magic")),
    }
    .ok_or_else(|| malformed("truncated optional header"))?;
    let table = sections::Table {
        format: ExecutableFormat::Pe,
        endian,
        offset: optional + u64::from(optional_size),
        count: u64::from(section_count),
        entry_size: 40,
    };
    table.image(data, |entry| {
        let field = |offset: u64| endian.u32(entry, offset).unwrap_or(0);
        let virtual_address = u64::from(field(12));
        let raw_size = u64::from(field(16));
        let characteristics = field(36);
        Ok(sections::Section {
            address: image_base.wrapping_add(virtual_address),
            memory_size: u64::from(field(8)),
            offset: u64::from(field(20)),
            file_size: raw_size,
            mapped: true,
            data: virtual_address != 0
                && raw_size != 0
                && characteristics & !ALIGN_32_BYTES == INITIALIZED_DATA | MEM_READ | MEM_WRITE,
            text: fixed_name(&entry[..8]) == b".text" || characteristics & CODE != 0,
        })
    })
}
