//! What the readers read from: a file's bytes, whole in memory or only the parts fetched so far.
//!
//! Reading a Go binary needs a few small pieces of a large file: the headers at the start, the
//! section table at the end, the blob in the data. Mapping the whole file costs page faults and,
//! in a threaded scan, a TLB shootdown on every unmap; reading every piece with its own `pread`
//! costs a system call per field. So the readers parse against [`Fetched`], the windows read so
//! far. A read outside them fails like a read past the end of the file, and [`Fetched`]
//! remembers the first such range; the caller fetches it and parses again from the start.
//! Parsing is microseconds, a round trip to the kernel is not, and a Go ELF binary takes three
//! reads this way (the headers with Go's section table, the section names, the blob). A reader
//! that can go no further without a missed range may stop early ([`View::missed`]).
//!
//! A range outside the file is not a miss: it fails for good, exactly as a slice would.

use std::borrow::Cow;
use std::cell::Cell;

/// The windows of a file read so far (or the whole file, as one window).
#[derive(Debug)]
pub(crate) struct Fetched<'a> {
    /// The file's length.
    len: u64,
    /// `(offset, bytes)`: pieces of the file, possibly overlapping.
    windows: Vec<(u64, Cow<'a, [u8]>)>,
    /// The first range a reader asked for that no window holds.
    missed: Cell<Option<(u64, u64)>>,
}

impl<'a> Fetched<'a> {
    /// The whole file, already in memory: nothing can be missed.
    pub(crate) fn whole(data: &'a [u8]) -> Self {
        Self {
            len: data.len() as u64,
            windows: vec![(0, Cow::Borrowed(data))],
            missed: Cell::new(None),
        }
    }

    /// A file of `len` bytes (`u64::MAX` while unknown) of which nothing is read yet.
    pub(crate) fn empty(len: u64) -> Self {
        Self {
            len,
            // A Go ELF binary takes three reads.
            windows: Vec::with_capacity(4),
            missed: Cell::new(None),
        }
    }

    /// Sets the file's length, once a read has found where it ends.
    pub(crate) fn set_len(&mut self, len: u64) {
        self.len = len;
    }

    /// Adds `bytes`, read at `offset`.
    pub(crate) fn add(&mut self, offset: u64, bytes: Vec<u8>) {
        self.windows.push((offset, Cow::Owned(bytes)));
    }

    /// The first range asked for and not held since the last call, which clears it.
    pub(crate) fn take_missed(&self) -> Option<(u64, u64)> {
        self.missed.take()
    }

    /// The view of the whole file.
    pub(crate) fn view(&self) -> View<'_> {
        View {
            fetched: self,
            base: 0,
            len: self.len,
        }
    }
}

impl Drop for Fetched<'_> {
    /// Keeps the read buffers for the next file this thread reads: a scan reads thousands of
    /// files, and allocating and zeroing buffers for each was a tenth of its time in user space.
    fn drop(&mut self) {
        for (_, window) in self.windows.drain(..) {
            if let Cow::Owned(bytes) = window {
                recycle(bytes);
            }
        }
    }
}

/// Keeps `bytes` for [`spare_buffer`], unless enough are kept or it is large. Its contents
/// stay: a reader overwrites them, and resizing a full buffer to the same size zeroes nothing.
pub(crate) fn recycle(bytes: Vec<u8>) {
    SPARE.with_borrow_mut(|spare| {
        if spare.len() < SPARE_BUFFERS && bytes.capacity() <= SPARE_CAPACITY {
            spare.push(bytes);
        }
    });
}

/// Buffers kept per thread, and the largest kept (a blob or a table larger than this is rare).
const SPARE_BUFFERS: usize = 4;
const SPARE_CAPACITY: usize = 64 * 1024;

thread_local! {
    static SPARE: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A buffer to read into (resize it first; its old contents are meaningless): one a finished
/// file left behind, or a new one.
pub(crate) fn spare_buffer() -> Vec<u8> {
    SPARE.with_borrow_mut(Vec::pop).unwrap_or_default()
}

/// A range of a [`Fetched`] file: the whole file, or one slice of a fat Mach-O file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    fetched: &'a Fetched<'a>,
    /// Where the view starts in the file.
    base: u64,
    len: u64,
}

impl<'a> View<'a> {
    /// The view's length in bytes.
    pub(crate) fn len(self) -> u64 {
        self.len
    }

    /// `len` bytes at `offset` of the view; `None` when the range leaves the view, or when it
    /// has not been fetched (then it is remembered as missed).
    pub(crate) fn get(self, offset: u64, len: u64) -> Option<&'a [u8]> {
        if offset.checked_add(len)? > self.len {
            return None;
        }
        let start = self.base.checked_add(offset)?;
        let end = start.checked_add(len)?;
        for (at, bytes) in &self.fetched.windows {
            if start >= *at && end <= at + bytes.len() as u64 {
                let from = usize::try_from(start - at).ok()?;
                let to = usize::try_from(end - at).ok()?;
                return bytes.get(from..to);
            }
        }
        if self.fetched.missed.get().is_none() {
            self.fetched.missed.set(Some((start, len)));
        }
        None
    }

    /// Returns true if and only if a read has missed since the last
    /// [`Fetched::take_missed`]: the parse cannot succeed yet, and may stop early.
    pub(crate) fn missed(self) -> bool {
        self.fetched.missed.get().is_some()
    }

    /// The byte at `offset`.
    pub(crate) fn byte(self, offset: u64) -> Option<u8> {
        self.get(offset, 1).map(|bytes| bytes[0])
    }

    /// The part of the view from `offset`, `len` bytes long; `None` when it leaves the view.
    pub(crate) fn sub(self, offset: u64, len: u64) -> Option<Self> {
        if offset.checked_add(len)? > self.len {
            return None;
        }
        Some(Self {
            fetched: self.fetched,
            base: self.base.checked_add(offset)?,
            len,
        })
    }
}

/// Something the container readers take fixed-size fields from: a view, or a slice already
/// taken out of one.
pub(crate) trait Bytes<'a>: Copy {
    /// `len` bytes at `offset`, or `None` when they are not there.
    fn range(self, offset: u64, len: u64) -> Option<&'a [u8]>;
}

impl<'a> Bytes<'a> for &'a [u8] {
    fn range(self, offset: u64, len: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(offset).ok()?;
        let len = usize::try_from(len).ok()?;
        self.get(start..start.checked_add(len)?)
    }
}

impl<'a> Bytes<'a> for View<'a> {
    fn range(self, offset: u64, len: u64) -> Option<&'a [u8]> {
        self.get(offset, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_outside_the_windows_is_remembered_and_one_outside_the_file_is_not() {
        let mut fetched = Fetched::empty(100);
        fetched.add(10, vec![1, 2, 3, 4]);
        let view = fetched.view();
        assert_eq!(view.get(11, 2), Some([2, 3].as_slice()));
        assert_eq!(fetched.take_missed(), None);
        assert_eq!(view.get(98, 4), None, "past the end of the file");
        assert_eq!(fetched.take_missed(), None);
        assert_eq!(view.get(12, 4), None, "straddles the window's end");
        assert_eq!(view.get(50, 1), None);
        assert_eq!(fetched.take_missed(), Some((12, 4)), "the first miss wins");
        assert_eq!(fetched.take_missed(), None);
    }

    #[test]
    fn a_sub_view_reads_relative_to_its_start() {
        let data: Vec<u8> = (0..=255).collect();
        let fetched = Fetched::whole(&data);
        let sub = fetched.view().sub(16, 32).unwrap();
        assert_eq!(sub.len(), 32);
        assert_eq!(sub.byte(0), Some(16));
        assert_eq!(sub.get(30, 2), Some([46, 47].as_slice()));
        assert_eq!(sub.get(31, 2), None, "leaves the sub-view");
        assert!(fetched.view().sub(250, 10).is_none());
        assert_eq!(fetched.take_missed(), None);
    }
}
