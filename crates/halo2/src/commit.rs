//! Committed tensors in the halo2 backend: Poseidon over the Pasta field (`P128Pow5T3`, the
//! Orchard parameters: width 3, rate 2, x^5, 8 full and 56 partial rounds), its own declared
//! scheme [`SCHEME`]. A halo2 commitment is never compared with a Goldilocks one: statements
//! name their scheme, and every link checks it.
//!
//! The digest of a commitment group (the same groups as `zkmlops-commit`: group 0 binds the
//! Program, groups `>= 1` are lineage commitments that bind only the values):
//!
//! ```text
//! acc = H(TAG, len)                         groups >= 1
//! acc = H(H(H(TAG0, len), d_lo), d_hi)      group 0, d = Program digest (two 128-bit halves)
//! for each word w (three values v0 v1 v2, the last word zero-filled):
//!     w = v0 + 2^64 (v1 + 2^64 v2)          (signed values, each proved in [-2^63, 2^63))
//!     acc = H(acc, w)
//! digest = acc (32 bytes, little-endian)
//! ```
//!
//! `H` is Poseidon's two-to-one hash (`ConstantLength<2>`). Balanced base-2^64 digits make the
//! packing injective and keep `|w| < 2^191` far from wrapping; the length in the first hash
//! fixes where the values end. In the circuit the initial `acc` is a constant (the verifier
//! knows the Program and the length), each word is one gate row, each hash the
//! `halo2_gadgets` Pow5 chip (about 40 rows).

use ff::PrimeField;
use halo2_poseidon::{ConstantLength, Hash, P128Pow5T3};
use halo2_proofs::pasta::Fp;
use zkmlops_proof::SchemeId;
use zkmlops_tensor::{Program, ProgramDigest, TensorId, Witness};

use crate::net::fp;

/// This scheme's identifier in statements.
pub const SCHEME: SchemeId = SchemeId::new_static("poseidon-pasta-p128pow5t3/v1");

/// Domain tag of group 0 (`"zkm0"`).
const TAG_PROGRAM: u64 = 0x7a6b_6d30;
/// Domain tag of lineage groups (`"zkml"`).
const TAG_LINEAGE: u64 = 0x7a6b_6d6c;

/// Values per absorbed word.
pub(crate) const WORD_VALUES: usize = 3;

/// Poseidon's two-to-one hash.
pub(crate) fn hash2(a: Fp, b: Fp) -> Fp {
    Hash::<Fp, P128Pow5T3, ConstantLength<2>, 3, 2>::init().hash([a, b])
}

/// The accumulator before the first word of group `group` with `len` values.
#[must_use]
pub fn initial(program: &ProgramDigest, group: u16, len: usize) -> Fp {
    let len = Fp::from(len as u64);
    if group != 0 {
        return hash2(Fp::from(TAG_LINEAGE), len);
    }
    let bytes = program.as_bytes();
    let half = |b: &[u8]| {
        let mut v = [0u8; 16];
        v.copy_from_slice(b);
        Fp::from_u128(u128::from_le_bytes(v))
    };
    let acc = hash2(Fp::from(TAG_PROGRAM), len);
    let acc = hash2(acc, half(&bytes[..16]));
    hash2(acc, half(&bytes[16..32]))
}

/// The word of up to three values.
pub(crate) fn word(values: &[i64]) -> Fp {
    let v = |i: usize| fp(i128::from(values.get(i).copied().unwrap_or(0)));
    let shift = Fp::from_u128(1 << 64);
    v(0) + shift * (v(1) + shift * v(2))
}

/// The digest of `values` from the accumulator `acc`.
#[must_use]
pub fn absorb(mut acc: Fp, values: &[i64]) -> Fp {
    for chunk in values.chunks(WORD_VALUES) {
        acc = hash2(acc, word(chunk));
    }
    acc
}

/// The commitment of every group of a Program under a witness: `(first tensor id, digest)`,
/// groups in the order of [`Program::commitment_groups`] (the statement's order).
///
/// # Errors
/// The id of a committed tensor the witness lacks.
pub fn program_commitments(
    program: &Program,
    witness: &Witness,
) -> Result<Vec<(TensorId, [u8; 32])>, TensorId> {
    let digest = program.digest();
    let mut out = Vec::new();
    for (group, ids) in program.commitment_groups() {
        let mut values = Vec::new();
        for &id in &ids {
            values.extend_from_slice(witness.get(id).ok_or(id)?.data());
        }
        let d = absorb(initial(&digest, group, values.len()), &values);
        if let Some(&first) = ids.first() {
            out.push((first, d.to_repr()));
        }
    }
    Ok(out)
}

/// A digest's field element, when its bytes are a canonical encoding.
pub(crate) fn digest_element(bytes: &[u8; 32]) -> Option<Fp> {
    Option::from(Fp::from_repr(*bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_binds_every_value_the_length_and_the_program() {
        let p = ProgramDigest::of_encoding(b"p");
        let q = ProgramDigest::of_encoding(b"q");
        let v = [1, -2, 3, i64::MIN, i64::MAX];
        let d = absorb(initial(&p, 0, v.len()), &v);
        assert_eq!(d, absorb(initial(&p, 0, v.len()), &v));
        assert_ne!(d, absorb(initial(&q, 0, v.len()), &v));
        assert_ne!(d, absorb(initial(&p, 1, v.len()), &v));
        for i in 0..v.len() {
            let mut w = v;
            w[i] = w[i].wrapping_add(1);
            assert_ne!(d, absorb(initial(&p, 0, v.len()), &w), "value {i}");
        }
        // A trailing zero is another length, so another digest.
        let mut longer = v.to_vec();
        longer.push(0);
        assert_ne!(d, absorb(initial(&p, 0, longer.len()), &longer));
        // Lineage groups ignore the Program.
        assert_eq!(
            absorb(initial(&p, 2, v.len()), &v),
            absorb(initial(&q, 1, v.len()), &v)
        );
        // Balanced base-2^64 digits: a borrow never aliases another digit vector.
        assert_ne!(word(&[-1, 0, 0]), word(&[0, -1, 0]));
        assert_ne!(word(&[-1, 1, 0]), word(&[i64::MAX, 0, 0]));
        assert_eq!(digest_element(&d.to_repr()), Some(d));
    }
}
