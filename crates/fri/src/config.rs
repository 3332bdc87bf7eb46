//! Named presets: Goldilocks + its quadratic extension, with Keccak-256 or Poseidon2 Merkle
//! commitments, each transparent or hiding (zero knowledge).

use p3_challenger::{DuplexChallenger, HashChallenger, SerializingChallenger64};
use p3_commit::ExtensionMmcs;
use p3_dft::Radix2DitParallel;
use p3_field::Field;
use p3_fri::{FriParameters, HidingFriPcs, TwoAdicFriPcs};
use p3_goldilocks::{Poseidon2Goldilocks, default_goldilocks_poseidon2_8};
use p3_keccak::Keccak256Hash;
use p3_merkle_tree::{MerkleTreeHidingMmcs, MerkleTreeMmcs};
use p3_symmetric::{
    CompressionFunctionFromHasher, PaddingFreeSponge, SerializingHasher, TruncatedPermutation,
};
use p3_uni_stark::StarkConfig;
use rand::SeedableRng;
use rand::rngs::{StdRng, SysRng};
use zkmlops_field::{Goldilocks, GoldilocksExt2};
use zkmlops_proof::{
    BackendParams, Capabilities, FieldId, FriParams, HashId, OpSupport, PresetInfo, ProtocolParams,
    SchemeId,
};

use crate::FriError;

pub(crate) type Val = Goldilocks;
pub(crate) type Challenge = GoldilocksExt2;
type Dft = Radix2DitParallel<Val>;

// Keccak-256: leaves are the field elements' canonical bytes, nodes Keccak-256 of two digests.
type KeccakLeafHash = SerializingHasher<Keccak256Hash>;
type KeccakCompress = CompressionFunctionFromHasher<Keccak256Hash, 2, 32>;
type KeccakMmcs = MerkleTreeMmcs<Val, u8, KeccakLeafHash, KeccakCompress, 2, 32>;
type KeccakHidingMmcs =
    MerkleTreeHidingMmcs<Val, u8, KeccakLeafHash, KeccakCompress, StdRng, 2, 32, HIDING_SALT_ELEMS>;
type KeccakChallenger = SerializingChallenger64<Val, HashChallenger<u8, Keccak256Hash, 32>>;

// Poseidon2 over Goldilocks, width 8, with the standard (Grain LFSR) round constants.
type Perm = Poseidon2Goldilocks<8>;
type PoseidonHash = PaddingFreeSponge<Perm, 8, 4, 4>;
type PoseidonCompress = TruncatedPermutation<Perm, 2, 4, 8>;
type Packed = <Val as Field>::Packing;
type PoseidonMmcs = MerkleTreeMmcs<Packed, Packed, PoseidonHash, PoseidonCompress, 2, 4>;
type PoseidonHidingMmcs = MerkleTreeHidingMmcs<
    Packed,
    Packed,
    PoseidonHash,
    PoseidonCompress,
    StdRng,
    2,
    4,
    HIDING_SALT_ELEMS,
>;
type PoseidonChallenger = DuplexChallenger<Val, Perm, 8, 4>;

/// Transparent Keccak-256 configuration.
pub type KeccakConfig = StarkConfig<
    TwoAdicFriPcs<Val, Dft, KeccakMmcs, ExtensionMmcs<Val, Challenge, KeccakMmcs>>,
    Challenge,
    KeccakChallenger,
>;
/// Hiding (zero-knowledge) Keccak-256 configuration.
pub type KeccakZkConfig = StarkConfig<
    HidingFriPcs<
        Val,
        Dft,
        KeccakHidingMmcs,
        ExtensionMmcs<Val, Challenge, KeccakHidingMmcs>,
        StdRng,
    >,
    Challenge,
    KeccakChallenger,
>;
/// Transparent Poseidon2 configuration.
pub type PoseidonConfig = StarkConfig<
    TwoAdicFriPcs<Val, Dft, PoseidonMmcs, ExtensionMmcs<Val, Challenge, PoseidonMmcs>>,
    Challenge,
    PoseidonChallenger,
>;
/// Hiding (zero-knowledge) Poseidon2 configuration.
pub type PoseidonZkConfig = StarkConfig<
    HidingFriPcs<
        Val,
        Dft,
        PoseidonHidingMmcs,
        ExtensionMmcs<Val, Challenge, PoseidonHidingMmcs>,
        StdRng,
    >,
    Challenge,
    PoseidonChallenger,
>;

/// The hash behind a preset's Merkle trees and transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hash {
    /// Keccak-256: the standard, interoperable choice (EVM and most tooling verify it).
    Keccak256,
    /// Poseidon2 over Goldilocks: arithmetic-friendly, for recursion.
    Poseidon2,
}

/// FRI parameters: rate 1/4, 50 queries (52 hiding), 16 bits of query grinding, 8 bits of
/// batching grinding, folding arity 8 down to a final polynomial of 8 coefficients. Plonky3's
/// estimator puts these at 100+ conjectured bits for the trace sizes zkmlops produces (checked
/// in the tests and recorded in every envelope). Rate 1/4 halves the queries of rate 1/2 and so
/// roughly halves proofs (measured on the 84K-MAC MLP: 278 KB vs 490 KB) for about 1.6x the
/// prove time (975 ms vs 590 ms); see `docs/benchmarks.md`.
pub const LOG_BLOWUP: usize = 2;
/// log2 of the Reed–Solomon blowup of the hiding presets: hiding FRI randomises the quotient,
/// which raises its degree by one, so degree-3 constraints need at least rate 1/4 (measured:
/// rate 1/2 hiding proofs fail the opening check).
pub const LOG_BLOWUP_ZK: usize = 2;
/// Number of FRI queries of the transparent presets (each worth two bits at rate 1/4).
pub const NUM_QUERIES: usize = 50;
/// Number of FRI queries of the hiding presets (each query is worth two bits at rate 1/4).
pub const NUM_QUERIES_ZK: usize = 52;
/// Grinding bits before the FRI queries.
pub const QUERY_POW_BITS: usize = 16;
/// Grinding bits before the challenge that batches all openings into one FRI instance. With
/// thousands of batched columns over a 128-bit challenge field this term, not the queries,
/// bounds the conjectured security (measured: 99 bits without it for a 2^17-row hiding proof).
pub const BATCH_POW_BITS: usize = 8;
/// Grinding bits before each folding challenge.
pub const COMMIT_POW_BITS: usize = 0;
/// log2 of the final polynomial length.
pub const LOG_FINAL_POLY_LEN: usize = 3;
/// log2 of the largest folding arity.
pub const MAX_LOG_ARITY: usize = 3;
/// Merkle cap height (measured: a cap of 16 digests did not shrink proofs, Plonky3 already
/// shares path nodes between queries).
const MERKLE_CAP_HEIGHT: usize = 0;
/// Random codewords added by the hiding PCS to every committed matrix: the extension degree,
/// the least `HidingFriPcs` accepts ("at least `Challenge::DIMENSION` random codewords are
/// required to mask extension-field batching"). Each is a column in every opened row of every
/// matrix, so 4 (Plonky3's own test value) cost the 569 x 30 preprocessing proof 112 KB more.
pub const NUM_RANDOM_CODEWORDS: usize = 2;
/// Field elements of random salt in each leaf of a hiding Merkle tree: 2 Goldilocks elements,
/// 128 bits, above the presets' ~100-bit target, as plonky2 salts its zero-knowledge trees
/// (`SALT_SIZE`). Each is sent once per opened matrix per query.
pub(crate) const HIDING_SALT_ELEMS: usize = 2;

/// Op features ([`zkmlops_proof::op_features`]) no chip proves yet.
pub const UNSUPPORTED_OPS: [&str; 2] = ["argmax", "conv2d/grouped"];

/// A named configuration of the FRI backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FriConfig {
    /// Merkle/transcript hash.
    pub hash: Hash,
    /// Hiding (statistical zero knowledge) or transparent.
    pub zero_knowledge: bool,
}

impl Default for FriConfig {
    /// `keccak`: transparent Keccak-256.
    fn default() -> Self {
        FriConfig::KECCAK
    }
}

impl FriConfig {
    /// Keccak-256, transparent.
    pub const KECCAK: FriConfig = FriConfig {
        hash: Hash::Keccak256,
        zero_knowledge: false,
    };
    /// Keccak-256, zero knowledge.
    pub const KECCAK_ZK: FriConfig = FriConfig {
        hash: Hash::Keccak256,
        zero_knowledge: true,
    };
    /// Poseidon2, transparent.
    pub const POSEIDON2: FriConfig = FriConfig {
        hash: Hash::Poseidon2,
        zero_knowledge: false,
    };
    /// Poseidon2, zero knowledge.
    pub const POSEIDON2_ZK: FriConfig = FriConfig {
        hash: Hash::Poseidon2,
        zero_knowledge: true,
    };

    /// Every preset.
    pub const ALL: [FriConfig; 4] = [
        FriConfig::KECCAK,
        FriConfig::KECCAK_ZK,
        FriConfig::POSEIDON2,
        FriConfig::POSEIDON2_ZK,
    ];

    /// The default preset for a Program: zero knowledge (hiding) whenever one of its inputs is
    /// private or committed, transparent when every input is public (nothing to hide).
    #[must_use]
    pub fn default_for(program: &zkmlops_tensor::Program, hash: Hash) -> FriConfig {
        use zkmlops_tensor::{TensorKind, Visibility};
        let hidden = program
            .tensors()
            .iter()
            .any(|d| d.kind == TensorKind::Input && d.visibility != Visibility::Public);
        FriConfig {
            hash,
            zero_knowledge: hidden,
        }
    }

    /// The preset's name: `keccak`, `keccak-zk`, `poseidon2`, `poseidon2-zk`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match (self.hash, self.zero_knowledge) {
            (Hash::Keccak256, false) => "keccak",
            (Hash::Keccak256, true) => "keccak-zk",
            (Hash::Poseidon2, false) => "poseidon2",
            (Hash::Poseidon2, true) => "poseidon2-zk",
        }
    }

    /// The preset with this name.
    ///
    /// # Errors
    /// [`FriError::UnknownPreset`].
    pub fn from_name(name: &str) -> Result<Self, FriError> {
        FriConfig::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or(FriError::UnknownPreset)
    }

    /// The FRI parameters as the envelope records them.
    #[must_use]
    pub fn fri_params(self) -> FriParams {
        // All constants are small; the narrowing casts are exact.
        #[allow(clippy::cast_possible_truncation)]
        FriParams {
            log_blowup: self.log_blowup() as u8,
            num_queries: self.num_queries() as u16,
            query_pow_bits: QUERY_POW_BITS as u8,
            commit_pow_bits: COMMIT_POW_BITS as u8,
            log_final_poly_len: LOG_FINAL_POLY_LEN as u8,
            max_log_arity: MAX_LOG_ARITY as u8,
        }
    }

    /// The envelope parameters for a proof whose conjectured and proven security were computed
    /// as given.
    #[must_use]
    pub fn backend_params(self, conjectured_bits: u16, proven_bits: u16) -> BackendParams {
        BackendParams {
            preset: self.name().to_string(),
            field: FieldId::GOLDILOCKS,
            extension_degree: 2,
            hash: self.hash_id(),
            protocol: ProtocolParams::Fri(self.fri_params()),
            zero_knowledge: self.zero_knowledge,
            post_quantum: true,
            transparent: true,
            conjectured_security_bits: conjectured_bits,
            proven_security_bits: Some(proven_bits),
        }
    }

    /// The hash's identifier.
    #[must_use]
    pub fn hash_id(self) -> HashId {
        match self.hash {
            Hash::Keccak256 => HashId::KECCAK256,
            Hash::Poseidon2 => HashId::POSEIDON2_GOLDILOCKS,
        }
    }

    /// What this preset can do: every op but `argmax` and grouped `conv2d`, committed tensors
    /// with `zkmlops-commit`'s Poseidon2 sponge, transparent, post-quantum, hiding for the
    /// `-zk` presets, no recursion.
    #[must_use]
    pub fn capabilities(self) -> Capabilities {
        Capabilities {
            field: FieldId::GOLDILOCKS,
            hash: self.hash_id(),
            commitment_scheme: Some(SchemeId::POSEIDON2_GOLDILOCKS_SPONGE),
            transparent: true,
            post_quantum: true,
            zero_knowledge: self.zero_knowledge,
            aggregation: false,
            ops: OpSupport::AllBut(UNSUPPORTED_OPS.iter().map(|s| (*s).to_string()).collect()),
        }
    }

    /// The preset as the backend boundary lists it.
    #[must_use]
    pub fn info(self) -> PresetInfo {
        let hash = match self.hash {
            Hash::Keccak256 => "Keccak-256 Merkle trees and transcript",
            Hash::Poseidon2 => {
                "Poseidon2 Merkle trees and transcript (cheaper to verify in another proof)"
            }
        };
        let zk = if self.zero_knowledge {
            format!(
                "hiding (zero knowledge), blowup 2^{}, {} queries",
                self.log_blowup(),
                self.num_queries()
            )
        } else {
            format!(
                "transparent, not hiding, blowup 2^{}, {} queries",
                self.log_blowup(),
                self.num_queries()
            )
        };
        PresetInfo {
            name: self.name().to_string(),
            description: format!("{hash}; {zk}"),
            capabilities: self.capabilities(),
        }
    }

    /// log2 of this preset's blowup.
    #[must_use]
    pub fn log_blowup(self) -> usize {
        if self.zero_knowledge {
            LOG_BLOWUP_ZK
        } else {
            LOG_BLOWUP
        }
    }

    /// Number of FRI queries of this preset.
    #[must_use]
    pub fn num_queries(self) -> usize {
        if self.zero_knowledge {
            NUM_QUERIES_ZK
        } else {
            NUM_QUERIES
        }
    }

    /// Smallest trace height (log2) an instance may have under this preset. Plonky3's hiding
    /// PCS checks `height >= 2 * (queries + extension degree * opening points)` for every
    /// committed matrix (`HidingFriPcs::check_hiding_budget`: 2 * (52 + 2) = 108 here, so
    /// 2^7); FRI needs every committed height above its final polynomial.
    #[must_use]
    pub fn min_log_height(self) -> usize {
        if self.zero_knowledge {
            let budget = 2 * (NUM_QUERIES_ZK + 2);
            budget.next_power_of_two().trailing_zeros() as usize
        } else {
            LOG_FINAL_POLY_LEN + 1
        }
    }
}

fn fri_parameters<M>(mmcs: M, preset: FriConfig) -> FriParameters<M> {
    FriParameters {
        log_blowup: preset.log_blowup(),
        log_final_poly_len: LOG_FINAL_POLY_LEN,
        max_log_arity: MAX_LOG_ARITY,
        num_queries: preset.num_queries(),
        batch_proof_of_work_bits: BATCH_POW_BITS,
        commit_proof_of_work_bits: COMMIT_POW_BITS,
        query_proof_of_work_bits: QUERY_POW_BITS,
        mmcs,
    }
}

/// A hiding RNG seeded from the operating system, never a constant.
fn os_rng() -> Result<StdRng, FriError> {
    StdRng::try_from_rng(&mut SysRng).map_err(|_| FriError::Entropy)
}

pub(crate) fn keccak_config() -> KeccakConfig {
    let mmcs = KeccakMmcs::new(
        KeccakLeafHash::new(Keccak256Hash),
        KeccakCompress::new(Keccak256Hash),
        MERKLE_CAP_HEIGHT,
    );
    let pcs = TwoAdicFriPcs::new(
        Dft::default(),
        mmcs.clone(),
        fri_parameters(ExtensionMmcs::new(mmcs), FriConfig::KECCAK),
    );
    StarkConfig::new(
        pcs,
        KeccakChallenger::from_hasher(Vec::new(), Keccak256Hash),
    )
}

pub(crate) fn keccak_zk_config() -> Result<KeccakZkConfig, FriError> {
    let mmcs = KeccakHidingMmcs::new(
        KeccakLeafHash::new(Keccak256Hash),
        KeccakCompress::new(Keccak256Hash),
        MERKLE_CAP_HEIGHT,
        os_rng()?,
    );
    let pcs = HidingFriPcs::new(
        Dft::default(),
        mmcs.clone(),
        fri_parameters(ExtensionMmcs::new(mmcs), FriConfig::KECCAK_ZK),
        NUM_RANDOM_CODEWORDS,
        os_rng()?,
    );
    Ok(StarkConfig::new(
        pcs,
        KeccakChallenger::from_hasher(Vec::new(), Keccak256Hash),
    ))
}

pub(crate) fn poseidon_config() -> PoseidonConfig {
    let perm = default_goldilocks_poseidon2_8();
    let mmcs = PoseidonMmcs::new(
        PoseidonHash::new(perm.clone()),
        PoseidonCompress::new(perm.clone()),
        MERKLE_CAP_HEIGHT,
    );
    let pcs = TwoAdicFriPcs::new(
        Dft::default(),
        mmcs.clone(),
        fri_parameters(ExtensionMmcs::new(mmcs), FriConfig::POSEIDON2),
    );
    StarkConfig::new(pcs, PoseidonChallenger::new(perm))
}

pub(crate) fn poseidon_zk_config() -> Result<PoseidonZkConfig, FriError> {
    let perm = default_goldilocks_poseidon2_8();
    let mmcs = PoseidonHidingMmcs::new(
        PoseidonHash::new(perm.clone()),
        PoseidonCompress::new(perm.clone()),
        MERKLE_CAP_HEIGHT,
        os_rng()?,
    );
    let pcs = HidingFriPcs::new(
        Dft::default(),
        mmcs.clone(),
        fri_parameters(ExtensionMmcs::new(mmcs), FriConfig::POSEIDON2_ZK),
        NUM_RANDOM_CODEWORDS,
        os_rng()?,
    );
    Ok(StarkConfig::new(pcs, PoseidonChallenger::new(perm)))
}
