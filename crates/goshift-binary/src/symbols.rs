//! The function names of a Go binary, from its pclntab.
//!
//! Every Go binary carries the runtime's function table (the pclntab) with the name of every
//! function linked in, also when it is stripped (`-ldflags=-s -w` removes the symbol table and
//! DWARF, not the pclntab). The table is found by its header, whatever the container: the
//! magic of its version (Go 1.2, 1.16, 1.18 and 1.20 layouts), then checks that its offsets
//! stay inside the file, so stray bytes that look like a magic are skipped. Names are split
//! into package and symbol as govulncheck does: `net/http.(*Server).Serve` is package
//! `net/http`, symbol `Server.Serve`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use goshift_fs::fs;

use crate::Error;

/// The functions of a binary, by package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Symbols {
    packages: BTreeMap<String, BTreeSet<String>>,
}

impl Symbols {
    /// Returns true if and only if a function of `package` is in the binary.
    pub fn has_package(&self, package: &str) -> bool {
        self.packages.contains_key(package)
    }

    /// Returns true if and only if `package`'s `symbol` (`Server.Serve`, `ListenAndServe`) is
    /// in the binary.
    pub fn has(&self, package: &str, symbol: &str) -> bool {
        self.packages
            .get(package)
            .is_some_and(|symbols| symbols.contains(symbol))
    }

    /// The number of distinct functions.
    pub fn len(&self) -> usize {
        self.packages.values().map(BTreeSet::len).sum()
    }

    /// Returns true if and only if no function was read.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// Every function as `package.symbol`, sorted.
    pub fn names(&self) -> impl Iterator<Item = String> + '_ {
        self.packages
            .iter()
            .flat_map(|(package, symbols)| symbols.iter().map(move |s| format!("{package}.{s}")))
    }

    /// The functions named (as the linker names them: `net/http.(*Server).Serve`).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut symbols = Self::default();
        for name in names {
            symbols.insert(name);
        }
        symbols
    }

    fn insert(&mut self, name: &str) {
        if let Some((package, symbol)) = split_name(name) {
            self.packages.entry(package).or_default().insert(symbol);
        }
    }
}

/// Reads the function names of the Go binary at `path`; `None` when no pclntab is found.
pub fn read_symbols(path: &Path) -> Result<Option<Symbols>, Error> {
    let data = fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(symbols_from_bytes(&data))
}

/// [`read_symbols`] on a whole file's bytes.
pub fn symbols_from_bytes(data: &[u8]) -> Option<Symbols> {
    symbols_within(data, &mut Budget::for_file(data.len()))
}

/// How much reading the table search may do in all, in bytes looked at. Candidates that
/// share their entries and names would otherwise cost the product of their number, their
/// function counts and their names' length (hours for a crafted file of a megabyte). A real
/// table needs a fraction of it: a function costs its 8-byte entry and its name, inside the
/// file.
#[derive(Debug)]
struct Budget {
    left: usize,
    exhausted: bool,
}

impl Budget {
    fn for_file(len: usize) -> Self {
        Self {
            left: len.saturating_mul(4).saturating_add(1 << 20),
            exhausted: false,
        }
    }

    /// Takes `bytes` from the budget; `None` (and the search ends) when they are not left.
    fn spend(&mut self, bytes: usize) -> Option<()> {
        if let Some(left) = self.left.checked_sub(bytes) {
            self.left = left;
            Some(())
        } else {
            self.exhausted = true;
            None
        }
    }
}

/// [`symbols_from_bytes`] within `budget`: `None` when no table was found before the budget
/// ran out (`budget.exhausted` says which).
fn symbols_within(data: &[u8], budget: &mut Budget) -> Option<Symbols> {
    let mut at = 0;
    while let Some(found) = find_candidate(&data[at..]) {
        let start = at + found;
        if let Some(symbols) = parse_table(&data[start..], budget) {
            return Some(symbols);
        }
        if budget.exhausted {
            return None;
        }
        at = start + 1;
    }
    None
}

/// The next offset that starts with a pclntab magic in either byte order.
fn find_candidate(data: &[u8]) -> Option<usize> {
    data.windows(8).position(|w| {
        let little = matches!(w[..4], [0xf1 | 0xf0 | 0xfa | 0xfb, 0xff, 0xff, 0xff]);
        let big = matches!(w[..4], [0xff, 0xff, 0xff, 0xf1 | 0xf0 | 0xfa | 0xfb]);
        (little || big)
            && w[4] == 0
            && w[5] == 0
            && matches!(w[6], 1 | 2 | 4)
            && matches!(w[7], 4 | 8)
    })
}

/// The table's layout, by magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Go 1.2 to 1.15.
    Go12,
    /// Go 1.16 and 1.17.
    Go116,
    /// Go 1.18 and later (1.20 changed only the magic).
    Go118,
}

/// A bounds-checked reader over the table.
struct Table<'a> {
    data: &'a [u8],
    big_endian: bool,
    pointer: usize,
}

impl Table<'_> {
    fn u32(&self, offset: usize) -> Option<u32> {
        let bytes: [u8; 4] = self
            .data
            .get(offset..offset.checked_add(4)?)?
            .try_into()
            .ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        })
    }

    fn word(&self, offset: usize) -> Option<usize> {
        if self.pointer == 4 {
            return usize::try_from(self.u32(offset)?).ok();
        }
        let bytes: [u8; 8] = self
            .data
            .get(offset..offset.checked_add(8)?)?
            .try_into()
            .ok()?;
        let value = if self.big_endian {
            u64::from_be_bytes(bytes)
        } else {
            u64::from_le_bytes(bytes)
        };
        usize::try_from(value).ok()
    }

    fn name(&self, offset: usize, budget: &mut Budget) -> Option<&str> {
        let rest = self.data.get(offset..)?;
        let end = rest.iter().position(|&b| b == 0);
        budget.spend(end.map_or(rest.len(), |end| end + 1))?;
        std::str::from_utf8(&rest[..end?]).ok()
    }
}

fn parse_table(data: &[u8], budget: &mut Budget) -> Option<Symbols> {
    let big_endian = data[0] == 0xff;
    let magic_byte = if big_endian { data[3] } else { data[0] };
    let layout = match magic_byte {
        0xf0 | 0xf1 => Layout::Go118,
        0xfa => Layout::Go116,
        _ => Layout::Go12,
    };
    let table = Table {
        data,
        big_endian,
        pointer: usize::from(data[7]),
    };
    let p = table.pointer;
    let nfunc = table.word(8)?;
    // Each function takes at least a table entry and a name: more than the bytes there are
    // means this is not a table.
    if nfunc == 0 || nfunc > data.len() / 8 {
        return None;
    }
    // (functab offset, entry size, func-struct base, name base, name offset within a func)
    let (functab, entry, func_base, names, name_field) = match layout {
        Layout::Go118 => {
            let names = table.word(8 + 3 * p)?;
            let functab = table.word(8 + 7 * p)?;
            (functab, 8, functab, names, 4)
        }
        Layout::Go116 => {
            let names = table.word(8 + 2 * p)?;
            let functab = table.word(8 + 6 * p)?;
            (functab, 2 * p, functab, names, p)
        }
        Layout::Go12 => (8 + p, 2 * p, 0, 0, p),
    };
    if functab >= data.len() || names >= data.len() {
        return None;
    }
    let mut symbols = Symbols::default();
    for index in 0..nfunc {
        budget.spend(entry)?;
        let at = functab.checked_add(index.checked_mul(entry)?)?;
        let func_offset = match layout {
            Layout::Go118 => usize::try_from(table.u32(at + 4)?).ok()?,
            Layout::Go116 | Layout::Go12 => table.word(at + p)?,
        };
        let func = func_base.checked_add(func_offset)?;
        let name_offset = usize::try_from(table.u32(func.checked_add(name_field)?)?).ok()?;
        let name = table.name(names.checked_add(name_offset)?, budget)?;
        if name.is_empty() {
            return None;
        }
        symbols.insert(name);
    }
    Some(symbols)
}

/// Splits a function name as govulncheck does: the package is everything up to the first `.`
/// after the last `/` (with the linker's `%2e` escapes of dots in the last element undone),
/// the symbol the rest without pointer receivers' `(*` `)` and without type arguments.
fn split_name(name: &str) -> Option<(String, String)> {
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let dot = last_slash + name[last_slash..].find('.')?;
    let package = name[..dot].replace("%2e", ".");
    let mut symbol = String::with_capacity(name.len() - dot);
    let mut depth = 0_u32;
    for c in name[dot + 1..].chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '(' | ')' | '*' if depth == 0 => {}
            c if depth == 0 => symbol.push(c),
            _ => {}
        }
    }
    (!package.is_empty() && !symbol.is_empty()).then_some((package, symbol))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_like_govulncheck() {
        for (name, package, symbol) in [
            ("net/http.(*Server).Serve", "net/http", "Server.Serve"),
            ("net/http.ListenAndServe", "net/http", "ListenAndServe"),
            ("main.main", "main", "main"),
            (
                "golang.org/x/net/http2.(*Framer).ReadFrame",
                "golang.org/x/net/http2",
                "Framer.ReadFrame",
            ),
            (
                "gopkg.in/yaml%2ev2.Unmarshal",
                "gopkg.in/yaml.v2",
                "Unmarshal",
            ),
            ("slices.Sort[go.shape.int]", "slices", "Sort"),
            (
                "example.com/m.(*List[go.shape.int]).Push",
                "example.com/m",
                "List.Push",
            ),
            (
                "crypto/tls.(*Conn).Handshake.func1",
                "crypto/tls",
                "Conn.Handshake.func1",
            ),
        ] {
            assert_eq!(
                split_name(name),
                Some((package.to_owned(), symbol.to_owned())),
                "{name}"
            );
        }
        assert_eq!(split_name("nodot"), None);
    }

    /// Found by the `pclntab` fuzz target's rate, which fell twentyfold as its inputs grew:
    /// candidate tables that share one run of zero entries and one long name. Each function
    /// read costs the name's length, each candidate its function count, so a file of a
    /// megabyte took hours. The search now stops when its budget, a few times the file's
    /// size, is spent, and finds nothing.
    #[test]
    fn crafted_tables_that_share_their_names_exhaust_the_budget() {
        let (candidates, name_len, functions) = (500_usize, 30_000_usize, 4_000_usize);
        let header = 8 + 8 * 8;
        let names_at = candidates * header;
        let functab_at = names_at + name_len + 1;
        let mut file = Vec::new();
        for index in 0..candidates {
            let start = index * header;
            file.extend_from_slice(&[0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8]);
            for word in [
                functions,
                0,
                0,
                names_at - start,
                0,
                0,
                0,
                functab_at - start,
            ] {
                file.extend_from_slice(&(word as u64).to_le_bytes());
            }
        }
        file.extend(std::iter::repeat_n(b'a', name_len));
        file.push(0);
        file.extend(std::iter::repeat_n(0, 8 * (functions + 1)));
        let mut budget = Budget::for_file(file.len());
        let unbounded_cost = candidates * functions * name_len;
        assert!(unbounded_cost > 100 * budget.left, "{unbounded_cost}");
        assert_eq!(symbols_within(&file, &mut budget), None);
        assert!(budget.exhausted);
    }

    /// A Go 1.20 table (magic 0xfffffff1) built by hand: two functions.
    #[test]
    fn reads_a_go_1_20_table() {
        let names = b"net/http.(*Server).Serve\0main.main\0";
        let p = 8;
        let header = 8 + 8 * p;
        let names_at = header;
        let functab_at = names_at + names.len();
        let mut table = vec![0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8];
        for word in [
            2_u64,
            0,
            0x1000,
            names_at as u64,
            0,
            0,
            0,
            functab_at as u64,
        ] {
            table.extend_from_slice(&word.to_le_bytes());
        }
        table.extend_from_slice(names);
        // functab: nfunc + 1 entries (entryoff, funcoff), then the func structs.
        let funcs_at = 3 * 8;
        for (entry, func) in [(0_u32, funcs_at), (0x10, funcs_at + 8), (0x20, 0)] {
            table.extend_from_slice(&entry.to_le_bytes());
            table.extend_from_slice(&u32::try_from(func).unwrap().to_le_bytes());
        }
        for name_offset in [0_u32, 25] {
            table.extend_from_slice(&0_u32.to_le_bytes());
            table.extend_from_slice(&name_offset.to_le_bytes());
        }
        let mut file =
            b"some other bytes \xf1\xff\xff\xff\0\0\x01\x08 that look like a magic".to_vec();
        file.extend_from_slice(&table);
        let mut budget = Budget::for_file(file.len());
        let symbols = symbols_within(&file, &mut budget).unwrap();
        assert!(!budget.exhausted);
        assert!(symbols.has("net/http", "Server.Serve"));
        assert!(symbols.has("main", "main"));
        assert!(symbols.has_package("net/http"));
        assert!(!symbols.has("net/http", "ListenAndServe"));
        assert_eq!(symbols.len(), 2);
    }
}
