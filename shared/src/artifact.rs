//! Pipeline artifacts: choosing an input artifact, downloading its zip with the job's artifact
//! credentials, reading it under limits, and writing an output artifact.
//!
//! Memory stays bounded: the archive is streamed to an anonymous file in the temp dir (Lambda's /tmp),
//! its central directory is validated once, and entries are decompressed one at a time, only when the
//! action asks for them.

use crate::event::{Artifact, ArtifactCredentials, EncryptionKey, S3Location};
use crate::outcome::FailureKind;
use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::put_object::PutObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Limits applied to every input artifact. Each can be set through the environment
/// (see [`ZipLimits::from_env`]); the defaults fit Lambda's default 512 MB of /tmp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZipLimits {
    /// Size of the zip itself as stored in S3.
    pub max_archive_bytes: u64,
    /// Number of entries, directories included.
    pub max_entries: usize,
    /// Sum of the uncompressed sizes of all entries.
    pub max_total_uncompressed: u64,
    /// Uncompressed size of any one entry.
    pub max_entry_uncompressed: u64,
    /// Largest uncompressed/compressed ratio of one entry (zip bombs) ...
    pub max_compression_ratio: u64,
    /// ... checked for entries whose uncompressed size is at least this (tiny files compress wildly).
    pub ratio_check_min_bytes: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        Self {
            max_archive_bytes: 256 * MIB,
            max_entries: 10_000,
            max_total_uncompressed: 400 * MIB,
            max_entry_uncompressed: 100 * MIB,
            max_compression_ratio: 200,
            ratio_check_min_bytes: 64 * 1024,
        }
    }
}

const MIB: u64 = 1024 * 1024;

impl ZipLimits {
    /// Defaults overridden by `ARTIFACT_MAX_ARCHIVE_BYTES`, `ARTIFACT_MAX_ENTRIES`,
    /// `ARTIFACT_MAX_TOTAL_BYTES`, `ARTIFACT_MAX_ENTRY_BYTES`, `ARTIFACT_MAX_COMPRESSION_RATIO`.
    /// A value that is not a positive number is an error naming the variable.
    pub fn from_env() -> Result<Self, crate::params::ConfigError> {
        let mut limits = Self::default();
        env_u64("ARTIFACT_MAX_ARCHIVE_BYTES", &mut limits.max_archive_bytes)?;
        let mut entries = limits.max_entries as u64;
        env_u64("ARTIFACT_MAX_ENTRIES", &mut entries)?;
        limits.max_entries = usize::try_from(entries).unwrap_or(usize::MAX);
        env_u64("ARTIFACT_MAX_TOTAL_BYTES", &mut limits.max_total_uncompressed)?;
        env_u64("ARTIFACT_MAX_ENTRY_BYTES", &mut limits.max_entry_uncompressed)?;
        env_u64("ARTIFACT_MAX_COMPRESSION_RATIO", &mut limits.max_compression_ratio)?;
        Ok(limits)
    }
}

fn env_u64(name: &str, slot: &mut u64) -> Result<(), crate::params::ConfigError> {
    match std::env::var(name) {
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(value) if value > 0 => {
                *slot = value;
                Ok(())
            }
            _ => Err(crate::params::ConfigError::invalid(format!(
                "environment variable {name}={text:?} is not a positive whole number"
            ))),
        },
        Err(_) => Ok(()),
    }
}

/// What is wrong with one zip entry.
#[derive(Debug)]
pub enum EntryProblem {
    AbsolutePath,
    ParentComponent,
    Symlink,
    Encrypted,
    Duplicate,
    TooLarge { size: u64, limit: u64 },
    RatioTooHigh { ratio: u64, limit: u64 },
    LargerThanDeclared { declared: u64 },
    NotUtf8,
}

impl fmt::Display for EntryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AbsolutePath => f.write_str("absolute paths are not allowed in an artifact (zip slip)"),
            Self::ParentComponent => f.write_str("`..` path components are not allowed in an artifact (zip slip)"),
            Self::Symlink => f.write_str("symbolic links are not allowed in an artifact"),
            Self::Encrypted => f.write_str("encrypted entries cannot be read"),
            Self::Duplicate => f.write_str("the archive holds two entries with this name"),
            Self::TooLarge { size, limit } => write!(
                f,
                "uncompressed size {size} bytes exceeds the per-entry limit of {limit} bytes (ARTIFACT_MAX_ENTRY_BYTES)"
            ),
            Self::RatioTooHigh { ratio, limit } => write!(
                f,
                "compression ratio {ratio}:1 exceeds the limit of {limit}:1 (zip bomb?; ARTIFACT_MAX_COMPRESSION_RATIO)"
            ),
            Self::LargerThanDeclared { declared } => write!(
                f,
                "decompresses to more than the {declared} bytes its header declares (corrupt or malicious archive)"
            ),
            Self::NotUtf8 => f.write_str("is not UTF-8 text"),
        }
    }
}

type S3GetError = SdkError<GetObjectError, aws_smithy_runtime_api::http::Response>;
type S3PutError = SdkError<PutObjectError, aws_smithy_runtime_api::http::Response>;

/// Every artifact error names the artifact and, where there is one, the entry.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("the action has no input artifact; add one to the action in the pipeline")]
    NoInputArtifact,
    #[error("no input artifact named `{wanted}`; the action's input artifacts are: {available}")]
    UnknownInputArtifact { wanted: String, available: String },
    #[error("the action has no output artifact; add one to the action in the pipeline")]
    NoOutputArtifact,
    #[error("no output artifact named `{wanted}`; the action's output artifacts are: {available}")]
    UnknownOutputArtifact { wanted: String, available: String },
    #[error("the job carries no artifactCredentials, so artifact `{artifact}` cannot be accessed")]
    NoCredentials { artifact: String },
    #[error("artifact `{artifact}` ({location}): download failed")]
    Download {
        artifact: String,
        location: String,
        #[source]
        source: Box<S3GetError>,
    },
    #[error("artifact `{artifact}` ({location}): reading the download failed")]
    DownloadStream {
        artifact: String,
        location: String,
        #[source]
        source: aws_sdk_s3::primitives::ByteStreamError,
    },
    #[error("artifact `{artifact}` is {size} bytes; the limit is {limit} bytes (ARTIFACT_MAX_ARCHIVE_BYTES)")]
    ArchiveTooLarge { artifact: String, size: u64, limit: u64 },
    #[error("artifact `{artifact}`: local file I/O failed")]
    LocalIo {
        artifact: String,
        #[source]
        source: io::Error,
    },
    #[error("artifact `{artifact}` is not a readable zip archive")]
    NotAZip {
        artifact: String,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("artifact `{artifact}` has {count} entries; the limit is {limit} (ARTIFACT_MAX_ENTRIES)")]
    TooManyEntries { artifact: String, count: usize, limit: usize },
    #[error("artifact `{artifact}` expands to {total} bytes; the limit is {limit} bytes (ARTIFACT_MAX_TOTAL_BYTES)")]
    TooLargeUncompressed { artifact: String, total: u64, limit: u64 },
    #[error("artifact `{artifact}`, entry {entry:?}: {problem}")]
    Entry { artifact: String, entry: String, problem: EntryProblem },
    #[error("artifact `{artifact}`, entry {entry:?}: reading failed")]
    EntryRead {
        artifact: String,
        entry: String,
        #[source]
        source: io::Error,
    },
    #[error("artifact `{artifact}` has no entry {entry:?}")]
    NoSuchEntry { artifact: String, entry: String },
    #[error("output artifact `{artifact}`: building the zip failed")]
    OutputZip {
        artifact: String,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("output artifact `{artifact}` ({location}): upload failed")]
    Upload {
        artifact: String,
        location: String,
        #[source]
        source: Box<S3PutError>,
    },
}

impl ArtifactError {
    /// How CodePipeline should see this error.
    pub fn failure_kind(&self) -> FailureKind {
        match self {
            Self::NoInputArtifact
            | Self::UnknownInputArtifact { .. }
            | Self::NoOutputArtifact
            | Self::UnknownOutputArtifact { .. }
            | Self::NoCredentials { .. } => FailureKind::ConfigurationError,
            Self::Download { source, .. } => s3_failure_kind(source.as_ref(), true),
            Self::Upload { source, .. } => s3_failure_kind(source.as_ref(), false),
            Self::DownloadStream { .. } => FailureKind::SystemUnavailable,
            _ => FailureKind::JobFailed,
        }
    }
}

fn s3_failure_kind<E: ProvideErrorMetadata>(
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
    reading: bool,
) -> FailureKind {
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => FailureKind::SystemUnavailable,
        _ => {
            let status = err.raw_response().map(|r| r.status().as_u16());
            let code = err.code();
            if status == Some(403)
                || matches!(
                    code,
                    Some("AccessDenied" | "InvalidAccessKeyId" | "ExpiredToken" | "SignatureDoesNotMatch")
                )
            {
                FailureKind::PermissionError
            } else if reading && (status == Some(404) || matches!(code, Some("NoSuchKey" | "NoSuchBucket"))) {
                FailureKind::RevisionUnavailable
            } else if status.is_some_and(|s| s >= 500) {
                FailureKind::SystemUnavailable
            } else {
                FailureKind::JobFailed
            }
        }
    }
}

/// Picks an input artifact: by name, or the first one when no name is configured.
pub fn select_artifact<'a>(
    artifacts: &'a [Artifact],
    name: Option<&str>,
    output: bool,
) -> Result<&'a Artifact, ArtifactError> {
    let none = || if output { ArtifactError::NoOutputArtifact } else { ArtifactError::NoInputArtifact };
    let Some(wanted) = name else { return artifacts.first().ok_or_else(none) };
    if let Some(found) = artifacts.iter().find(|a| a.name == wanted) {
        return Ok(found);
    }
    if artifacts.is_empty() {
        return Err(none());
    }
    let available = artifacts.iter().map(|a| format!("`{}`", a.name)).collect::<Vec<_>>().join(", ");
    let wanted = wanted.to_string();
    Err(if output {
        ArtifactError::UnknownOutputArtifact { wanted, available }
    } else {
        ArtifactError::UnknownInputArtifact { wanted, available }
    })
}

/// One entry of a validated archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryInfo {
    pub name: String,
    /// Declared uncompressed size (reads enforce it).
    pub size: u64,
    pub is_dir: bool,
    index: usize,
}

/// A downloaded, validated zip. Entries are decompressed only on demand.
pub struct ArtifactArchive {
    artifact: String,
    zip: zip::ZipArchive<File>,
    entries: Vec<EntryInfo>,
}

impl fmt::Debug for ArtifactArchive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArtifactArchive")
            .field("artifact", &self.artifact)
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl ArtifactArchive {
    /// Validates the central directory of `file` against `limits`: every entry's path, kind and sizes.
    pub fn open(artifact: &str, file: File, limits: &ZipLimits) -> Result<Self, ArtifactError> {
        let mut zip = zip::ZipArchive::new(file)
            .map_err(|source| ArtifactError::NotAZip { artifact: artifact.into(), source })?;
        if zip.len() > limits.max_entries {
            return Err(ArtifactError::TooManyEntries {
                artifact: artifact.into(),
                count: zip.len(),
                limit: limits.max_entries,
            });
        }
        let mut entries = Vec::with_capacity(zip.len());
        let mut seen = std::collections::HashSet::with_capacity(zip.len());
        let mut total: u64 = 0;
        for index in 0..zip.len() {
            let file = zip
                .by_index_raw(index)
                .map_err(|source| ArtifactError::NotAZip { artifact: artifact.into(), source })?;
            let name = file.name().to_string();
            let fail = |problem| ArtifactError::Entry { artifact: artifact.into(), entry: name.clone(), problem };
            if let Some(problem) = path_problem(&name) {
                return Err(fail(problem));
            }
            if file.is_symlink() {
                return Err(fail(EntryProblem::Symlink));
            }
            if !seen.insert(name.trim_end_matches('/').to_string()) {
                return Err(fail(EntryProblem::Duplicate));
            }
            let is_dir = file.is_dir();
            if !is_dir {
                if file.encrypted() {
                    return Err(fail(EntryProblem::Encrypted));
                }
                let size = file.size();
                if size > limits.max_entry_uncompressed {
                    return Err(fail(EntryProblem::TooLarge { size, limit: limits.max_entry_uncompressed }));
                }
                if size >= limits.ratio_check_min_bytes {
                    let ratio = size / file.compressed_size().max(1);
                    if ratio > limits.max_compression_ratio {
                        return Err(fail(EntryProblem::RatioTooHigh { ratio, limit: limits.max_compression_ratio }));
                    }
                }
                total = total.saturating_add(size);
                if total > limits.max_total_uncompressed {
                    return Err(ArtifactError::TooLargeUncompressed {
                        artifact: artifact.into(),
                        total,
                        limit: limits.max_total_uncompressed,
                    });
                }
            }
            entries.push(EntryInfo { name, size: file.size(), is_dir, index });
        }
        Ok(Self { artifact: artifact.into(), zip, entries })
    }

    pub fn artifact_name(&self) -> &str {
        &self.artifact
    }

    /// Every entry, in archive order.
    pub fn entries(&self) -> &[EntryInfo] {
        &self.entries
    }

    /// The regular files, in archive order.
    pub fn files(&self) -> impl Iterator<Item = &EntryInfo> {
        self.entries.iter().filter(|e| !e.is_dir)
    }

    fn find(&self, name: &str) -> Result<EntryInfo, ArtifactError> {
        let wanted = name.trim_start_matches("./");
        self.entries
            .iter()
            .find(|e| !e.is_dir && e.name == wanted)
            .cloned()
            .ok_or_else(|| ArtifactError::NoSuchEntry { artifact: self.artifact.clone(), entry: name.into() })
    }

    /// Streams one entry into `sink`, refusing more bytes than its header declared.
    fn copy_entry(&mut self, info: &EntryInfo, sink: &mut dyn Write) -> Result<u64, ArtifactError> {
        let read_err =
            |source| ArtifactError::EntryRead { artifact: self.artifact.clone(), entry: info.name.clone(), source };
        let file = self.zip.by_index(info.index).map_err(|e| read_err(io::Error::other(e)))?;
        let copied = io::copy(&mut file.take(info.size + 1), sink).map_err(read_err)?;
        if copied > info.size {
            return Err(ArtifactError::Entry {
                artifact: self.artifact.clone(),
                entry: info.name.clone(),
                problem: EntryProblem::LargerThanDeclared { declared: info.size },
            });
        }
        Ok(copied)
    }

    /// The bytes of one file entry (`name` as listed by [`entries`](Self::entries)).
    pub fn read(&mut self, name: &str) -> Result<Vec<u8>, ArtifactError> {
        let info = self.find(name)?;
        let mut bytes = Vec::with_capacity(usize::try_from(info.size.min(16 * MIB)).unwrap_or(0));
        self.copy_entry(&info, &mut bytes)?;
        Ok(bytes)
    }

    /// One file entry as UTF-8 text.
    pub fn read_to_string(&mut self, name: &str) -> Result<String, ArtifactError> {
        let bytes = self.read(name)?;
        String::from_utf8(bytes).map_err(|_| ArtifactError::Entry {
            artifact: self.artifact.clone(),
            entry: name.into(),
            problem: EntryProblem::NotUtf8,
        })
    }

    /// Extracts every entry under `dir`, one entry in memory at a time at most (streamed).
    pub fn extract_to(&mut self, dir: &Path) -> Result<Vec<PathBuf>, ArtifactError> {
        let io_err = |artifact: &str, source| ArtifactError::LocalIo { artifact: artifact.into(), source };
        let mut written = Vec::new();
        for info in self.entries.clone() {
            // Names were validated in `open`: relative, no `..`, no symlinks.
            let path = dir.join(&info.name);
            if info.is_dir {
                std::fs::create_dir_all(&path).map_err(|e| io_err(&self.artifact, e))?;
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io_err(&self.artifact, e))?;
            }
            let mut out = File::create(&path).map_err(|e| io_err(&self.artifact, e))?;
            self.copy_entry(&info, &mut out)?;
            written.push(path);
        }
        Ok(written)
    }
}

/// Why an entry path is unsafe, if it is.
fn path_problem(name: &str) -> Option<EntryProblem> {
    let bytes = name.as_bytes();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if name.starts_with('/') || name.starts_with('\\') || drive {
        return Some(EntryProblem::AbsolutePath);
    }
    if name.split(['/', '\\']).any(|part| part == "..") {
        return Some(EntryProblem::ParentComponent);
    }
    if name.contains('\0') {
        return Some(EntryProblem::AbsolutePath);
    }
    None
}

/// S3 access with the job's artifact credentials (never the function's own role).
#[derive(Clone, Debug)]
pub struct ArtifactStore {
    s3: aws_sdk_s3::Client,
    limits: ZipLimits,
}

impl ArtifactStore {
    /// An S3 client that signs with `credentials` and otherwise uses `base` (region, endpoint, retries).
    pub fn new(base: &SdkConfig, credentials: &ArtifactCredentials, force_path_style: bool, limits: ZipLimits) -> Self {
        let credentials = Credentials::new(
            credentials.access_key_id.expose(),
            credentials.secret_access_key.expose(),
            credentials.session_token.as_ref().map(|t| t.expose().to_string()),
            None,
            "codepipeline-artifact-credentials",
        );
        let config = aws_sdk_s3::config::Builder::from(base)
            .credentials_provider(credentials)
            .force_path_style(force_path_style)
            .build();
        Self { s3: aws_sdk_s3::Client::from_conf(config), limits }
    }

    /// The client, for callers that need S3 calls of their own with the artifact credentials.
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    /// Downloads `artifact` to an anonymous temp file (bounded by `max_archive_bytes`) and validates it.
    pub async fn open_input(&self, artifact: &Artifact) -> Result<ArtifactArchive, ArtifactError> {
        let name = artifact.name.as_str();
        let location = &artifact.location.s3_location;
        let local = |source| ArtifactError::LocalIo { artifact: name.into(), source };
        let response =
            self.s3.get_object().bucket(&location.bucket_name).key(&location.object_key).send().await.map_err(
                |source| ArtifactError::Download {
                    artifact: name.into(),
                    location: location.to_string(),
                    source: Box::new(source),
                },
            )?;
        let limit = self.limits.max_archive_bytes;
        if let Some(size) = response.content_length().and_then(|l| u64::try_from(l).ok())
            && size > limit
        {
            return Err(ArtifactError::ArchiveTooLarge { artifact: name.into(), size, limit });
        }
        let std_file = tempfile::tempfile().map_err(local)?;
        let mut file = tokio::fs::File::from_std(std_file.try_clone().map_err(local)?);
        let mut body = response.body;
        let mut size: u64 = 0;
        while let Some(chunk) = body.try_next().await.map_err(|source| ArtifactError::DownloadStream {
            artifact: name.into(),
            location: location.to_string(),
            source,
        })? {
            size += chunk.len() as u64;
            if size > limit {
                return Err(ArtifactError::ArchiveTooLarge { artifact: name.into(), size, limit });
            }
            file.write_all(&chunk).await.map_err(local)?;
        }
        file.flush().await.map_err(local)?;
        drop(file);
        let mut std_file = std_file;
        std_file.rewind().map_err(local)?;
        let limits = self.limits;
        let artifact_name = name.to_string();
        tokio::task::spawn_blocking(move || ArtifactArchive::open(&artifact_name, std_file, &limits))
            .await
            .map_err(|join| local(io::Error::other(join)))?
    }

    /// Uploads a finished output zip to the artifact's location, with SSE-KMS under `key` when the job
    /// carries an encryption key (else the bucket's default encryption applies).
    pub async fn put_output(
        &self,
        artifact: &Artifact,
        archive: OutputArchive,
        key: Option<&EncryptionKey>,
    ) -> Result<(), ArtifactError> {
        let location: &S3Location = &artifact.location.s3_location;
        let name = artifact.name.as_str();
        let file = archive.finish(name)?;
        let body = ByteStream::from_path(file.path())
            .await
            .map_err(|e| ArtifactError::LocalIo { artifact: name.into(), source: io::Error::other(e) })?;
        let mut request = self
            .s3
            .put_object()
            .bucket(&location.bucket_name)
            .key(&location.object_key)
            .content_type("application/zip")
            .body(body);
        if let Some(key) = key.filter(|k| k.is_kms()) {
            request = request.server_side_encryption(ServerSideEncryption::AwsKms).ssekms_key_id(&key.id);
        }
        request.send().await.map_err(|source| ArtifactError::Upload {
            artifact: name.into(),
            location: location.to_string(),
            source: Box::new(source),
        })?;
        Ok(())
    }
}

/// An output artifact being written: a zip in a named temp file.
pub struct OutputArchive {
    writer: zip::ZipWriter<File>,
    file: tempfile::NamedTempFile,
}

impl fmt::Debug for OutputArchive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputArchive").field("path", &self.file.path()).finish()
    }
}

impl OutputArchive {
    pub fn new() -> io::Result<Self> {
        let file = tempfile::NamedTempFile::new()?;
        let writer = zip::ZipWriter::new(file.reopen()?);
        Ok(Self { writer, file })
    }

    /// Adds one file (deflated).
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o644);
        self.writer.start_file(name, options).map_err(io::Error::other)?;
        self.writer.write_all(bytes)
    }

    fn finish(self, artifact: &str) -> Result<tempfile::NamedTempFile, ArtifactError> {
        let mut file =
            self.writer.finish().map_err(|source| ArtifactError::OutputZip { artifact: artifact.into(), source })?;
        file.flush().map_err(|source| ArtifactError::LocalIo { artifact: artifact.into(), source })?;
        Ok(self.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ArtifactLocation, S3Location};
    use zip::write::SimpleFileOptions;

    enum Item<'a> {
        File(&'a str, Vec<u8>),
        Stored(&'a str, Vec<u8>),
        Dir(&'a str),
        Symlink(&'a str, &'a str),
    }

    fn build(items: &[Item<'_>]) -> File {
        let file = tempfile::tempfile().expect("temp");
        let mut writer = zip::ZipWriter::new(file);
        let deflate = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for item in items {
            match item {
                Item::File(name, bytes) => {
                    writer.start_file(*name, deflate).expect("start");
                    writer.write_all(bytes).expect("write");
                }
                Item::Stored(name, bytes) => {
                    writer.start_file(*name, stored).expect("start");
                    writer.write_all(bytes).expect("write");
                }
                Item::Dir(name) => writer.add_directory(*name, deflate).expect("dir"),
                Item::Symlink(name, target) => writer.add_symlink(*name, *target, deflate).expect("link"),
            }
        }
        let mut file = writer.finish().expect("finish");
        file.rewind().expect("rewind");
        file
    }

    fn open(items: &[Item<'_>], limits: ZipLimits) -> Result<ArtifactArchive, String> {
        ArtifactArchive::open("SourceOutput", build(items), &limits).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_and_extracts_a_normal_archive() {
        let mut archive = open(
            &[
                Item::Dir("templates/"),
                Item::File("templates/app.yaml", b"Resources: {}\n".to_vec()),
                Item::File("README.md", b"hello".to_vec()),
            ],
            ZipLimits::default(),
        )
        .expect("open");
        let names: Vec<_> = archive.files().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["templates/app.yaml", "README.md"]);
        assert_eq!(archive.read_to_string("./templates/app.yaml").expect("read"), "Resources: {}\n");
        let dir = tempfile::tempdir().expect("dir");
        let written = archive.extract_to(dir.path()).expect("extract");
        assert_eq!(written.len(), 2);
        assert_eq!(std::fs::read(dir.path().join("README.md")).expect("read back"), b"hello");
        let missing = archive.read("nope.txt").expect_err("missing");
        assert_eq!(missing.to_string(), "artifact `SourceOutput` has no entry \"nope.txt\"");
    }

    #[test]
    fn too_many_entries() {
        let items: Vec<_> = (0..5).map(|i| Item::Dir(Box::leak(format!("d{i}/").into_boxed_str()))).collect();
        let limits = ZipLimits { max_entries: 4, ..ZipLimits::default() };
        assert_eq!(
            open(&items, limits).expect_err("limit"),
            "artifact `SourceOutput` has 5 entries; the limit is 4 (ARTIFACT_MAX_ENTRIES)"
        );
    }

    #[test]
    fn total_uncompressed_limit() {
        let limits = ZipLimits { max_total_uncompressed: 1500, ..ZipLimits::default() };
        let err =
            open(&[Item::Stored("a", vec![1; 1000]), Item::Stored("b", vec![2; 1000])], limits).expect_err("limit");
        assert_eq!(
            err,
            "artifact `SourceOutput` expands to 2000 bytes; the limit is 1500 bytes (ARTIFACT_MAX_TOTAL_BYTES)"
        );
    }

    #[test]
    fn per_entry_limit() {
        let limits = ZipLimits { max_entry_uncompressed: 999, ..ZipLimits::default() };
        let err = open(&[Item::Stored("big.json", vec![1; 1000])], limits).expect_err("limit");
        assert_eq!(
            err,
            "artifact `SourceOutput`, entry \"big.json\": uncompressed size 1000 bytes exceeds the per-entry limit of 999 bytes (ARTIFACT_MAX_ENTRY_BYTES)"
        );
    }

    #[test]
    fn compression_ratio_limit_catches_a_bomb() {
        let err = open(&[Item::File("zeros.bin", vec![0; 8 * 1024 * 1024])], ZipLimits::default()).expect_err("bomb");
        assert!(err.starts_with("artifact `SourceOutput`, entry \"zeros.bin\": compression ratio "), "{err}");
        assert!(err.ends_with(":1 exceeds the limit of 200:1 (zip bomb?; ARTIFACT_MAX_COMPRESSION_RATIO)"), "{err}");
        // Small files are exempt: 1000 zeros compress far beyond 200:1 but cannot hurt.
        open(&[Item::File("small", vec![0; 1000])], ZipLimits::default()).expect("small is fine");
    }

    #[test]
    fn zip_slip_entries_are_refused() {
        for (name, expected) in [
            ("/etc/passwd", "absolute paths are not allowed in an artifact (zip slip)"),
            ("\\windows\\system.ini", "absolute paths are not allowed in an artifact (zip slip)"),
            ("C:/evil.txt", "absolute paths are not allowed in an artifact (zip slip)"),
            ("../outside.txt", "`..` path components are not allowed in an artifact (zip slip)"),
            ("a/../../outside.txt", "`..` path components are not allowed in an artifact (zip slip)"),
            ("a\\..\\b.txt", "`..` path components are not allowed in an artifact (zip slip)"),
        ] {
            let err = open(&[Item::File(name, b"x".to_vec())], ZipLimits::default()).expect_err(name);
            assert_eq!(err, format!("artifact `SourceOutput`, entry {name:?}: {expected}"));
        }
    }

    #[test]
    fn symlinks_are_refused() {
        let err = open(&[Item::Symlink("link", "/etc/passwd")], ZipLimits::default()).expect_err("symlink");
        assert_eq!(err, "artifact `SourceOutput`, entry \"link\": symbolic links are not allowed in an artifact");
    }

    #[test]
    fn duplicate_names_are_refused() {
        let file = tempfile::tempfile().expect("temp");
        let mut writer = zip::ZipWriter::new(file);
        let options = SimpleFileOptions::default();
        writer.start_file("a.sql", options).expect("start");
        writer.write_all(b"1").expect("write");
        // The zip crate refuses duplicates itself; a hostile archive is built by other tools, so the check
        // is exercised on names that differ only by a trailing slash (a file and a directory).
        writer.add_directory("a.sql/", options).expect("dir");
        let mut file = writer.finish().expect("finish");
        file.rewind().expect("rewind");
        let err = ArtifactArchive::open("Src", file, &ZipLimits::default()).expect_err("dup").to_string();
        assert_eq!(err, "artifact `Src`, entry \"a.sql/\": the archive holds two entries with this name");
    }

    #[test]
    fn not_a_zip() {
        let mut file = tempfile::tempfile().expect("temp");
        file.write_all(b"definitely not a zip").expect("write");
        file.rewind().expect("rewind");
        let err = ArtifactArchive::open("Src", file, &ZipLimits::default()).expect_err("not zip");
        assert_eq!(err.to_string(), "artifact `Src` is not a readable zip archive");
        assert_eq!(err.failure_kind(), FailureKind::JobFailed);
    }

    fn artifact(name: &str) -> Artifact {
        Artifact {
            name: name.into(),
            revision: None,
            location: ArtifactLocation {
                location_type: Some("S3".into()),
                s3_location: S3Location { bucket_name: "b".into(), object_key: format!("k/{name}") },
            },
        }
    }

    #[test]
    fn selecting_artifacts() {
        let list = [artifact("SourceOutput"), artifact("Templates")];
        assert_eq!(select_artifact(&list, None, false).expect("first").name, "SourceOutput");
        assert_eq!(select_artifact(&list, Some("Templates"), false).expect("named").name, "Templates");
        let err = select_artifact(&list, Some("Tmpl"), false).expect_err("wrong");
        assert_eq!(
            err.to_string(),
            "no input artifact named `Tmpl`; the action's input artifacts are: `SourceOutput`, `Templates`"
        );
        assert_eq!(err.failure_kind(), FailureKind::ConfigurationError);
        let err = select_artifact(&[], None, false).expect_err("none");
        assert_eq!(err.to_string(), "the action has no input artifact; add one to the action in the pipeline");
        let err = select_artifact(&[], None, true).expect_err("none");
        assert_eq!(err.to_string(), "the action has no output artifact; add one to the action in the pipeline");
    }

    #[test]
    fn output_archive_round_trips() {
        let mut out = OutputArchive::new().expect("new");
        out.add("report.json", b"{}").expect("add");
        out.add("templates/app.yaml", b"Resources: {}").expect("add");
        let file = out.finish("Report").expect("finish");
        let mut archive =
            ArtifactArchive::open("Report", File::open(file.path()).expect("open"), &ZipLimits::default())
                .expect("valid");
        assert_eq!(archive.read_to_string("report.json").expect("read"), "{}");
    }
}
