//! Commitments to tensors: a Poseidon2 sponge over Goldilocks (Plonky3's width-8 permutation
//! and constants, `p3-goldilocks`), computed natively here and proved in-circuit by the FRI
//! backend's commitment chip (`p3-poseidon2-air` with the same constants) and the plonky2
//! backend's Poseidon2 gate. Scheme `poseidon2-goldilocks-sponge/v3`.
//!
//! A model owner computes and publishes a commitment without proving anything; every proof
//! that uses the weights as `Committed` tensors carries the same digest in its statement.
//!
//! The sponge (rate 4, capacity 4):
//!
//! ```text
//! state = [0; 8]; state[4] = DOMAIN; state[5] = number of absorbed field elements
//! absorb the Program digest (8 u32 limbs, two blocks)            -> the IV (depends on the Program)
//! absorb every committed tensor's elements, in Program id order, 4 a block, zero-padded
//! digest = state[0..4] after the last permutation
//! ```
//!
//! Absorbing adds a block into `state[0..4]` and permutes. Signed values enter as field
//! elements by the signed embedding (`p - |x|` for negatives). The commitment hides the tensors
//! only if they include high-entropy values: the ONNX import puts a random 4-element salt first.
//!
//! **Packing (version 2).** In the model commitment (group 0, bound to the Program digest) an
//! *input* tensor declared with `b <= 31` bits ([`zkmlops_tensor::TensorDecl::bits`]) is
//! absorbed [`pack_width`]`(b)` values to a field element: a chunk `v_0 .. v_{n-1}` (`n <= k`,
//! the last chunk of a tensor may be shorter; chunks never span tensors) enters as
//! `sum_j (v_j + 2^(b-1)) * 2^(b*j)`, which is below `2^(k*b) <= 2^63 < p`, so distinct chunks
//! of in-bound values give distinct elements. Every backend proves each committed input within
//! its declared bound, so the packing is injective on everything a proof can hold. 8-bit
//! weights cost an eighth of the permutations version 1 spent on them.
//!
//! **Packed lineage (version 3).** Lineage commitments (groups >= 1, [`commit_lineage`]) link
//! stages whose Programs differ, so they absorb a value alone unless its tensor is declared
//! *packed* ([`zkmlops_tensor::TensorDecl::packed`], [`zkmlops_tensor::ProgramBuilder::pack`]):
//! then it is packed as above with its declared bits, whether it is an input of the Program or
//! computed by it (every backend proves a packed computed tensor within its bits, as an
//! input's bound). Both sides of a link declare the same bits: a dataset in the
//! [`TableLayout`] is packed with [`TableLayout::value_bits`] by the stage that computes it and
//! by every stage that reads it; [`commit_lineage_packed`] computes such a digest natively.
//!
//! ```
//! use zkmlops_commit::{Digest, commit};
//! use zkmlops_field::Scale;
//! use zkmlops_tensor::{ProgramBuilder, Visibility};
//!
//! let mut b = ProgramBuilder::new();
//! let salt = b.input("salt", &[4], Scale::ONE, Visibility::Committed);
//! b.set_bits(salt, 64).unwrap();
//! let w = b.input("w", &[5], Scale::ONE, Visibility::Committed);
//! b.set_bits(w, 8).unwrap(); // 8 values a field element
//! let y = b.op("y", zkmlops_tensor::Op::Sum { axes: vec![], keep_dims: false }, &[w]).unwrap();
//! b.output(y, Visibility::Public).unwrap();
//! let program = b.build().unwrap();
//!
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

/// Absorb field `elements` from a given state: the permutation inputs (one state per block,
/// the block already added: what the commitment chip's rows hold) and the digest.
#[must_use]
pub fn absorb_from(
    mut state: [Goldilocks; WIDTH],
    elements: &[Goldilocks],
) -> (Vec<[Goldilocks; WIDTH]>, Digest) {
    let perm = permutation();
    let mut inputs = Vec::with_capacity(elements.len().div_ceil(RATE));
    for block in elements.chunks(RATE) {
        for (s, v) in state.iter_mut().zip(block) {
            *s += *v;
        }
        inputs.push(state);
        perm.permute_mut(&mut state);
    }
    let digest = Digest(core::array::from_fn(|i| state[i].as_canonical_u64()));
    (inputs, digest)
}

/// Most values packed into one field element (version 2): the commitment chip's row holds
/// `RATE * MAX_PACK` value columns, so the cap keeps it narrow for 1-bit inputs.
pub const MAX_PACK: usize = 8;
/// Widest declared bound that is packed (two 31-bit values make 62 bits, below `p`).
pub const MAX_PACK_BITS: u8 = zkmlops_tensor::MAX_PACKED_BITS;

/// Values of an input declared with `bits` bits packed into one field element of the model
/// commitment: `min(63 / bits, MAX_PACK)`, 1 (no packing) above [`MAX_PACK_BITS`].
#[must_use]
pub fn pack_width(bits: u8) -> usize {
    if bits == 0 || bits > MAX_PACK_BITS {
        1
    } else {
        (63 / usize::from(bits)).min(MAX_PACK)
    }
}

/// How one committed tensor's values enter the sponge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packing {
    /// The tensor's declared bound in bits (meaningful when `width > 1`).
    pub bits: u8,
    /// Values per field element (1: each value alone, by the signed embedding).
    pub width: usize,
}

impl Packing {
    /// Each value alone.
    pub const NONE: Packing = Packing { bits: 0, width: 1 };

    /// The packing of tensor `id` of commitment group `group`: inputs of the model
    /// commitment (group 0) declared with at most [`MAX_PACK_BITS`] bits, and tensors declared
    /// packed ([`zkmlops_tensor::TensorDecl::packed`]) in any group, are packed; every other
    /// committed tensor (salts, unpacked lineage tensors, headers) is not.
    #[must_use]
    pub fn of(program: &Program, group: u16, id: TensorId) -> Packing {
        match program.tensors().get(id.index()) {
            Some(d) if d.packed || (group == 0 && d.kind == zkmlops_tensor::TensorKind::Input) => {
                Packing::with_bits(d.bits)
            }
            _ => Packing::NONE,
        }
    }

    /// Values declared within `bits` bits, packed [`pack_width`]`(bits)` to an element (each
    /// value alone when that is 1).
    #[must_use]
    pub fn with_bits(bits: u8) -> Packing {
        let width = pack_width(bits);
        if width > 1 {
            Packing { bits, width }
        } else {
            Packing::NONE
        }
    }

    /// `2^(bits-1)`, added to each value before packing (0 when not packed).
    #[must_use]
    pub fn offset(&self) -> u64 {
        if self.width > 1 {
            1u64 << (self.bits - 1)
        } else {
            0
        }
    }

    /// The coefficient of the `j`-th value of a chunk: `2^(bits*j)`.
    pub fn coefficient(&self, j: usize) -> Goldilocks {
        if self.width > 1 {
            Goldilocks::from_u64(1u64 << (usize::from(self.bits) * j))
        } else {
            Goldilocks::ONE
        }
    }

    /// The constant term of a chunk of `n` values: `sum_j 2^(bits-1) * 2^(bits*j)`.
    pub fn constant(&self, n: usize) -> Goldilocks {
        (0..n)
            .map(|j| self.coefficient(j) * Goldilocks::from_u64(self.offset()))
            .sum()
    }

    /// The field elements `values` enter the sponge as. Out-of-bound values (which no proof
    /// can hold) still give an element; its injectivity is only claimed within the bound.
    #[must_use]
    pub fn elements(&self, values: &[i64]) -> Vec<Goldilocks> {
        values
            .chunks(self.width.max(1))
            .map(|chunk| {
                if self.width > 1 {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(j, &v)| self.coefficient(j) * felt(v))
                        .sum::<Goldilocks>()
                        + self.constant(chunk.len())
                } else {
                    felt(chunk.first().copied().unwrap_or(0))
                }
            })
            .collect()
    }
}

/// The commitment to the model's committed tensors (commitment group 0, the values of each
/// in Program id order, each packed as its declaration says) for `program`. Tensors beyond
/// the Program's committed ones are absorbed unpacked.
#[must_use]
pub fn commit(program: &Program, tensors: &[&[i64]]) -> Digest {
    let ids: Vec<TensorId> = committed_ids(program).collect();
    let elements: Vec<Goldilocks> = tensors
        .iter()
        .enumerate()
        .flat_map(|(i, t)| {
            ids.get(i)
                .map_or(Packing::NONE, |&id| Packing::of(program, 0, id))
                .elements(t)
        })
        .collect();
    absorb_from(initial_state(&program.digest(), elements.len()), &elements).1
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
        let mut elements = Vec::new();
        for &id in &ids {
            let values = witness.get(id).ok_or(id)?.data();
            elements.extend(Packing::of(program, g, id).elements(values));
        }
        let (_, d) = absorb_from(group_initial_state(&digest, g, elements.len()), &elements);
        // `commitment_groups` lists only non-empty groups.
        if let Some(&first) = ids.first() {
            out.push((first, d));
        }
    }
    Ok(out)
}

/// A lineage commitment (groups >= 1): the values only, no Program, each value alone. Stages
/// link through it: the same values (salt first) committed by two Programs give the same
/// digest.
#[must_use]
pub fn commit_lineage(tensors: &[&[i64]]) -> Digest {
    let parts: Vec<(&[i64], Packing)> = tensors.iter().map(|&t| (t, Packing::NONE)).collect();
    commit_lineage_packed(&parts)
}

/// A lineage commitment whose tensors are absorbed as their [`Packing`] says (a Program's
/// group of packed tensors, [`Packing::of`]): each tensor's values in chunks of its width,
/// chunks never spanning tensors.
#[must_use]
pub fn commit_lineage_packed(tensors: &[(&[i64], Packing)]) -> Digest {
    let elements: Vec<Goldilocks> = tensors
        .iter()
        .flat_map(|(t, packing)| packing.elements(t))
        .collect();
    absorb_from(lineage_state(elements.len()), &elements).1
}

/// Tag that opens a dataset header (`"zkds"`).
pub const TABLE_TAG: i64 = 0x7a6b_6473;
/// Version of the dataset layout (2: the values' declared bits in the header, and the values
/// absorbed packed with them).
pub const TABLE_VERSION: i64 = 2;
/// The bits every dataset value is declared in by default: those of a Program input
/// ([`zkmlops_tensor::DEFAULT_INPUT_BITS`]), two values to a field element.
pub const TABLE_VALUE_BITS: u8 = zkmlops_tensor::DEFAULT_INPUT_BITS;

/// The layout of a committed training-ready dataset: features `x [rows, features]` and
/// labels `y [rows, labels]`, both at scale `2^scale_bits`, row-major, every value within
/// `value_bits` bits. Preprocessing outputs it, training and evaluation consume it; the
/// commitment absorbs `salt, x, y, header` (`x` and `y` packed with `value_bits`, which every
/// side proves: [`TableLayout::declare`]) so that it binds the shape, scale and bound as well
/// as the values (a lineage commitment alone binds only the flat values and their count).
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
    /// Every value lies in `[-2^(value_bits-1), 2^(value_bits-1))` (at most
    /// [`MAX_PACK_BITS`]; [`TABLE_VALUE_BITS`] unless a format says otherwise).
    pub value_bits: u8,
}

impl TableLayout {
    /// The header absorbed after the values: `[TABLE_TAG, TABLE_VERSION, rows, features,
    /// labels, scale_bits, value_bits]`.
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
            i64::from(self.value_bits),
        ]
    }

    /// How `x` and `y` are absorbed: packed with [`TableLayout::value_bits`].
    #[must_use]
    pub fn packing(&self) -> Packing {
        Packing::with_bits(self.value_bits)
    }

    /// Declare a Program's `x` and `y` tensors of this layout packed with its value bits
    /// ([`zkmlops_tensor::ProgramBuilder::pack`]): inputs are then declared within them,
    /// computed tensors proved within them. Every stage that commits or reads the dataset
    /// calls this, so their digests agree.
    ///
    /// # Errors
    /// [`zkmlops_tensor::ProgramError`] from the builder (a width outside `1..=31`).
    pub fn declare(
        &self,
        b: &mut zkmlops_tensor::ProgramBuilder,
        x: TensorId,
        y: TensorId,
    ) -> Result<(), zkmlops_tensor::ProgramError> {
        b.pack(x, self.value_bits)?;
        b.pack(y, self.value_bits)
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

    /// The lineage commitment of a dataset in this layout: `salt, x, y, header`, `x` and `y`
    /// packed ([`TableLayout::packing`]).
    #[must_use]
    pub fn commit(&self, salt: &[i64], x: &[i64], y: &[i64]) -> Digest {
        let packed = self.packing();
        commit_lineage_packed(&[
            (salt, Packing::NONE),
            (x, packed),
            (y, packed),
            (&self.header(), Packing::NONE),
        ])
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
            value_bits: TABLE_VALUE_BITS,
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

    /// A dataset computed and committed by one Program and read as inputs by another has the
    /// same packed digest in both, and it is the layout's native one.
    #[test]
    fn a_packed_dataset_links_the_stage_that_computes_it_and_the_one_that_reads_it() {
        use zkmlops_field::Scale;
        use zkmlops_tensor::{Op, ProgramBuilder, Tensor, Visibility};
        let layout = TableLayout {
            rows: 3,
            features: 2,
            labels: 1,
            scale_bits: 0,
            value_bits: TABLE_VALUE_BITS,
        };
        let group = Visibility::CommittedTo(1);
        let salt = [5, -6, 7, -8];
        let raw: Vec<i64> = vec![1, -2, 3, -4, 5, -6];
        let labels = vec![1, 0, 1];
        let x: Vec<i64> = raw.iter().map(|v| v * 1000).collect();
        // Producer: x = 1000 * raw, y = labels, both computed.
        let producer = {
            let mut b = ProgramBuilder::new();
            b.unbounded_input("salt", &[4], Scale::ONE, group);
            let r = b.input("raw", &[3, 2], Scale::ONE, Visibility::Private);
            let l = b.input("labels", &[3, 1], Scale::ONE, Visibility::Private);
            let k = b.constant("k", Tensor::scalar(1000), Scale::ONE).unwrap();
            let x = b.op("x", Op::Mul, &[r, k]).unwrap();
            let y = b.op("y", Op::Add, &[l, l]).unwrap();
            let y = b.op("y1", Op::Sub, &[y, l]).unwrap();
            b.output(x, group).unwrap();
            b.output(y, group).unwrap();
            layout.declare(&mut b, x, y).unwrap();
            layout.add_header(&mut b, "data", 1).unwrap();
            b.build().unwrap()
        };
        let w = producer
            .evaluate(&[
                Tensor::vector(salt.to_vec()),
                Tensor::new(vec![3, 2], raw.clone()).unwrap(),
                Tensor::new(vec![3, 1], labels.clone()).unwrap(),
            ])
            .unwrap();
        let produced = program_commitments(&producer, &w).unwrap();
        // Consumer: x and y are inputs.
        let consumer = {
            let mut b = ProgramBuilder::new();
            b.unbounded_input("salt", &[4], Scale::ONE, group);
            let x = b.input("x", &[3, 2], Scale::ONE, group);
            let y = b.input("y", &[3, 1], Scale::ONE, group);
            layout.declare(&mut b, x, y).unwrap();
            layout.add_header(&mut b, "data", 1).unwrap();
            let s = b
                .op(
                    "s",
                    Op::Sum {
                        axes: vec![],
                        keep_dims: false,
                    },
                    &[x],
                )
                .unwrap();
            b.output(s, Visibility::Public).unwrap();
            b.build().unwrap()
        };
        let w2 = consumer
            .evaluate(&[
                Tensor::vector(salt.to_vec()),
                Tensor::new(vec![3, 2], x.clone()).unwrap(),
                Tensor::new(vec![3, 1], labels.clone()).unwrap(),
            ])
            .unwrap();
        let consumed = program_commitments(&consumer, &w2).unwrap();
        let native = layout.commit(&salt, &x, &labels);
        assert_eq!(produced[0].1, native);
        assert_eq!(consumed[0].1, native);
        // Packing changes the digest: the same values unpacked, or declared wider, differ.
        assert_ne!(
            native,
            commit_lineage(&[&salt, &x, &labels, &layout.header()])
        );
        let wide = TableLayout {
            value_bits: 31,
            ..layout
        };
        assert_ne!(native, wide.commit(&salt, &x, &labels));
        // A computed value outside the declared bits is refused by the evaluation.
        let big = Tensor::new(vec![3, 2], vec![1 << 14, 0, 0, 0, 0, 0]).unwrap();
        assert!(matches!(
            producer.evaluate(&[
                Tensor::vector(salt.to_vec()),
                big,
                Tensor::new(vec![3, 1], labels.clone()).unwrap(),
            ]),
            Err(zkmlops_tensor::ProgramError::OutputOutOfBound { ref tensor, index: 0, .. }) if tensor == "x"
        ));
    }
}
