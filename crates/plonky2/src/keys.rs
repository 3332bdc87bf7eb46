//! Verifier keys: what a verifier needs of a circuit (its common data and verifying key), kept
//! in memory and, when asked for, on disk, so that a verifier in a fresh process does not
//! rebuild circuits it has built before.
//!
//! plonky2 has no setup, and this backend trusts no key from a prover: the verifier builds every
//! circuit from the Program (and an aggregate's circuits from its members'). Building is the
//! expensive part of verifying (a member circuit's polynomials and Merkle tree: 0.1-5 s; an
//! aggregation layer about 2 s), while checking a proof takes milliseconds. A key built once is
//! therefore kept:
//!
//! - **in memory**, for the life of the process (the most recent [`MEMORY_ENTRIES`]);
//! - **on disk**, in the directory given to [`set_key_cache_dir`] (the CLI uses one by default,
//!   `zkmlops --help` says where): one file per circuit, named by a Poseidon hash of what
//!   determines the circuit (a member: its Program digest and preset; an aggregation circuit: its
//!   kind, preset, link positions and its children's common data) together with a fingerprint
//!   of the code that builds circuits (this crate's build script hashes the lowering's sources
//!   and the `Cargo.lock`), so a key is only reused by a build whose circuits are the same.
//!
//! **Trust.** The cache is the verifier's own state, written by its own builds: it is trusted
//! like the verifier's binary (a process that can write the directory can make the verifier
//! accept anything, as it could by replacing the binary). Never fill it with files received
//! from a prover. A file that does not decode, or whose recorded key does not match its name,
//! is rebuilt. Delete the directory to start over.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use plonky2::field::types::{Field, Field64, PrimeField64};
use plonky2::gates::arithmetic_base::ArithmeticGate;
use plonky2::gates::arithmetic_extension::ArithmeticExtensionGate;
use plonky2::gates::base_sum::BaseSumGate;
use plonky2::gates::constant::ConstantGate;
use plonky2::gates::coset_interpolation::CosetInterpolationGate;
use plonky2::gates::exponentiation::ExponentiationGate;
use plonky2::gates::lookup::LookupGate;
use plonky2::gates::lookup_table::LookupTableGate;
use plonky2::gates::multiplication_extension::MulExtensionGate;
use plonky2::gates::noop::NoopGate;
use plonky2::gates::poseidon::PoseidonGate;
use plonky2::gates::poseidon_mds::PoseidonMdsGate;
use plonky2::gates::public_input::PublicInputGate;
use plonky2::gates::random_access::RandomAccessGate;
use plonky2::gates::reducing::ReducingGate;
use plonky2::gates::reducing_extension::ReducingExtensionGate;
use plonky2::get_gate_tag_impl;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::impl_gate_serializer;
use plonky2::plonk::circuit_data::{
    CommonCircuitData, VerifierCircuitData, VerifierOnlyCircuitData,
};
use plonky2::plonk::config::Hasher;
use plonky2::read_gate_impl;
use plonky2::util::serialization::GateSerializer;

use crate::Plonky2Error;
use crate::circuit::{C, D, F};
use crate::dot_gate::DotGate;
use crate::poseidon2_gate::Poseidon2Gate;
use crate::range::LimbsGate;

/// Keys kept in memory (most recent last).
pub const MEMORY_ENTRIES: usize = 64;

/// The code fingerprint of this build (see the module docs).
pub const CIRCUIT_FINGERPRINT: &str = env!("ZKMLOPS_PLONKY2_CIRCUIT_FINGERPRINT");

/// The first bytes of a key file, version 1.
const MAGIC: &[u8; 8] = b"ZKP2VK01";

/// Every gate this backend's circuits use: plonky2's own (as its `DefaultGateSerializer`) and
/// the Poseidon2 gate of committed tensors.
#[derive(Debug)]
pub struct Gates;

impl GateSerializer<F, D> for Gates {
    impl_gate_serializer! {
        Gates,
        ArithmeticGate,
        ArithmeticExtensionGate<D>,
        BaseSumGate<2>,
        ConstantGate,
        CosetInterpolationGate<F, D>,
        ExponentiationGate<F, D>,
        LookupGate,
        LookupTableGate,
        MulExtensionGate<D>,
        NoopGate,
        PoseidonMdsGate<F, D>,
        PoseidonGate<F, D>,
        PublicInputGate,
        RandomAccessGate<F, D>,
        ReducingExtensionGate<D>,
        ReducingGate<D>,
        Poseidon2Gate,
        DotGate,
        LimbsGate
    }
}

/// Plonky2's Poseidon over field elements (four-element digests).
pub(crate) fn hash(parts: &[F]) -> [F; 4] {
    PoseidonHash::hash_no_pad(parts).elements
}

/// Bytes as field elements, seven to an element (below the Goldilocks modulus), then hashed.
pub(crate) fn hash_bytes(bytes: &[u8]) -> [F; 4] {
    let elements: Vec<F> = bytes
        .chunks(7)
        .map(|c| {
            let mut v = [0u8; 8];
            for (d, s) in v.iter_mut().zip(c) {
                *d = *s;
            }
            F::from_canonical_u64(u64::from_le_bytes(v))
        })
        .collect();
    let mut parts = vec![F::from_canonical_usize(bytes.len())];
    parts.extend(elements);
    hash(&parts)
}

/// A 256-bit key of a circuit's common data (what a circuit verifying its proofs depends on).
pub(crate) fn common_key(cd: &CommonCircuitData<F, D>) -> [F; 4] {
    let bytes = cd
        .to_bytes(&Gates)
        .unwrap_or_else(|_| format!("{cd:?}").into_bytes());
    hash_bytes(&bytes)
}

/// The hash of a verifying key (circuit digest and constants/sigmas cap) that aggregation
/// digests bind.
pub(crate) fn vk_hash(vd: &VerifierOnlyCircuitData<C, D>) -> [F; 4] {
    let mut parts = vd.circuit_digest.elements.to_vec();
    parts.extend(vd.constants_sigmas_cap.flatten());
    hash(&parts)
}

/// What a verifier keeps of a circuit.
pub(crate) struct VerifierKey {
    /// [`common_key`] of the circuit's common data.
    pub(crate) common_key: [F; 4],
    /// [`vk_hash`] of its verifying key.
    pub(crate) vk_hash: [F; 4],
    /// The serialised [`VerifierCircuitData`], decoded on first use.
    encoded: Vec<u8>,
    data: OnceLock<Option<VerifierCircuitData<F, C, D>>>,
}

impl VerifierKey {
    /// The key of a circuit just built.
    pub(crate) fn of(data: VerifierCircuitData<F, C, D>) -> Self {
        let encoded = data.to_bytes(&Gates).unwrap_or_default();
        let key = VerifierKey {
            common_key: common_key(&data.common),
            vk_hash: vk_hash(&data.verifier_only),
            encoded,
            data: OnceLock::new(),
        };
        let _ = key.data.set(Some(data));
        key
    }

    /// The circuit's verifier data (decoded from the key file on first use).
    pub(crate) fn data(&self) -> Result<&VerifierCircuitData<F, C, D>, Plonky2Error> {
        self.data
            .get_or_init(|| {
                // A damaged file must not take the verifier down: plonky2's decoder may panic.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    VerifierCircuitData::from_bytes(self.encoded.clone(), &Gates).ok()
                }))
                .ok()
                .flatten()
            })
            .as_ref()
            .ok_or(Plonky2Error::Decode)
    }

    /// The key file's bytes: magic, the file's key, the common-data key, the vk hash, the data.
    fn file_bytes(&self, key: &[F; 4]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        for limb in key.iter().chain(&self.common_key).chain(&self.vk_hash) {
            out.extend(limb.to_canonical_u64().to_le_bytes());
        }
        out.extend(&self.encoded);
        out
    }

    /// Parse a key file written for `key` (`None` when it is not one).
    fn from_file_bytes(key: &[F; 4], bytes: &[u8]) -> Option<Self> {
        let rest = bytes.strip_prefix(MAGIC.as_slice())?;
        let (limbs, encoded) = (rest.get(..96)?, rest.get(96..)?);
        let mut values = limbs.chunks(8).map(|c| {
            let v = u64::from_le_bytes(c.try_into().ok()?);
            (v < F::ORDER).then(|| F::from_canonical_u64(v))
        });
        let mut four = || -> Option<[F; 4]> {
            Some([
                values.next()??,
                values.next()??,
                values.next()??,
                values.next()??,
            ])
        };
        if four()? != *key {
            return None;
        }
        let (common_key, vk_hash) = (four()?, four()?);
        if encoded.is_empty() {
            return None;
        }
        Some(VerifierKey {
            common_key,
            vk_hash,
            encoded: encoded.to_vec(),
            data: OnceLock::new(),
        })
    }
}

fn dir_slot() -> &'static Mutex<Option<PathBuf>> {
    static DIR: OnceLock<Mutex<Option<PathBuf>>> = OnceLock::new();
    DIR.get_or_init(|| Mutex::new(None))
}

/// Keep verifier keys in `dir` (created when first written), or in memory only (`None`, the
/// default of the library). Applies to every later verification in the process.
pub fn set_key_cache_dir(dir: Option<PathBuf>) {
    if let Ok(mut d) = dir_slot().lock() {
        *d = dir;
    }
}

/// The directory of [`set_key_cache_dir`], if any.
#[must_use]
pub fn key_cache_dir() -> Option<PathBuf> {
    dir_slot().lock().ok().and_then(|d| d.clone())
}

/// The key of a cache entry: a hash of its kind, this build's fingerprint and `parts`.
pub(crate) fn entry_key(kind: &str, parts: &[u8]) -> [F; 4] {
    let mut bytes = Vec::with_capacity(kind.len() + parts.len() + 32);
    bytes.extend(kind.as_bytes());
    bytes.push(0);
    bytes.extend(CIRCUIT_FINGERPRINT.as_bytes());
    bytes.push(0);
    bytes.extend(parts);
    hash_bytes(&bytes)
}

fn file_name(key: &[F; 4]) -> String {
    let hex: String = key
        .iter()
        .map(|l| format!("{:016x}", l.to_canonical_u64()))
        .collect();
    format!("{hex}.p2vk")
}

fn load(dir: &Path, key: &[F; 4]) -> Option<VerifierKey> {
    let bytes = fs::read(dir.join(file_name(key))).ok()?;
    VerifierKey::from_file_bytes(key, &bytes)
}

/// Write a key file (atomically: a temporary file renamed into place). Failures are ignored:
/// the cache is an optimisation.
fn store(dir: &Path, key: &[F; 4], vk: &VerifierKey) {
    if vk.encoded.is_empty() || fs::create_dir_all(dir).is_err() {
        return;
    }
    let name = file_name(key);
    let tmp = dir.join(format!("{name}.{}.tmp", std::process::id()));
    if fs::write(&tmp, vk.file_bytes(key)).is_ok() && fs::rename(&tmp, dir.join(&name)).is_err() {
        let _ = fs::remove_file(&tmp);
    }
}

type Memory = Mutex<Vec<([F; 4], Arc<VerifierKey>)>>;

fn memory() -> &'static Memory {
    static MEMORY: OnceLock<Memory> = OnceLock::new();
    MEMORY.get_or_init(|| Mutex::new(Vec::new()))
}

fn remember(key: [F; 4], vk: &Arc<VerifierKey>) {
    if let Ok(mut m) = memory().lock() {
        m.retain(|(k, _)| *k != key);
        m.push((key, Arc::clone(vk)));
        while m.len() > MEMORY_ENTRIES {
            m.remove(0);
        }
    }
}

static FROM_MEMORY: AtomicU64 = AtomicU64::new(0);
static FROM_DISK: AtomicU64 = AtomicU64::new(0);
static BUILT: AtomicU64 = AtomicU64::new(0);

/// Where this process's verifier keys came from, so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyStats {
    /// Keys found in memory.
    pub from_memory: u64,
    /// Keys read from the key directory.
    pub from_disk: u64,
    /// Keys built (circuits compiled: the slow path).
    pub built: u64,
}

/// The counts of [`KeyStats`] since the process started.
#[must_use]
pub fn key_stats() -> KeyStats {
    KeyStats {
        from_memory: FROM_MEMORY.load(Ordering::Relaxed),
        from_disk: FROM_DISK.load(Ordering::Relaxed),
        built: BUILT.load(Ordering::Relaxed),
    }
}

/// The verifier key of entry `key`: from memory, from the key directory, or built by `build`
/// (then kept in both). With `need_data`, a kept key whose verifier data does not decode is
/// rebuilt.
pub(crate) fn cached<E>(
    key: [F; 4],
    need_data: bool,
    build: impl FnOnce() -> Result<VerifierCircuitData<F, C, D>, E>,
) -> Result<Arc<VerifierKey>, E> {
    let usable = |vk: &VerifierKey| !need_data || vk.data().is_ok();
    let in_memory = memory().lock().ok().and_then(|m| {
        m.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| Arc::clone(v))
    });
    if let Some(found) = in_memory.filter(|v| usable(v)) {
        FROM_MEMORY.fetch_add(1, Ordering::Relaxed);
        return Ok(found);
    }
    let dir = key_cache_dir();
    if let Some(found) = dir.as_deref().and_then(|d| load(d, &key)).filter(usable) {
        let found = Arc::new(found);
        remember(key, &found);
        FROM_DISK.fetch_add(1, Ordering::Relaxed);
        return Ok(found);
    }
    let built = Arc::new(VerifierKey::of(build()?));
    BUILT.fetch_add(1, Ordering::Relaxed);
    if let Some(d) = dir.as_deref() {
        store(d, &key, &built);
    }
    remember(key, &built);
    Ok(built)
}

/// Forget every key held in memory (tests: the next verification reads the directory or
/// rebuilds, as a fresh process would).
pub fn clear_memory() {
    if let Ok(mut m) = memory().lock() {
        m.clear();
    }
}
