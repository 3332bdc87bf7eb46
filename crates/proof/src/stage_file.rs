//! The binary form of the lifecycle stages' proof files (a preprocessing proof, a training
//! transcript, an accuracy or prediction proof, a monitoring proof).
//!
//! Each stage crate defines its file as a serde struct (its JSON form is documented in
//! `docs/formats.md`). Hex-encoded proof bytes make that JSON twice the proof's size, so the
//! files are written in binary by default:
//!
//! | bytes | content |
//! |---|---|
//! | 4 | magic `ZKMS` |
//! | 2 | version, u16 little-endian ([`STAGE_FILE_VERSION`]) |
//! | 1 | the [`StageFileKind`] |
//! | rest | CBOR (RFC 8949) of the same struct: byte strings (proofs, digests) as raw bytes |
//!
//! CBOR rather than postcard because the stage structs use optional fields that older files
//! omit, which a self-describing encoding keeps readable. Decoding refuses another magic,
//! version or kind, a malformed body, trailing bytes and any encoding other than the one
//! [`encode_stage_file`] writes (the decoded value is re-encoded and compared), so the binary
//! form is canonical like the other formats.
//!
//! ```
//! use zkmlops_proof::{StageFileError, StageFileKind, decode_stage_file, encode_stage_file};
//! let bytes = encode_stage_file(StageFileKind::Monitoring, &vec![1u32, 2, 3]).unwrap();
//! let back: Vec<u32> = decode_stage_file(StageFileKind::Monitoring, &bytes).unwrap();
//! assert_eq!(back, [1, 2, 3]);
//! // A file of another stage is refused with the kinds named.
//! assert!(matches!(
//!     decode_stage_file::<Vec<u32>>(StageFileKind::Preprocessing, &bytes),
//!     Err(StageFileError::Kind { .. })
//! ));
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

/// First bytes of a binary stage file.
pub const STAGE_FILE_MAGIC: [u8; 4] = *b"ZKMS";
/// The stage-file container version this build writes and reads.
pub const STAGE_FILE_VERSION: u16 = 1;
/// Bytes before the CBOR body: magic, version, kind.
const HEADER_LEN: usize = 7;

/// Which stage's file a binary stage file holds (one byte after the version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StageFileKind {
    /// `zkmlops_preprocess::PreprocessProof`.
    Preprocessing,
    /// `zkmlops_train::TrainingTranscript`.
    TrainingTranscript,
    /// `zkmlops_train::MetricsProof` (accuracy on a committed test split).
    Metrics,
    /// `zkmlops_train::PredictionProof`.
    Prediction,
    /// `zkmlops_monitor::MonitorProof`.
    Monitoring,
}

impl StageFileKind {
    /// Every kind, in code order.
    pub const ALL: [StageFileKind; 5] = [
        StageFileKind::Preprocessing,
        StageFileKind::TrainingTranscript,
        StageFileKind::Metrics,
        StageFileKind::Prediction,
        StageFileKind::Monitoring,
    ];

    /// The byte that names the kind in the header.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            StageFileKind::Preprocessing => 1,
            StageFileKind::TrainingTranscript => 2,
            StageFileKind::Metrics => 3,
            StageFileKind::Prediction => 4,
            StageFileKind::Monitoring => 5,
        }
    }

    /// The kind a header byte names.
    #[must_use]
    pub fn from_code(code: u8) -> Option<StageFileKind> {
        StageFileKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// A short name for messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            StageFileKind::Preprocessing => "preprocessing proof",
            StageFileKind::TrainingTranscript => "training transcript",
            StageFileKind::Metrics => "accuracy proof",
            StageFileKind::Prediction => "prediction proof",
            StageFileKind::Monitoring => "monitoring proof",
        }
    }
}

impl StageFileKind {
    /// The names the CLI gives this stage's file: binary first, then the JSON form.
    #[must_use]
    pub fn file_names(self) -> [&'static str; 2] {
        match self {
            StageFileKind::Preprocessing => ["proof.zkp", "proof.json"],
            StageFileKind::TrainingTranscript => ["transcript.zkp", "transcript.json"],
            StageFileKind::Metrics => ["metrics.zkp", "metrics.json"],
            StageFileKind::Prediction => ["prediction.zkp", "prediction.json"],
            StageFileKind::Monitoring => ["monitor.zkp", "monitor.json"],
        }
    }
}

/// The stage file a path names: the path itself, or for a directory (a run or preprocessing
/// output) its binary file when present, else its JSON file (written by `--format json` or an
/// older version), else the binary name (so a "not found" names what is expected).
#[must_use]
pub fn stage_path(path: &std::path::Path, kind: StageFileKind) -> std::path::PathBuf {
    if !path.is_dir() {
        return path.to_path_buf();
    }
    let [binary, json] = kind.file_names().map(|n| path.join(n));
    if !binary.exists() && json.exists() {
        json
    } else {
        binary
    }
}

impl std::fmt::Display for StageFileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why bytes are not a stage file of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StageFileError {
    /// The bytes do not start with [`STAGE_FILE_MAGIC`] (or are shorter than the header).
    #[error("not a binary zkmlops stage file (expected the magic ZKMS and a 7-byte header)")]
    Magic,
    /// Another container version.
    #[error(
        "unsupported stage-file version {found} (this build reads version {supported}); \
         re-prove the stage with this version of zkmlops"
    )]
    UnsupportedVersion {
        /// The file's version.
        found: u16,
        /// [`STAGE_FILE_VERSION`].
        supported: u16,
    },
    /// The file holds another stage's proof (or an unknown kind byte).
    #[error("the file holds {}, not a {expected}", found.map_or_else(|| format!("an unknown kind (byte {code})"), |k| format!("a {k}")))]
    Kind {
        /// What the caller asked for.
        expected: StageFileKind,
        /// What the header names, when it is a known kind.
        found: Option<StageFileKind>,
        /// The header's kind byte.
        code: u8,
    },
    /// The header's kind byte names no stage this build knows.
    #[error("unknown stage-file kind (byte {code})")]
    UnknownKind {
        /// The header's kind byte.
        code: u8,
    },
    /// The CBOR body does not decode to the expected struct.
    #[error("malformed {kind} body: {reason}")]
    Body {
        /// The kind being decoded.
        kind: StageFileKind,
        /// The decoder's message.
        reason: String,
    },
    /// The body decodes but is not the canonical encoding of what it decodes to (for example
    /// trailing bytes, a map in another order, a longer integer form).
    #[error(
        "non-canonical {kind} encoding ({len} body bytes; the canonical encoding of its value has {canonical_len})"
    )]
    NonCanonical {
        /// The kind being decoded.
        kind: StageFileKind,
        /// The body's length.
        len: usize,
        /// The canonical re-encoding's length.
        canonical_len: usize,
    },
    /// A file without the magic is read as JSON, and that failed.
    #[error("neither a binary stage file nor a JSON {kind}: {reason}")]
    Json {
        /// The kind being decoded.
        kind: StageFileKind,
        /// The JSON parser's message.
        reason: String,
    },
    /// The value cannot be encoded (a serializer error; not expected for the stage structs).
    #[error("cannot encode the {kind}: {reason}")]
    Encode {
        /// The kind being encoded.
        kind: StageFileKind,
        /// The serializer's message.
        reason: String,
    },
}

/// Whether `bytes` start like a binary stage file (the magic), so a reader can fall back to
/// JSON otherwise.
#[must_use]
pub fn is_stage_file(bytes: &[u8]) -> bool {
    bytes.starts_with(&STAGE_FILE_MAGIC)
}

fn body<T: Serialize>(kind: StageFileKind, value: &T) -> Result<Vec<u8>, StageFileError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| StageFileError::Encode {
        kind,
        reason: e.to_string(),
    })?;
    Ok(out)
}

/// The binary stage file of `value`.
///
/// # Errors
/// [`StageFileError::Encode`] when the serializer refuses the value.
pub fn encode_stage_file<T: Serialize>(
    kind: StageFileKind,
    value: &T,
) -> Result<Vec<u8>, StageFileError> {
    let body = body(kind, value)?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&STAGE_FILE_MAGIC);
    out.extend_from_slice(&STAGE_FILE_VERSION.to_le_bytes());
    out.push(kind.code());
    out.extend_from_slice(&body);
    Ok(out)
}

/// The kind byte of a stage-file header, after its magic and version are checked.
fn header_code(bytes: &[u8]) -> Result<u8, StageFileError> {
    if bytes.len() < HEADER_LEN || !is_stage_file(bytes) {
        return Err(StageFileError::Magic);
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != STAGE_FILE_VERSION {
        return Err(StageFileError::UnsupportedVersion {
            found: version,
            supported: STAGE_FILE_VERSION,
        });
    }
    Ok(bytes[6])
}

/// Which stage's file `bytes` hold, from the header alone (the body is not decoded), so a
/// reader can dispatch on it.
///
/// # Errors
/// [`StageFileError::Magic`], [`StageFileError::UnsupportedVersion`], or
/// [`StageFileError::UnknownKind`] for a kind byte this build does not know.
pub fn stage_file_kind(bytes: &[u8]) -> Result<StageFileKind, StageFileError> {
    let code = header_code(bytes)?;
    StageFileKind::from_code(code).ok_or(StageFileError::UnknownKind { code })
}

/// Decode a binary stage file of `kind`.
///
/// # Errors
/// [`StageFileError`]: another magic, version or kind, a malformed or non-canonical body.
pub fn decode_stage_file<T: Serialize + DeserializeOwned>(
    kind: StageFileKind,
    bytes: &[u8],
) -> Result<T, StageFileError> {
    let code = header_code(bytes)?;
    if code != kind.code() {
        return Err(StageFileError::Kind {
            expected: kind,
            found: StageFileKind::from_code(code),
            code,
        });
    }
    let rest = &bytes[HEADER_LEN..];
    let mut reader = rest;
    let value: T = ciborium::from_reader(&mut reader).map_err(|e| StageFileError::Body {
        kind,
        reason: e.to_string(),
    })?;
    let canonical = body(kind, &value)?;
    if canonical != rest {
        return Err(StageFileError::NonCanonical {
            kind,
            len: rest.len(),
            canonical_len: canonical.len(),
        });
    }
    Ok(value)
}

/// A lifecycle stage's proof file: its binary form ([`encode_stage_file`]) and its JSON form.
///
/// Implemented by the stage crates for their file structs; readers use
/// [`StageFile::from_file_bytes`], which takes either form.
pub trait StageFile: Serialize + DeserializeOwned {
    /// The header's kind byte for this struct.
    const KIND: StageFileKind;

    /// The binary stage file.
    ///
    /// # Errors
    /// [`StageFileError::Encode`] when the serializer refuses the value.
    fn to_binary(&self) -> Result<Vec<u8>, StageFileError> {
        encode_stage_file(Self::KIND, self)
    }

    /// The JSON form (pretty-printed; byte strings as hex).
    ///
    /// # Errors
    /// [`StageFileError::Encode`] when the serializer refuses the value.
    fn to_json(&self) -> Result<String, StageFileError> {
        serde_json::to_string_pretty(self).map_err(|e| StageFileError::Encode {
            kind: Self::KIND,
            reason: e.to_string(),
        })
    }

    /// Decode a binary stage file ([`decode_stage_file`]).
    ///
    /// # Errors
    /// See [`decode_stage_file`].
    fn from_binary(bytes: &[u8]) -> Result<Self, StageFileError> {
        decode_stage_file(Self::KIND, bytes)
    }

    /// Decode a file in either form: binary when it starts with [`STAGE_FILE_MAGIC`], JSON
    /// otherwise.
    ///
    /// # Errors
    /// [`StageFileError`]: the binary decoder's errors, or [`StageFileError::Json`].
    fn from_file_bytes(bytes: &[u8]) -> Result<Self, StageFileError> {
        if is_stage_file(bytes) {
            Self::from_binary(bytes)
        } else {
            serde_json::from_slice(bytes).map_err(|e| StageFileError::Json {
                kind: Self::KIND,
                reason: e.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct File {
        version: u32,
        #[serde(with = "crate::hexbytes::vec")]
        proof: Vec<u8>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extra: Option<String>,
    }

    fn sample() -> File {
        File {
            version: 1,
            proof: (0..=255).collect(),
            extra: None,
        }
    }

    #[test]
    fn round_trips_with_raw_bytes() {
        let f = sample();
        let bytes = encode_stage_file(StageFileKind::Preprocessing, &f).unwrap();
        // The proof's 256 bytes appear once, raw (JSON would carry 512 hex characters).
        assert!(bytes.len() < 256 + 40, "{} bytes", bytes.len());
        assert!(bytes.windows(256).any(|w| w == f.proof.as_slice()));
        let back: File = decode_stage_file(StageFileKind::Preprocessing, &bytes).unwrap();
        assert_eq!(back, f);
        let with_extra = File {
            extra: Some("x".into()),
            ..sample()
        };
        let b2 = encode_stage_file(StageFileKind::Preprocessing, &with_extra).unwrap();
        let back: File = decode_stage_file(StageFileKind::Preprocessing, &b2).unwrap();
        assert_eq!(back, with_extra);
    }

    impl StageFile for File {
        const KIND: StageFileKind = StageFileKind::Metrics;
    }

    #[test]
    fn either_form_reads_back() {
        let f = sample();
        let bin = f.to_binary().unwrap();
        let json = f.to_json().unwrap();
        assert!(json.len() > 2 * f.proof.len(), "hex in JSON");
        assert_eq!(File::from_file_bytes(&bin).unwrap(), f);
        assert_eq!(File::from_file_bytes(json.as_bytes()).unwrap(), f);
        assert!(matches!(
            File::from_file_bytes(b"{\"version\": 1}"),
            Err(StageFileError::Json { .. })
        ));
    }

    #[test]
    fn header_faults_are_typed() {
        let bytes = encode_stage_file(StageFileKind::Monitoring, &sample()).unwrap();
        let dec = |b: &[u8], k| decode_stage_file::<File>(k, b);
        assert_eq!(
            dec(&bytes[..6], StageFileKind::Monitoring),
            Err(StageFileError::Magic)
        );
        let mut b = bytes.clone();
        b[0] ^= 1;
        assert_eq!(
            dec(&b, StageFileKind::Monitoring),
            Err(StageFileError::Magic)
        );
        let mut b = bytes.clone();
        b[4] = 2;
        assert_eq!(
            dec(&b, StageFileKind::Monitoring),
            Err(StageFileError::UnsupportedVersion {
                found: 2,
                supported: 1
            })
        );
        assert_eq!(
            dec(&bytes, StageFileKind::Metrics),
            Err(StageFileError::Kind {
                expected: StageFileKind::Metrics,
                found: Some(StageFileKind::Monitoring),
                code: 5
            })
        );
        let mut b = bytes.clone();
        b[6] = 99;
        let e = dec(&b, StageFileKind::Monitoring).unwrap_err();
        assert!(e.to_string().contains("unknown kind (byte 99)"), "{e}");
        assert_eq!(stage_file_kind(&bytes), Ok(StageFileKind::Monitoring));
        assert_eq!(
            stage_file_kind(&b),
            Err(StageFileError::UnknownKind { code: 99 })
        );
    }

    #[test]
    fn trailing_and_truncated_bodies_are_refused() {
        let bytes = encode_stage_file(StageFileKind::Prediction, &sample()).unwrap();
        let mut b = bytes.clone();
        b.push(0);
        assert!(matches!(
            decode_stage_file::<File>(StageFileKind::Prediction, &b),
            Err(StageFileError::NonCanonical { .. })
        ));
        for cut in [HEADER_LEN, HEADER_LEN + 1, bytes.len() - 1] {
            assert!(matches!(
                decode_stage_file::<File>(StageFileKind::Prediction, &bytes[..cut]),
                Err(StageFileError::Body { .. })
            ));
        }
    }

    #[test]
    fn a_non_canonical_integer_is_refused() {
        // `version: 1` as a one-byte integer (0x01) re-written in the two-byte form (0x18 0x01).
        let bytes = encode_stage_file(StageFileKind::Metrics, &sample()).unwrap();
        let at = bytes
            .windows(8)
            .position(|w| w == b"version\x01")
            .expect("the version field");
        let mut b = bytes[..at + 7].to_vec();
        b.extend_from_slice(&[0x18, 0x01]);
        b.extend_from_slice(&bytes[at + 8..]);
        assert!(matches!(
            decode_stage_file::<File>(StageFileKind::Metrics, &b),
            Err(StageFileError::NonCanonical { .. })
        ));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let bytes = encode_stage_file(StageFileKind::TrainingTranscript, &sample()).unwrap();
        for i in 0..bytes.len() {
            for flip in [1u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                let _ = decode_stage_file::<File>(StageFileKind::TrainingTranscript, &b);
            }
        }
        // A huge declared byte-string length with no data behind it.
        let mut b = bytes[..HEADER_LEN].to_vec();
        b.extend_from_slice(&[0xa1, 0x65]);
        b.extend_from_slice(b"proof");
        b.extend_from_slice(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(
            decode_stage_file::<File>(StageFileKind::TrainingTranscript, &b),
            Err(StageFileError::Body { .. })
        ));
    }
}
