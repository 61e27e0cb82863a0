//! Byte-level Go binaries for tests: minimal ELF, Mach-O (thin and fat) and PE files that
//! carry a build-info blob the way Go's linker lays it out, in the Go 1.18+ inline form or
//! the Go 1.13–1.17 pointer form, 32- or 64-bit, either byte order, with a build ID.
#![expect(
    clippy::unwrap_used,
    reason = "test support: a fixture that cannot be built must fail the test loudly"
)]

/// The blob's magic.
const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// The sentinels `cmd/go` wraps the modinfo text in.
const INFO_START: [u8; 16] = [
    0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02, 0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18, 0xe6,
];
const INFO_END: [u8; 16] = [
    0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72, 0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8, 0xf2,
];

/// Which container to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// ELF with a `.go.buildinfo` section and a `PT_NOTE` build ID.
    Elf,
    /// ELF without section headers: the blob is found through the writable `PT_LOAD`.
    ElfNoSections,
    /// Thin Mach-O.
    MachO,
    /// A fat Mach-O whose first slice is a thin Mach-O.
    FatMachO,
    /// PE/COFF.
    Pe,
}

/// A fabricated Go binary.
#[derive(Debug, Clone)]
pub struct GoBinary {
    /// The container.
    pub container: Container,
    /// 64-bit (else 32-bit).
    pub wide: bool,
    /// Big-endian (ELF and Mach-O only).
    pub big_endian: bool,
    /// Go 1.13–1.17 pointer form instead of the inline form.
    pub pointer_form: bool,
    /// The Go version string.
    pub go_version: String,
    /// The modinfo text, without sentinels (empty: no module information).
    pub modinfo: String,
    /// The Go build ID.
    pub build_id: Option<String>,
}

/// Where the fabricated ELF files keep their data segment and build-id note.
const ELF_DATA_OFFSET: u64 = 0x1000;
const ELF_DATA_ADDRESS: u64 = 0x0050_1000;
const ELF_NOTE_OFFSET: u64 = 0x400;

impl GoBinary {
    /// Every container, word size, byte order (PE is little-endian only) and blob form, each
    /// carrying `go_version` and `modinfo`.
    pub fn variants(go_version: &str, modinfo: &str) -> Vec<Self> {
        let mut out = Vec::new();
        for container in [
            Container::Elf,
            Container::ElfNoSections,
            Container::MachO,
            Container::FatMachO,
            Container::Pe,
        ] {
            for wide in [true, false] {
                for big_endian in [false, true] {
                    if container == Container::Pe && big_endian {
                        continue;
                    }
                    for pointer_form in [false, true] {
                        out.push(Self {
                            wide,
                            big_endian,
                            pointer_form,
                            ..Self::new(container, go_version, modinfo)
                        });
                    }
                }
            }
        }
        out
    }

    /// A 64-bit little-endian binary in `container`, inline form, with `modinfo`.
    pub fn new(container: Container, go_version: &str, modinfo: &str) -> Self {
        Self {
            container,
            wide: true,
            big_endian: false,
            pointer_form: false,
            go_version: go_version.to_owned(),
            modinfo: modinfo.to_owned(),
            build_id: Some("aaaaaaaaaaaaaaaaaaaa/bbbbbbbbbbbbbbbbbbbb/cccccccccccccccccccc/dddddddddddddddddddd".to_owned()),
        }
    }

    /// The file's bytes.
    pub fn build(&self) -> Vec<u8> {
        match self.container {
            Container::Elf => self.elf(true),
            Container::ElfNoSections => self.elf(false),
            Container::MachO => self.macho(),
            Container::FatMachO => {
                let thin = self.macho();
                let mut out = Vec::new();
                out.extend_from_slice(&0xcafe_babe_u32.to_be_bytes());
                out.extend_from_slice(&1u32.to_be_bytes());
                // cputype, cpusubtype, offset, size, align
                for value in [
                    0x0100_0007_u32,
                    3,
                    0x1000,
                    u32::try_from(thin.len()).unwrap(),
                    12,
                ] {
                    out.extend_from_slice(&value.to_be_bytes());
                }
                out.resize(0x1000, 0);
                out.extend_from_slice(&thin);
                out
            }
            Container::Pe => self.pe(),
        }
    }

    fn pointer_size(&self) -> u8 {
        if self.wide { 8 } else { 4 }
    }

    /// The build-info blob as it sits at virtual address `address`.
    pub fn blob(&self, address: u64) -> Vec<u8> {
        let mut framed = Vec::new();
        if !self.modinfo.is_empty() {
            framed.extend_from_slice(&INFO_START);
            framed.extend_from_slice(self.modinfo.as_bytes());
            framed.extend_from_slice(&INFO_END);
        }
        let pointer = self.pointer_size();
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.push(pointer);
        let endian_flag = u8::from(self.big_endian);
        if self.pointer_form {
            out.push(endian_flag);
            let size = u64::from(pointer);
            let headers = address + 32;
            let version_data = headers + 4 * size;
            let modinfo_data = version_data + self.go_version.len() as u64;
            let mut words = Vec::new();
            for value in [
                headers,
                headers + 2 * size,
                version_data,
                self.go_version.len() as u64,
                modinfo_data,
                framed.len() as u64,
            ] {
                self.push_word(&mut words, value);
            }
            out.extend_from_slice(&words[..2 * usize::from(pointer)]);
            out.resize(32, 0);
            out.extend_from_slice(&words[2 * usize::from(pointer)..]);
            out.extend_from_slice(self.go_version.as_bytes());
            out.extend_from_slice(&framed);
        } else {
            out.push(endian_flag | 2);
            out.resize(32, 0);
            push_uvarint(&mut out, self.go_version.len() as u64);
            out.extend_from_slice(self.go_version.as_bytes());
            push_uvarint(&mut out, framed.len() as u64);
            out.extend_from_slice(&framed);
        }
        while out.len() % 16 != 0 {
            out.push(0);
        }
        out
    }

    fn push_word(&self, out: &mut Vec<u8>, value: u64) {
        if self.wide {
            self.push_u64(out, value);
        } else {
            self.push_u32(out, u32::try_from(value).unwrap());
        }
    }

    fn push_u16(&self, out: &mut Vec<u8>, value: u16) {
        out.extend_from_slice(&if self.big_endian {
            value.to_be_bytes()
        } else {
            value.to_le_bytes()
        });
    }

    fn push_u32(&self, out: &mut Vec<u8>, value: u32) {
        out.extend_from_slice(&if self.big_endian {
            value.to_be_bytes()
        } else {
            value.to_le_bytes()
        });
    }

    fn push_u64(&self, out: &mut Vec<u8>, value: u64) {
        out.extend_from_slice(&if self.big_endian {
            value.to_be_bytes()
        } else {
            value.to_le_bytes()
        });
    }

    fn raw_build_id(&self) -> Vec<u8> {
        self.build_id
            .as_ref()
            .map(|id| format!("\u{ff} Go build ID: \"{id}\"\n \u{ff}"))
            .map(|text| {
                // The marker uses the byte 0xff, not the UTF-8 encoding of U+00FF.
                text.replace('\u{ff}', "\0")
                    .bytes()
                    .map(|b| if b == 0 { 0xff } else { b })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn elf(&self, sections: bool) -> Vec<u8> {
        let blob = self.blob(ELF_DATA_ADDRESS);
        let note = self.elf_note();
        let shstrtab = b"\0.go.buildinfo\0.shstrtab\0";
        let shstrtab_offset = ELF_DATA_OFFSET + blob.len() as u64;
        let section_offset = (shstrtab_offset + shstrtab.len() as u64 + 15) & !15;
        let mut out = Vec::new();
        self.push_elf_header(&mut out, sections.then_some(section_offset));
        self.push_elf_programs(&mut out, note.len() as u64, blob.len() as u64);
        out.resize(usize::try_from(ELF_NOTE_OFFSET).unwrap(), 0);
        out.extend_from_slice(&note);
        out.resize(usize::try_from(ELF_DATA_OFFSET).unwrap(), 0);
        out.extend_from_slice(&blob);
        out.extend_from_slice(shstrtab);
        if sections {
            out.resize(usize::try_from(section_offset).unwrap(), 0);
            let entries = [
                (0u32, 0u32, 0u64, 0u64, 0u64, 0u64),
                (
                    1,
                    1,
                    3,
                    ELF_DATA_ADDRESS,
                    ELF_DATA_OFFSET,
                    blob.len() as u64,
                ),
                (15, 3, 0, 0, shstrtab_offset, shstrtab.len() as u64),
            ];
            for (name, kind, flags, address, offset, size) in entries {
                self.push_u32(&mut out, name);
                self.push_u32(&mut out, kind);
                self.push_word(&mut out, flags);
                self.push_word(&mut out, address);
                self.push_word(&mut out, offset);
                self.push_word(&mut out, size);
                self.push_u32(&mut out, 0); // link
                self.push_u32(&mut out, 0); // info
                self.push_word(&mut out, 16); // addralign
                self.push_word(&mut out, 0); // entsize
            }
        }
        out
    }

    /// The Go build-id note, empty without a build id.
    fn elf_note(&self) -> Vec<u8> {
        let mut note = Vec::new();
        if let Some(id) = &self.build_id {
            self.push_u32(&mut note, 4);
            self.push_u32(&mut note, u32::try_from(id.len()).unwrap());
            self.push_u32(&mut note, 4);
            note.extend_from_slice(b"Go\0\0");
            note.extend_from_slice(id.as_bytes());
            while note.len() % 4 != 0 {
                note.push(0);
            }
        }
        note
    }

    /// The ELF header, with the section header table at `section_offset` when there is one.
    fn push_elf_header(&self, out: &mut Vec<u8>, section_offset: Option<u64>) {
        let (ehsize, phentsize, shentsize) = if self.wide {
            (64, 56, 64)
        } else {
            (52, 32, 40)
        };
        let phnum: u16 = 2;
        let shnum: u16 = if section_offset.is_some() { 3 } else { 0 };
        out.extend_from_slice(b"\x7fELF");
        out.push(if self.wide { 2 } else { 1 });
        out.push(if self.big_endian { 2 } else { 1 });
        out.push(1);
        out.resize(16, 0);
        self.push_u16(out, 2); // ET_EXEC
        self.push_u16(out, if self.wide { 62 } else { 3 });
        self.push_u32(out, 1);
        self.push_word(out, 0x0040_1000); // entry
        self.push_word(out, u64::from(ehsize)); // phoff
        self.push_word(out, section_offset.unwrap_or(0));
        self.push_u32(out, 0); // flags
        self.push_u16(out, ehsize);
        self.push_u16(out, phentsize);
        self.push_u16(out, phnum);
        self.push_u16(out, shentsize);
        self.push_u16(out, shnum);
        self.push_u16(out, if section_offset.is_some() { 2 } else { 0 });
    }

    /// The program headers: `PT_NOTE`, then the writable `PT_LOAD`.
    fn push_elf_programs(&self, out: &mut Vec<u8>, note_size: u64, blob_size: u64) {
        let programs = [
            (
                4u32,
                4u32,
                ELF_NOTE_OFFSET,
                0x0040_0400_u64,
                note_size,
                4u64,
            ),
            (1, 6, ELF_DATA_OFFSET, ELF_DATA_ADDRESS, blob_size, 0x1000),
        ];
        for (kind, flags, offset, address, size, align) in programs {
            self.push_u32(out, kind);
            if self.wide {
                self.push_u32(out, flags);
                self.push_u64(out, offset);
                self.push_u64(out, address);
                self.push_u64(out, address);
                self.push_u64(out, size);
                self.push_u64(out, size);
                self.push_u64(out, align);
            } else {
                for value in [offset, address, address, size, size] {
                    self.push_u32(out, u32::try_from(value).unwrap());
                }
                self.push_u32(out, flags);
                self.push_u32(out, u32::try_from(align).unwrap());
            }
        }
    }

    fn macho(&self) -> Vec<u8> {
        const TEXT_OFFSET: u64 = 0x1000;
        const DATA_OFFSET: u64 = 0x2000;
        const TEXT_ADDRESS: u64 = 0x1_0000_1000;
        const DATA_ADDRESS: u64 = 0x1_0000_2000;
        let (text_address, data_address) = if self.wide {
            (TEXT_ADDRESS, DATA_ADDRESS)
        } else {
            (0x1000, 0x2000)
        };
        let blob = self.blob(data_address);
        let text = self.raw_build_id();
        let mut out = Vec::new();
        let magic: u32 = if self.wide { 0xfeed_facf } else { 0xfeed_face };
        self.push_u32(&mut out, magic);
        self.push_u32(&mut out, if self.wide { 0x0100_000c } else { 7 });
        self.push_u32(&mut out, 0);
        self.push_u32(&mut out, 2); // MH_EXECUTE
        self.push_u32(&mut out, 2); // ncmds
        let (segment_size, section_size) = if self.wide { (72, 80) } else { (56, 68) };
        self.push_u32(&mut out, 2 * (segment_size + section_size));
        self.push_u32(&mut out, 0);
        if self.wide {
            self.push_u32(&mut out, 0);
        }
        let segments = [
            (
                b"__TEXT",
                b"__text".as_slice(),
                text_address,
                TEXT_OFFSET,
                text.len() as u64,
                5u32,
            ),
            (
                b"__DATA",
                b"__go_buildinfo".as_slice(),
                data_address,
                DATA_OFFSET,
                blob.len() as u64,
                3,
            ),
        ];
        for (segment, section, address, offset, size, protection) in segments {
            self.push_u32(&mut out, if self.wide { 0x19 } else { 0x1 });
            self.push_u32(&mut out, segment_size + section_size);
            let mut name = segment.to_vec();
            name.resize(16, 0);
            out.extend_from_slice(&name);
            self.push_word(&mut out, address);
            self.push_word(&mut out, 0x1000);
            self.push_word(&mut out, offset);
            self.push_word(&mut out, size);
            self.push_u32(&mut out, protection);
            self.push_u32(&mut out, protection);
            self.push_u32(&mut out, 1);
            self.push_u32(&mut out, 0);
            let mut section_name = section.to_vec();
            section_name.resize(16, 0);
            out.extend_from_slice(&section_name);
            out.extend_from_slice(&name);
            self.push_word(&mut out, address);
            self.push_word(&mut out, size);
            self.push_u32(&mut out, u32::try_from(offset).unwrap());
            for _ in 0..(if self.wide { 7 } else { 6 }) {
                self.push_u32(&mut out, 0);
            }
        }
        out.resize(usize::try_from(TEXT_OFFSET).unwrap(), 0);
        out.extend_from_slice(&text);
        out.resize(usize::try_from(DATA_OFFSET).unwrap(), 0);
        out.extend_from_slice(&blob);
        out
    }

    fn pe(&self) -> Vec<u8> {
        // PE is always little-endian.
        let this = Self {
            big_endian: false,
            ..self.clone()
        };
        let image_base: u64 = 0x0040_0000;
        let text_rva = 0x1000u32;
        let data_rva = 0x2000u32;
        let blob = this.blob(image_base + u64::from(data_rva));
        let text = this.raw_build_id();
        let mut out = vec![0u8; 0x40];
        out[0] = b'M';
        out[1] = b'Z';
        out[0x3c] = 0x40;
        out.extend_from_slice(b"PE\0\0");
        let optional_size: u16 = if self.wide { 240 } else { 224 };
        this.push_u16(&mut out, if self.wide { 0x8664 } else { 0x14c });
        this.push_u16(&mut out, 2);
        this.push_u32(&mut out, 0);
        this.push_u32(&mut out, 0);
        this.push_u32(&mut out, 0);
        this.push_u16(&mut out, optional_size);
        this.push_u16(&mut out, 0x0102);
        let optional_start = out.len();
        this.push_u16(&mut out, if self.wide { 0x20b } else { 0x10b });
        out.resize(optional_start + 16, 0);
        this.push_u32(&mut out, text_rva); // entry
        this.push_u32(&mut out, text_rva); // base of code
        if self.wide {
            this.push_u64(&mut out, image_base);
        } else {
            this.push_u32(&mut out, data_rva); // base of data
            this.push_u32(&mut out, u32::try_from(image_base).unwrap());
        }
        out.resize(optional_start + usize::from(optional_size), 0);
        let sections = [
            (
                b".text\0\0\0",
                text_rva,
                0x400u32,
                text.len(),
                0x6000_0020u32,
            ),
            (b".data\0\0\0", data_rva, 0x800, blob.len(), 0xc000_0040),
        ];
        for (name, rva, offset, size, characteristics) in sections {
            out.extend_from_slice(name);
            let size = u32::try_from(size).unwrap();
            this.push_u32(&mut out, size); // virtual size
            this.push_u32(&mut out, rva);
            this.push_u32(&mut out, size.div_ceil(0x200) * 0x200); // raw size
            this.push_u32(&mut out, offset);
            out.extend_from_slice(&[0; 12]);
            this.push_u32(&mut out, characteristics);
        }
        out.resize(0x400, 0);
        out.extend_from_slice(&text);
        out.resize(0x800, 0);
        out.extend_from_slice(&blob);
        let end = 0x800 + blob.len().div_ceil(0x200) * 0x200;
        out.resize(end, 0);
        out
    }
}

fn push_uvarint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(u8::try_from(value & 0x7f).unwrap() | 0x80);
        value >>= 7;
    }
    out.push(u8::try_from(value).unwrap());
}
