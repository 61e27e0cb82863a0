//! The section-table walk PE and XCOFF share: a table of fixed-size entries right after the
//! headers, each mapping a file range at a virtual address. A format reads one entry into a
//! [`Section`]; the walk turns the sections into the image's segments, the start of its
//! writable data (the first data section, where Go's linker puts the build information) and
//! its text (the first code section, where the build-ID marker is).

use super::{Endian, ExecutableFormat, FileRange, Image, Segment, View, bytes_at};
use crate::ReadError;

/// One entry of a section table, as its format reads it.
pub(super) struct Section {
    /// The virtual address the section is mapped at.
    pub(super) address: u64,
    /// Its size in memory.
    pub(super) memory_size: u64,
    /// Where its data is in the file.
    pub(super) offset: u64,
    /// How much of it is in the file.
    pub(super) file_size: u64,
    /// Whether its file data is mapped at `address` (a section without any is not).
    pub(super) mapped: bool,
    /// Whether it is a writable data section the build information may start.
    pub(super) data: bool,
    /// Whether it holds code.
    pub(super) text: bool,
}

/// Where the table is and how to read an entry.
pub(super) struct Table {
    pub(super) format: ExecutableFormat,
    pub(super) endian: Endian,
    /// The table's file offset.
    pub(super) offset: u64,
    pub(super) count: u64,
    pub(super) entry_size: u64,
}

impl Table {
    /// Reads every entry with `section` and builds the image.
    pub(super) fn image<'a>(
        &self,
        data: View<'a>,
        section: impl Fn(&[u8]) -> Result<Section, ReadError>,
    ) -> Result<Image<'a>, ReadError> {
        let mut segments = Vec::new();
        let mut data_start = None;
        let mut text = None;
        for index in 0..self.count {
            let at = index
                .checked_mul(self.entry_size)
                .and_then(|relative| relative.checked_add(self.offset));
            let entry = at
                .and_then(|at| bytes_at(data, at, self.entry_size))
                .ok_or_else(|| self.format.malformed("truncated section table"))?;
            let section = section(entry)?;
            if section.mapped {
                segments.push(Segment {
                    address: section.address,
                    offset: section.offset,
                    file_size: section.file_size,
                });
            }
            if data_start.is_none() && section.data {
                data_start = Some((section.address, section.memory_size));
            }
            if text.is_none() && section.text {
                text = Some(FileRange {
                    offset: section.offset,
                    size: section.file_size,
                });
            }
        }
        Ok(Image {
            format: self.format,
            data,
            endian: self.endian,
            segments,
            data_start,
            notes: Vec::new(),
            text,
        })
    }
}
