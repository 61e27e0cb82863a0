//! Walking directory trees in parallel for Go binaries.
//!
//! Workers share one queue of directories and files. A directory is listed with the entry
//! types the OS already returns and opened once, and its files are opened by name relative to
//! it; a file costs one read of its first 4 KiB unless it starts like an executable, a Go
//! binary about three reads. The calling thread is one of the workers. The walk never
//! descends through a symbolic link, so it cannot leave its tree or loop; [`scan_links`]
//! then resolves the links to files it met: a Go binary inside the scanned trees is reported
//! once, by its target, with the links that name it, and one outside them only when asked
//! to follow ([`Follow::Outside`]).

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use goshift_fs::fs;

use crate::{BuildInfo, Error};

/// What the walk found at one path.
#[derive(Debug)]
pub enum ScanItem {
    /// A Go binary.
    Binary {
        /// The file.
        path: PathBuf,
        /// Its build information.
        info: Box<BuildInfo>,
    },
    /// A file or directory that could not be read, or an executable that is damaged.
    Failed {
        /// The path.
        path: PathBuf,
        /// Why.
        error: Error,
    },
}

impl ScanItem {
    /// The path of the item.
    pub fn path(&self) -> &Path {
        match self {
            Self::Binary { path, .. } | Self::Failed { path, .. } => path,
        }
    }
}

/// Counters of a walk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Regular files looked at.
    pub files: usize,
    /// Symbolic links met (none is descended through).
    pub symlinks: usize,
    /// Links to files outside the scanned trees that were not followed ([`scan_links`]).
    pub outside_not_followed: usize,
}

/// Which symbolic links [`scan_links`] resolves to the files they name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Links whose target is inside a scanned tree (reported once, by the target).
    Inside,
    /// Also links whose target is outside every scanned tree: the target is read and reported.
    Outside,
}

/// A walk with its symbolic links resolved.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// Every Go binary (by its own path, or its target's for a link) and every failure, sorted.
    pub items: Vec<ScanItem>,
    /// The walk's counters.
    pub stats: ScanStats,
    /// For each binary of `items` that links name, those links, sorted.
    pub links: std::collections::BTreeMap<PathBuf, Vec<PathBuf>>,
}

enum Task {
    Dir(PathBuf),
    /// A root that is not a directory: checked like any path given to `inspect`.
    Root(PathBuf),
    /// A batch of regular files found by the walk, with their directory opened once if it
    /// could be: one queue round-trip per batch, not per file.
    Files(Option<Arc<File>>, Vec<PathBuf>),
}

/// Files per task: large enough to keep the queue lock cold, small enough to spread one big
/// directory over every worker.
const BATCH: usize = 32;

struct Queue {
    tasks: VecDeque<Task>,
    /// Tasks taken but not finished; the walk ends when this and the queue are empty.
    busy: usize,
}

/// The number of workers a walk uses unless told otherwise: one more than the CPUs, at least
/// 3, so a worker waiting on the disk leaves no CPU idle (on two CPUs, 2 workers were 28 %
/// slower than 3, and 4 no faster).
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(3, |cpus| (cpus.get() + 1).max(3))
}

/// Walks `roots` with `threads` workers (the calling thread is one of them) and returns every
/// Go binary and every failure, sorted by path. A root that is a file is inspected directly.
/// Symbolic links are counted, not followed.
pub fn scan(roots: &[PathBuf], threads: usize) -> (Vec<ScanItem>, ScanStats) {
    let (items, stats, _) = walk(roots, threads);
    (items, stats)
}

/// [`scan`], then the symbolic links met on the way resolved as `follow` says: a link to a Go
/// binary is reported once, by its target (with the link listed in
/// [`ScanReport::links`]); a link to a directory is never followed.
pub fn scan_links(roots: &[PathBuf], threads: usize, follow: Follow) -> ScanReport {
    let (mut items, mut stats, symlinks) = walk(roots, threads);
    // Each root as the walk names its files, and where it really is.
    let canonical_roots: Vec<(PathBuf, PathBuf)> = roots
        .iter()
        .filter(|root| root.is_dir())
        .filter_map(|root| Some((root.clone(), fs::canonicalize(root).ok()?)))
        .collect();
    let mut links: std::collections::BTreeMap<PathBuf, Vec<PathBuf>> =
        std::collections::BTreeMap::new();
    let mut outside: std::collections::BTreeMap<PathBuf, Vec<PathBuf>> =
        std::collections::BTreeMap::new();
    for link in symlinks {
        let Ok(target) = fs::canonicalize(&link) else {
            continue; // A dangling link names nothing.
        };
        if !target.is_file() {
            continue;
        }
        let inside = canonical_roots.iter().find_map(|(root, canonical)| {
            let relative = target.strip_prefix(canonical).ok()?;
            Some(root.join(relative))
        });
        match inside {
            Some(walked) => links.entry(walked).or_default().push(link),
            None => outside.entry(target).or_default().push(link),
        }
    }
    // A target inside a tree that the walk did not reach (below a linked directory) is read
    // here, under the name the walk would have given it.
    let walked: std::collections::HashSet<PathBuf> =
        items.iter().map(|item| item.path().to_owned()).collect();
    for target in links.keys() {
        if !walked.contains(target) {
            stats.files += 1;
            let result = crate::read_build_info(target);
            record(target.clone(), result, &mut items);
        }
    }
    match follow {
        Follow::Inside => stats.outside_not_followed = outside.values().map(Vec::len).sum(),
        Follow::Outside => {
            for (target, named_by) in outside {
                stats.files += 1;
                let result = crate::read_build_info(&target);
                let before = items.len();
                record(target.clone(), result, &mut items);
                if items.len() > before {
                    links.insert(target, named_by);
                }
            }
        }
    }
    // Only links to binaries that were found are worth naming.
    links.retain(|target, named_by| {
        named_by.sort_unstable_by(|a, b| path_order(a, b));
        items
            .iter()
            .any(|item| matches!(item, ScanItem::Binary { path, .. } if path == target))
    });
    items.sort_unstable_by(|a: &ScanItem, b: &ScanItem| path_order(a.path(), b.path()));
    ScanReport {
        items,
        stats,
        links,
    }
}

type Found = (Vec<ScanItem>, ScanStats, Vec<PathBuf>);

fn walk(roots: &[PathBuf], threads: usize) -> Found {
    let queue = Mutex::new(Queue {
        tasks: roots
            .iter()
            .map(|root| {
                if root.is_dir() {
                    Task::Dir(root.clone())
                } else {
                    Task::Root(root.clone())
                }
            })
            .collect(),
        busy: 0,
    });
    let wakeup = Condvar::new();
    let results = Mutex::new((Vec::new(), ScanStats::default(), Vec::new()));
    std::thread::scope(|scope| {
        // The calling thread is one of the workers: a thread costs a stack, a signal stack and
        // an allocator arena, which is a measurable part of scanning a small tree.
        for _ in 1..threads.max(1) {
            scope.spawn(|| worker(&queue, &wakeup, &results));
        }
        worker(&queue, &wakeup, &results);
    });
    let (mut items, stats, symlinks) = results.into_inner().unwrap_or_else(PoisonError::into_inner);
    items.sort_unstable_by(|a: &ScanItem, b: &ScanItem| path_order(a.path(), b.path()));
    (items, stats, symlinks)
}

/// Orders paths by their bytes with the separator ranked below every other byte, which for
/// the paths a walk builds is the order of `Path::cmp` (component by component: `a/b` before
/// `a.b` before `ab`) without splitting both paths into components on every comparison.
fn path_order(a: &Path, b: &Path) -> std::cmp::Ordering {
    let rank = |byte: &u8| {
        if *byte == b'/' {
            0
        } else {
            u16::from(*byte) + 1
        }
    };
    let (a, b) = (a.as_os_str().as_bytes(), b.as_os_str().as_bytes());
    a.iter().map(rank).cmp(b.iter().map(rank))
}

fn worker(queue: &Mutex<Queue>, wakeup: &Condvar, results: &Mutex<Found>) {
    loop {
        let task = {
            let mut state = queue.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(task) = state.tasks.pop_front() {
                    state.busy += 1;
                    break task;
                }
                if state.busy == 0 {
                    wakeup.notify_all();
                    return;
                }
                state = wakeup.wait(state).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let mut found = Vec::new();
        let mut stats = ScanStats::default();
        let mut more = Vec::new();
        let mut symlinks = Vec::new();
        match task {
            Task::Dir(dir) => list(&dir, &mut more, &mut found, &mut symlinks),
            Task::Root(path) => {
                stats.files += 1;
                let result = crate::read_build_info(&path);
                record(path, result, &mut found);
            }
            Task::Files(dir, paths) => {
                for path in paths {
                    stats.files += 1;
                    let result = crate::read_walked_file(&path, dir.as_deref());
                    record(path, result, &mut found);
                }
            }
        }
        if !found.is_empty() || stats != ScanStats::default() || !symlinks.is_empty() {
            let mut out = results.lock().unwrap_or_else(PoisonError::into_inner);
            out.0.extend(found);
            out.1.files += stats.files;
            out.1.symlinks += symlinks.len();
            out.2.extend(symlinks);
        }
        let mut shared = queue.lock().unwrap_or_else(PoisonError::into_inner);
        shared.busy -= 1;
        let added = !more.is_empty();
        // Files go first, directories last: the files of the directories listed so far are
        // read before more directories are opened, so few directory handles are open at once.
        for task in more {
            if matches!(task, Task::Files(..)) {
                shared.tasks.push_front(task);
            } else {
                shared.tasks.push_back(task);
            }
        }
        if added || (shared.tasks.is_empty() && shared.busy == 0) {
            wakeup.notify_all();
        }
    }
}

fn record(path: PathBuf, result: Result<BuildInfo, Error>, found: &mut Vec<ScanItem>) {
    match result {
        Ok(info) => found.push(ScanItem::Binary {
            path,
            info: Box::new(info),
        }),
        Err(error) if error.is_not_go() => {}
        Err(error) => found.push(ScanItem::Failed { path, error }),
    }
}

fn list(dir: &Path, more: &mut Vec<Task>, found: &mut Vec<ScanItem>, symlinks: &mut Vec<PathBuf>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(source) => {
            found.push(ScanItem::Failed {
                path: dir.to_owned(),
                error: Error::Io {
                    path: dir.to_owned(),
                    source,
                },
            });
            return;
        }
    };
    // Files are opened relative to their directory; if it cannot be opened (no descriptors
    // left), by their whole path.
    let handle = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir)
        .ok()
        .map(Arc::new);
    let mut files = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(source) => {
                found.push(ScanItem::Failed {
                    path: dir.to_owned(),
                    error: Error::Io {
                        path: dir.to_owned(),
                        source,
                    },
                });
                continue;
            }
        };
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_symlink() {
            symlinks.push(entry.path());
        } else if kind.is_dir() {
            more.push(Task::Dir(entry.path()));
        } else if kind.is_file() {
            files.push(entry.path());
            if files.len() == BATCH {
                more.push(Task::Files(handle.clone(), std::mem::take(&mut files)));
            }
        }
    }
    if !files.is_empty() {
        more.push(Task::Files(handle, files));
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use goshift_testkit::gobinary::{Container, GoBinary};
    use proptest::prelude::*;

    use super::{ScanItem, path_order, scan};

    #[test]
    fn a_wide_tree_is_walked_completely_with_any_number_of_workers() {
        // Directories of more files than a batch holds, nested, with text files and empty
        // files between the binaries: every worker count finds the same binaries, sorted.
        let dir = tempfile::tempdir().unwrap();
        let binary = GoBinary::new(Container::Elf, "go1.22.10", "path\texample.com/app\n").build();
        let mut expected = Vec::new();
        for (index, sub) in ["a", "a/b", "a/b/c", "d"].into_iter().enumerate() {
            let sub = dir.path().join(sub);
            std::fs::create_dir_all(&sub).unwrap();
            for file in 0..(40 + 13 * index) {
                let path = sub.join(format!("f{file:03}"));
                match file % 3 {
                    0 => {
                        std::fs::write(&path, &binary).unwrap();
                        expected.push(path);
                    }
                    1 => std::fs::write(&path, format!("text {file}\n")).unwrap(),
                    _ => std::fs::write(&path, "").unwrap(),
                }
            }
        }
        expected.sort();
        for threads in [1, 2, 3, 8] {
            let (items, stats) = scan(&[dir.path().to_owned()], threads);
            let found: Vec<PathBuf> = items
                .iter()
                .map(|item| match item {
                    ScanItem::Binary { path, info } => {
                        assert_eq!(info.go_version, "go1.22.10");
                        path.clone()
                    }
                    ScanItem::Failed { path, error } => panic!("{}: {error}", path.display()),
                })
                .collect();
            assert_eq!(found, expected, "{threads} workers");
            assert_eq!(stats.files, 40 + 53 + 66 + 79, "{threads} workers");
        }
    }

    /// Links to Go binaries: inside the tree reported once by the target, outside only when
    /// followed; links to directories, dangling links and links to other files add nothing.
    #[test]
    fn symbolic_links_are_reported_by_their_target() {
        use std::os::unix::fs::symlink;

        use super::{Follow, scan_links};

        let dir = tempfile::tempdir().unwrap();
        let binary = GoBinary::new(Container::Elf, "go1.22.10", "path\texample.com/app\n").build();
        let bin = dir.path().join("bin");
        let outside = dir.path().join("lib");
        std::fs::create_dir_all(bin.join("sub")).unwrap();
        std::fs::create_dir_all(outside.join("hidden")).unwrap();
        std::fs::write(bin.join("app"), &binary).unwrap();
        std::fs::write(bin.join("notes"), "text\n").unwrap();
        std::fs::write(outside.join("tool"), &binary).unwrap();
        symlink("app", bin.join("link")).unwrap();
        symlink("../app", bin.join("sub/again")).unwrap();
        symlink("../lib/tool", bin.join("tool")).unwrap();
        symlink("notes", bin.join("readme")).unwrap();
        symlink("../lib", bin.join("libdir")).unwrap();
        symlink("missing", bin.join("dangling")).unwrap();
        let paths = |report: &super::ScanReport| -> Vec<PathBuf> {
            report
                .items
                .iter()
                .map(|item| item.path().to_owned())
                .collect()
        };

        let report = scan_links(std::slice::from_ref(&bin), 2, Follow::Inside);
        assert_eq!(paths(&report), [bin.join("app")]);
        assert_eq!(
            report.links[&bin.join("app")],
            [bin.join("link"), bin.join("sub/again")]
        );
        assert_eq!(report.stats.symlinks, 6);
        assert_eq!(report.stats.outside_not_followed, 1);

        let report = scan_links(std::slice::from_ref(&bin), 2, Follow::Outside);
        let tool = std::fs::canonicalize(outside.join("tool")).unwrap();
        assert_eq!(paths(&report), [bin.join("app"), tool.clone()]);
        assert_eq!(report.links[&tool], [bin.join("tool")]);
        assert_eq!(report.stats.outside_not_followed, 0);

        // Scanning both trees finds each binary once.
        let report = scan_links(&[bin.clone(), outside.clone()], 2, Follow::Outside);
        assert_eq!(paths(&report), [bin.join("app"), outside.join("tool")]);
        assert_eq!(report.links[&outside.join("tool")], [bin.join("tool")]);
    }

    /// Relative or absolute paths as a walk builds them: joined names, never `.` or `..`.
    fn walk_path() -> impl Strategy<Value = PathBuf> {
        let name = "[a.b_-]{1,3}".prop_filter("not . or ..", |n| n != "." && n != "..");
        (any::<bool>(), proptest::collection::vec(name, 1..5)).prop_map(|(absolute, names)| {
            let mut path = PathBuf::from(if absolute { "/" } else { "" });
            path.extend(names);
            path
        })
    }

    proptest! {
        #[test]
        fn paths_sort_as_path_cmp_sorts_them(a in walk_path(), b in walk_path()) {
            prop_assert_eq!(path_order(&a, &b), a.cmp(&b), "{} vs {}", a.display(), b.display());
        }
    }
}
