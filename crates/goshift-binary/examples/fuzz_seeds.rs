//! Writes seed inputs for the `blob_finder` fuzz target: one fabricated Go binary per
//! container, word size, byte order and blob form.
//!
//! `cargo run -p goshift-binary --example fuzz_seeds -- crates/goshift-binary/fuzz/corpus/blob_finder`

use goshift_testkit::gobinary::{Container, GoBinary};

const MODINFO: &str = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\n\
dep\tgolang.org/x/net\tv0.17.0\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
dep\texample.com/old\tv1.0.0\n=>\t../fork\t(devel)\t\n\
build\t-ldflags=\"-s -w\"\nbuild\tGOOS=linux\n";

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .ok_or_else(|| std::io::Error::other("usage: fuzz_seeds DIR"))?;
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    let containers = [
        Container::Elf,
        Container::ElfNoSections,
        Container::MachO,
        Container::FatMachO,
        Container::Pe,
    ];
    for (index, container) in containers.into_iter().enumerate() {
        for (variant, (wide, big_endian, pointer_form)) in [
            (true, false, false),
            (false, true, true),
            (true, true, true),
            (false, false, false),
        ]
        .into_iter()
        .enumerate()
        {
            let binary = GoBinary {
                wide,
                big_endian,
                pointer_form,
                ..GoBinary::new(container, "go1.21.2", MODINFO)
            };
            std::fs::write(dir.join(format!("seed-{index}-{variant}")), binary.build())?;
        }
    }
    Ok(())
}
