//! Commitments to tensors: a Poseidon2 sponge over Goldilocks (Plonky3's width-8 permutation
//! and constants, `p3-goldilocks`), computed natively here and proved in-circuit by the FRI
//! backend's commitment chip (`p3-poseidon2-air` with the same constants).
//!
//! A model owner computes and publishes a commitment without proving anything; every proof
//! that uses the weights as `Committed` tensors carries the same digest in its statement.
//!
//! The sponge (rate 4, capacity 4):
//!
//! ```text
//! state = [0; 8]; state[4] = DOMAIN; state[5] = number of committed elements
//! absorb the Program digest (8 u32 limbs, two blocks)            -> the IV (depends on the Program)
//! absorb every committed tensor, in Program id order, 4 elements a block, zero-padded
//! digest = state[0..4] after the last permutation
//! ```
//!
//! Absorbing adds a block into `state[0..4]` and permutes. Signed values enter as field
//! elements by the signed embedding (`p - |x|` for negatives). The commitment hides the tensors
//! only if they include high-entropy values: the ONNX import puts a random 4-element salt first.
//!
//! ```
//! use zkmlops_commit::{Digest, commit};
//! use zkmlops_tensor::ProgramDigest;
//!
//! let program = ProgramDigest::of_encoding(b"a program");
//! let salt = [11, -22, 33, -44];
//! let weights = [1, 2, 3, -4, 5];
//! let a = commit(&program, &[&salt, &weights]);
//! assert_eq!(a, commit(&program, &[&salt, &weights]));          // deterministic
//! assert_ne!(a, commit(&program, &[&salt, &[1, 2, 3, -4, 6]])); // binds every value
//! assert_eq!(Digest::from_hex(&a.to_hex()).unwrap(), a);
//! ```

use std::fmt;

use p3_field::{PrimeCharacteristicRing, PrimeField64};
use p3_goldilocks::{
    GOLDILOCKS_POSEIDON2_RC_8_EXTERNAL_FINAL, GOLDILOCKS_POSEIDON2_RC_8_EXTERNAL_INITIAL,
    GOLDILOCKS_POSEIDON2_RC_8_INTERNAL, Goldilocks, Poseidon2Goldilocks,
    default_goldilocks_poseidon2_8,
};
use p3_symmetric::Permutation;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zkmlops_proof::{SchemeId, Statement};
use zkmlops_tensor::{Program, ProgramDigest, TensorId, Visibility, Witness};

/// This scheme's identifier in statements ([`zkmlops_proof::Statement::commitment_scheme`]).
pub const SCHEME: SchemeId = SchemeId::POSEIDON2_GOLDILOCKS_SPONGE;

/// The `k`-th commitment of a statement, when the statement's commitments are of this scheme
/// (a digest of another scheme is never read as one of ours) and well-formed. Every stage
/// reads the commitments it links through this.
#[must_use]
pub fn statement_digest(statement: &Statement, k: usize) -> Option<Digest> {
    if statement.commitment_scheme.as_ref() != Some(&SCHEME) {
        return None;
    }
    statement
        .commitments
        .get(k)
        .and_then(|c| Digest::from_bytes(&c.digest).ok())
}

/// Permutation width.
pub const WIDTH: usize = 8;
/// Elements absorbed per permutation.
pub const RATE: usize = 4;
/// Half the number of full rounds (Plonky3's Goldilocks Poseidon2).
pub const HALF_FULL_ROUNDS: usize = 4;
/// Partial rounds.
pub const PARTIAL_ROUNDS: usize = 22;
/// S-box degree.
pub const SBOX_DEGREE: u64 = 7;
/// Domain separator in the capacity: ASCII `zkmlcmt1`, below the Goldilocks modulus.
pub const DOMAIN: u64 = 0x7a6b_6d6c_636d_7431;
/// Domain separator of lineage commitments: ASCII `zkmllin1`.
pub const LINEAGE_DOMAIN: u64 = 0x7a6b_6d6c_6c69_6e31;

/// The round constants of the permutation: initial full rounds, partial rounds, final full
/// rounds (what the commitment chip's AIR is built from).
pub fn round_constants() -> (
    [[Goldilocks; WIDTH]; HALF_FULL_ROUNDS],
    [Goldilocks; PARTIAL_ROUNDS],
    [[Goldilocks; WIDTH]; HALF_FULL_ROUNDS],
) {
    (
        GOLDILOCKS_POSEIDON2_RC_8_EXTERNAL_INITIAL,
        GOLDILOCKS_POSEIDON2_RC_8_INTERNAL,
        GOLDILOCKS_POSEIDON2_RC_8_EXTERNAL_FINAL,
    )
}

/// The permutation (Plonky3's default width-8 Goldilocks Poseidon2).
#[must_use]
pub fn permutation() -> Poseidon2Goldilocks<WIDTH> {
    default_goldilocks_poseidon2_8()
}

/// A commitment: four Goldilocks elements (canonical), 32 bytes little-endian; hex in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub [u64; RATE]);

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// A malformed digest string.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DigestError {
    /// Not 64 hex digits.
    #[error("a commitment is 64 hex digits")]
    Hex,
    /// A limb is not a canonical Goldilocks element.
    #[error("commitment limb {index} is not a canonical Goldilocks element")]
    NotCanonical {
        /// Which limb.
        index: usize,
    },
}

impl Digest {
    /// The 32 bytes (each limb little-endian).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (c, v) in out.chunks_exact_mut(8).zip(self.0) {
            c.copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// From 32 bytes; every limb must be a canonical field element.
    ///
    /// # Errors
    /// [`DigestError::NotCanonical`].
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, DigestError> {
        let mut limbs = [0u64; RATE];
        for (i, (l, c)) in limbs.iter_mut().zip(bytes.chunks_exact(8)).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            *l = u64::from_le_bytes(b);
            if *l >= Goldilocks::ORDER_U64 {
                return Err(DigestError::NotCanonical { index: i });
            }
        }
        Ok(Digest(limbs))
    }

    /// Lowercase hex of the bytes.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Parse 64 hex digits.
    ///
    /// # Errors
    /// [`DigestError`].
    pub fn from_hex(s: &str) -> Result<Self, DigestError> {
        let v = hex::decode(s.trim()).map_err(|_| DigestError::Hex)?;
        let b: [u8; 32] = v.try_into().map_err(|_| DigestError::Hex)?;
        Self::from_bytes(&b)
    }

    /// The limbs as field elements (the commitment chip's public values).
    pub fn elements(&self) -> [Goldilocks; RATE] {
        self.0.map(Goldilocks::from_u64)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A signed value as a field element.
pub fn felt(x: i64) -> Goldilocks {
    let m = Goldilocks::from_u64(x.unsigned_abs());
    if x < 0 { -m } else { m }
}

fn absorb(
    perm: &Poseidon2Goldilocks<WIDTH>,
    state: &mut [Goldilocks; WIDTH],
    block: &[Goldilocks],
) {
    for (s, b) in state.iter_mut().zip(block) {
        *s += *b;
    }
    perm.permute_mut(state);
}

/// The sponge state after the domain, the length and the Program digest: the state into which
/// the first block of tensor values is added.
pub fn initial_state(program: &ProgramDigest, len: usize) -> [Goldilocks; WIDTH] {
    let perm = permutation();
    let mut state = [Goldilocks::ZERO; WIDTH];
    state[4] = Goldilocks::from_u64(DOMAIN);
    state[5] = Goldilocks::from_u64(len as u64);
    let limbs: Vec<Goldilocks> = program
        .as_bytes()
        .chunks_exact(4)
        .map(|c| Goldilocks::from_u32(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    for block in limbs.chunks(RATE) {
        absorb(&perm, &mut state, block);
    }
    state
}

/// The lineage IV: domain and length, no Program (groups >= 1).
pub fn lineage_state(len: usize) -> [Goldilocks; WIDTH] {
    let perm = permutation();
    let mut state = [Goldilocks::ZERO; WIDTH];
    state[4] = Goldilocks::from_u64(LINEAGE_DOMAIN);
    state[5] = Goldilocks::from_u64(len as u64);
    perm.permute_mut(&mut state);
    state
}

/// Absorb `values` from a given state: the permutation inputs (one state per block, the block
/// already added: what the commitment chip's rows hold) and the digest.
#[must_use]
pub fn absorb_from(
    mut state: [Goldilocks; WIDTH],
    values: &[i64],
) -> (Vec<[Goldilocks; WIDTH]>, Digest) {
    let perm = permutation();
    let mut inputs = Vec::with_capacity(values.len().div_ceil(RATE));
    for block in values.chunks(RATE) {
        for (s, v) in state.iter_mut().zip(block) {
            *s += felt(*v);
        }
        inputs.push(state);
        perm.permute_mut(&mut state);
    }
    let digest = Digest(core::array::from_fn(|i| state[i].as_canonical_u64()));
    (inputs, digest)
}

/// The commitment to `tensors` (concatenated in order) for the Program with this digest.
#[must_use]
pub fn commit(program: &ProgramDigest, tensors: &[&[i64]]) -> Digest {
    let values: Vec<i64> = tensors.iter().flat_map(|t| t.iter().copied()).collect();
    absorb_from(initial_state(program, values.len()), &values).1
}

/// A Program's commitment groups: the group number and its tensors in id order, groups in
/// increasing order of their first tensor's id (the order of the statement's commitments).
/// Each group has one commitment ([`Program::commitment_groups`]).
#[must_use]
pub fn commitment_groups(program: &Program) -> Vec<(u16, Vec<TensorId>)> {
    program.commitment_groups()
}

/// The ids of the tensors of commitment group 0 (the model commitment), in id order.
pub fn committed_ids(program: &Program) -> impl Iterator<Item = TensorId> + '_ {
    program
        .tensors()
        .iter()
        .enumerate()
        .filter(|(_, d)| d.visibility == Visibility::Committed)
        .map(|(i, _)| TensorId(u32::try_from(i).unwrap_or(u32::MAX)))
}

/// The sponge state before the first value of group `group` of a Program: group 0 binds the
/// Program digest ([`initial_state`]), other groups only the length ([`lineage_state`]).
pub fn group_initial_state(program: &ProgramDigest, group: u16, len: usize) -> [Goldilocks; WIDTH] {
    if group == 0 {
        initial_state(program, len)
    } else {
        lineage_state(len)
    }
}

/// The commitment of every group of a Program under a witness: `(first tensor id, digest)`
/// in the order of [`commitment_groups`].
///
/// # Errors
/// The id of a committed tensor the witness lacks.
pub fn program_commitments(
    program: &Program,
    witness: &Witness,
) -> Result<Vec<(TensorId, Digest)>, TensorId> {
    let digest = program.digest();
    let mut out = Vec::new();
    for (g, ids) in commitment_groups(program) {
        let mut values = Vec::new();
        for &id in &ids {
            values.extend_from_slice(witness.get(id).ok_or(id)?.data());
        }
        let (_, d) = absorb_from(group_initial_state(&digest, g, values.len()), &values);
        // `commitment_groups` lists only non-empty groups.
        if let Some(&first) = ids.first() {
            out.push((first, d));
        }
    }
    Ok(out)
}

/// A lineage commitment (groups >= 1): the values only, no Program. Stages link through it:
/// the same values (salt first) committed by two Programs give the same digest.
#[must_use]
pub fn commit_lineage(tensors: &[&[i64]]) -> Digest {
    let values: Vec<i64> = tensors.iter().flat_map(|t| t.iter().copied()).collect();
    absorb_from(lineage_state(values.len()), &values).1
}

/// Tag that opens a dataset header (`"zkds"`).
pub const TABLE_TAG: i64 = 0x7a6b_6473;
/// Version of the dataset layout.
pub const TABLE_VERSION: i64 = 1;

/// The layout of a committed training-ready dataset: features `x [rows, features]` and
/// labels `y [rows, labels]`, both at scale `2^scale_bits`, row-major. Preprocessing outputs
/// it, training and evaluation consume it; the commitment absorbs
/// `salt, x, y, header` so that it binds the shape and scale as well as the values
/// (a lineage commitment alone binds only the flat values and their count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableLayout {
    /// Rows.
    pub rows: usize,
    /// Feature columns.
    pub features: usize,
    /// Label columns (1 for a scalar label, the class count for a one-hot label).
    pub labels: usize,
    /// Scale exponent of every value.
    pub scale_bits: u32,
}

impl TableLayout {
    /// The header absorbed after the values: `[TABLE_TAG, TABLE_VERSION, rows, features,
    /// labels, scale_bits]`.
    #[must_use]
    pub fn header(&self) -> Vec<i64> {
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        vec![
            TABLE_TAG,
            TABLE_VERSION,
            n(self.rows),
            n(self.features),
            n(self.labels),
            i64::from(self.scale_bits),
        ]
    }

    /// Add the header to a Program as a committed tensor of `group` named `{prefix}/header`
    /// (a public constant copied into the group, so the commitment chip absorbs exactly these
    /// values). Declare it after the group's other tensors: members are absorbed in id order.
    ///
    /// # Errors
    /// [`zkmlops_tensor::ProgramError`] from the builder.
    pub fn add_header(
        &self,
        b: &mut zkmlops_tensor::ProgramBuilder,
        prefix: &str,
        group: u16,
    ) -> Result<TensorId, zkmlops_tensor::ProgramError> {
        let header = self.header();
        let len = header.len();
        let c = b.constant(
            &format!("{prefix}/header_values"),
            zkmlops_tensor::Tensor::vector(header),
            zkmlops_field::Scale::ONE,
        )?;
        let h = b.op(
            &format!("{prefix}/header"),
            zkmlops_tensor::Op::Reshape { shape: vec![len] },
            &[c],
        )?;
        b.output(h, zkmlops_tensor::Visibility::CommittedTo(group))?;
        Ok(h)
    }

    /// The lineage commitment of a dataset in this layout: `salt, x, y, header`.
    #[must_use]
    pub fn commit(&self, salt: &[i64], x: &[i64], y: &[i64]) -> Digest {
        commit_lineage(&[salt, x, y, &self.header()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_commitment_binds_the_shape_not_only_the_values() {
        let salt = [1, 2, 3, 4];
        let values: Vec<i64> = (0..12).collect();
        let a = TableLayout {
            rows: 4,
            features: 2,
            labels: 1,
            scale_bits: 8,
        };
        let b = TableLayout {
            rows: 3,
            features: 3,
            labels: 1,
            ..a
        };
        let c = TableLayout { scale_bits: 9, ..a };
        let (x, y) = values.split_at(8);
        let (x3, y3) = values.split_at(9);
        assert_ne!(a.commit(&salt, x, y), b.commit(&salt, x3, y3));
        assert_ne!(a.commit(&salt, x, y), c.commit(&salt, x, y));
        // The same flat values without the header would collide.
        assert_eq!(
            commit_lineage(&[&salt, x, y]),
            commit_lineage(&[&salt, x3, y3])
        );
        assert_eq!(a.commit(&salt, x, y), a.commit(&salt, x, y));
    }
}
