//! Where the index and the archives come from, and the URL policy applied to both.

use crate::url::{self, Location};
use crate::{DistError, ReleaseFile};

/// The configured download sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// The release index: `https://…`, `file://…`, or `http://` (loopback, or allowed).
    pub index_url: String,
    /// Base URL archives are fetched from instead of the index's location.
    pub mirror: Option<String>,
    /// Allows plain `http://` to hosts that are not loopback.
    pub allow_insecure_http: bool,
}

impl Default for Sources {
    fn default() -> Self {
        Self {
            index_url: Self::DEFAULT_INDEX_URL.to_owned(),
            mirror: None,
            allow_insecure_http: false,
        }
    }
}

impl Sources {
    /// go.dev's index of every release, stable or not.
    pub const DEFAULT_INDEX_URL: &str = "https://go.dev/dl/?mode=json&include=all";

    /// The URL of an archive: `mirror` + file name when a mirror is set, else the file name
    /// next to the index (for go.dev, `https://go.dev/dl/<file>`; for a `file://` index, the
    /// index's directory). The URL policy is checked here, so a bad URL fails before any
    /// request.
    pub fn archive_url(&self, file: &ReleaseFile) -> Result<String, DistError> {
        if file.filename.to_ascii_lowercase().ends_with(".zip") {
            return Err(DistError::ZipUnsupported {
                name: file.filename.clone(),
            });
        }
        let url = match &self.mirror {
            Some(mirror) => url::join(mirror, &file.filename),
            None => url::sibling(&self.index_url, &file.filename),
        };
        check_url(&url, self.allow_insecure_http)?;
        Ok(url)
    }
}

/// Checks the scheme policy: `https://` and `file://` always; `http://` for loopback hosts
/// or when explicitly allowed.
pub(crate) fn check_url(url: &str, allow_insecure_http: bool) -> Result<Location, DistError> {
    let location = Location::parse(url).map_err(|reason| DistError::InvalidUrl {
        url: url.to_owned(),
        reason,
    })?;
    if let Location::Remote { secure: false, .. } = location
        && !location.is_loopback()
        && !allow_insecure_http
    {
        return Err(DistError::InsecureHttp {
            url: url.to_owned(),
        });
    }
    Ok(location)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> ReleaseFile {
        ReleaseFile {
            filename: name.to_owned(),
            os: "linux".to_owned(),
            arch: "amd64".to_owned(),
            version: "go1.22.10".to_owned(),
            sha256: String::new(),
            size: 1,
            kind: "archive".to_owned(),
        }
    }

    fn sources(index_url: &str, mirror: Option<&str>) -> Sources {
        Sources {
            index_url: index_url.to_owned(),
            mirror: mirror.map(str::to_owned),
            allow_insecure_http: false,
        }
    }

    const ARCHIVE: &str = "go1.22.10.linux-amd64.tar.gz";

    #[test]
    fn default_index_downloads_from_go_dev() {
        let url = Sources::default().archive_url(&file(ARCHIVE)).unwrap();
        assert_eq!(url, "https://go.dev/dl/go1.22.10.linux-amd64.tar.gz");
    }

    #[test]
    fn mirror_wins_over_index_host() {
        let sources = sources(
            Sources::DEFAULT_INDEX_URL,
            Some("https://mirrors.example.org/golang"),
        );
        let url = sources.archive_url(&file(ARCHIVE)).unwrap();
        assert_eq!(
            url,
            "https://mirrors.example.org/golang/go1.22.10.linux-amd64.tar.gz"
        );
    }

    #[test]
    fn file_index_uses_its_directory() {
        let url = sources("file:///srv/go/index.json", None)
            .archive_url(&file(ARCHIVE))
            .unwrap();
        assert_eq!(url, "file:///srv/go/go1.22.10.linux-amd64.tar.gz");
    }

    #[test]
    fn http_is_allowed_for_loopback_only() {
        for ok in [
            "http://127.0.0.1:8123/",
            "http://localhost/m/",
            "http://[::1]:80/",
        ] {
            assert!(
                sources(Sources::DEFAULT_INDEX_URL, Some(ok))
                    .archive_url(&file(ARCHIVE))
                    .is_ok(),
                "{ok}"
            );
        }
        let error = sources(
            Sources::DEFAULT_INDEX_URL,
            Some("http://mirror.example.org/go/"),
        )
        .archive_url(&file(ARCHIVE))
        .unwrap_err();
        assert!(
            matches!(&error, DistError::InsecureHttp { url } if url == "http://mirror.example.org/go/go1.22.10.linux-amd64.tar.gz")
        );
        let message = error.to_string();
        assert!(message.contains("https://"), "{message}");
        assert!(message.contains("GOSHIFT_ALLOW_HTTP=1"), "{message}");

        let mut allowed = sources(
            Sources::DEFAULT_INDEX_URL,
            Some("http://mirror.example.org/go/"),
        );
        allowed.allow_insecure_http = true;
        assert!(allowed.archive_url(&file(ARCHIVE)).is_ok());
    }

    #[test]
    fn zip_and_bad_schemes_are_refused() {
        let error = Sources::default()
            .archive_url(&file("go1.22.10.windows-amd64.zip"))
            .unwrap_err();
        assert!(matches!(error, DistError::ZipUnsupported { .. }));
        assert!(error.to_string().contains(".tar.gz"));
        let error = sources(Sources::DEFAULT_INDEX_URL, Some("ftp://mirror/"))
            .archive_url(&file(ARCHIVE))
            .unwrap_err();
        assert!(matches!(error, DistError::InvalidUrl { .. }), "{error:?}");
    }
}
