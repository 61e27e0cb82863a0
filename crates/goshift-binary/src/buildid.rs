//! The Go build ID (`go tool buildid`).
//!
//! ELF files carry it in a `Go\0\0` note of type 4 inside a `PT_NOTE` segment; other formats
//! carry the raw marker `\xff Go build ID: "…"\n \xff` at the start of the text, which is
//! searched for in the first 32 KiB of the file and then in the text section.

use crate::container::{Image, bytes_at};
use crate::quote;

const NOTE_NAME: &[u8; 4] = b"Go\0\0";
const NOTE_BUILD_ID: u32 = 4;
const PREFIX: &[u8] = b"\xff Go build ID: \"";
const SUFFIX: &[u8] = b"\"\n \xff";
const RAW_WINDOW: u64 = 32 * 1024;
/// A build ID is 83 characters; anything much longer is not one.
const MAX_ID_LEN: usize = 1024;

/// The Go build ID of an image, if it has one.
pub(crate) fn read(image: &Image<'_>) -> Option<String> {
    note(image).or_else(|| {
        let head = image.data.get(0, image.data.len().min(RAW_WINDOW));
        head.and_then(raw).or_else(|| {
            let text = image.text?;
            let size = text
                .size
                .min(image.data.len().saturating_sub(text.offset))
                .min(RAW_WINDOW);
            raw(bytes_at(image.data, text.offset, size)?)
        })
    })
}

fn note(image: &Image<'_>) -> Option<String> {
    for (range, align) in &image.notes {
        let available = image.data.len().saturating_sub(range.offset);
        let Some(notes) = bytes_at(image.data, range.offset, range.size.min(available)) else {
            continue;
        };
        let mut at: u64 = 0;
        while let (Some(name_size), Some(desc_size), Some(kind)) = (
            image.endian.u32(notes, at),
            image.endian.u32(notes, at + 4),
            image.endian.u32(notes, at + 8),
        ) {
            let name_size = u64::from(name_size);
            let desc_size = u64::from(desc_size);
            let name = bytes_at(notes, at + 12, name_size)?;
            let desc_at = at + 12 + align4(name_size);
            if name_size == 4 && kind == NOTE_BUILD_ID && name == NOTE_NAME {
                let desc = bytes_at(notes, desc_at, desc_size)?;
                return Some(String::from_utf8_lossy(desc).into_owned());
            }
            at = desc_at + align4(desc_size);
            if *align > 4 && align.is_power_of_two() {
                at = at.checked_add(align - 1)? & !(align - 1);
            }
        }
    }
    None
}

fn align4(value: u64) -> u64 {
    (value + 3) & !3
}

/// Finds and unquotes the raw marker in `bytes`.
fn raw(bytes: &[u8]) -> Option<String> {
    let start = bytes.windows(PREFIX.len()).position(|w| w == PREFIX)?;
    let quoted_start = start + PREFIX.len() - 1;
    let rest = &bytes[quoted_start..];
    let window = &rest[..rest.len().min(MAX_ID_LEN)];
    let end = window
        .windows(SUFFIX.len())
        .skip(1)
        .position(|w| w == SUFFIX)?
        + 1;
    let quoted = std::str::from_utf8(&window[..=end]).ok()?;
    quote::unquote(quoted).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_marker_is_unquoted() {
        let mut text = b"junk".to_vec();
        text.extend_from_slice(b"\xff Go build ID: \"abc/def\"\n \xffmore");
        assert_eq!(raw(&text).as_deref(), Some("abc/def"));
        assert_eq!(raw(b"\xff Go build ID: \"unterminated"), None);
    }
}
