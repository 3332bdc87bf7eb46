//! Security estimate from the parameters, with Plonky3's estimator.

use p3_batch_stark::num_batched_openings;
use p3_security::fri::FriRegime;
use p3_uni_stark::{
    ConjecturedSecurity, GrindingSites, OpeningShape, ProvenSecurity, StarkSecurityParams,
};

use crate::chips::ChipKind;
use crate::circuit::Circuit;
use crate::config::{
    BATCH_POW_BITS, COMMIT_POW_BITS, FriConfig, LOG_FINAL_POLY_LEN, MAX_LOG_ARITY,
    NUM_RANDOM_CODEWORDS, QUERY_POW_BITS,
};

/// Bits of the challenge field (Goldilocks^2).
const CHALLENGE_FIELD_BITS: usize = 128;
/// Collision resistance of Keccak-256 and of Poseidon2 with a 4-element Goldilocks digest.
const COLLISION_BITS: usize = 128;
/// Largest constraint degree of any chip (LogUp fractions packed in pairs).
const MAX_DEGREE: usize = 3;

/// `(conjectured, proven)` security bits of a proof of `circuit` under `config`, by
/// Plonky3's estimator (`p3-security` through `p3-uni-stark`), conservatively counting every
/// instance's openings and constraints in one batch.
pub(crate) fn security_bits(circuit: &Circuit, config: FriConfig) -> (u16, u16) {
    let openings = if config.zero_knowledge {
        OpeningShape::hiding(NUM_RANDOM_CODEWORDS)
    } else {
        OpeningShape::new()
    };
    let quotient_chunks = 2usize << usize::from(config.zero_knowledge);
    let mut batched = 0;
    let mut constraints = 0;
    let mut log_height = 0;
    for air in &circuit.airs {
        let w = <crate::chips::ChipAir as p3_air::BaseAir<crate::config::Val>>::width(air);
        let pw =
            <crate::chips::ChipAir as p3_air::BaseAir<crate::config::Val>>::preprocessed_width(air);
        batched += num_batched_openings(
            w,
            true,
            pw,
            true,
            quotient_chunks,
            air.chip.interactions(),
            2,
            openings,
        );
        constraints += air.num_constraints() + air.chip.interactions();
        log_height = log_height.max(air.log_height() + usize::from(config.zero_knowledge));
    }
    let regime = FriRegime {
        log_blowup: config.log_blowup(),
        num_queries: config.num_queries(),
        log_final_poly_len: LOG_FINAL_POLY_LEN,
        max_log_arity: MAX_LOG_ARITY,
        commit_pow_bits: COMMIT_POW_BITS,
        query_pow_bits: QUERY_POW_BITS,
    };
    let params = StarkSecurityParams::new(
        regime,
        CHALLENGE_FIELD_BITS,
        COLLISION_BITS,
        constraints,
        MAX_DEGREE,
        2,
        batched,
        quotient_chunks,
    )
    .with_grinding(GrindingSites {
        batch_combination: BATCH_POW_BITS,
        ..GrindingSites::NONE
    });
    let conjectured = ConjecturedSecurity::compute_from_params(&params, log_height).security_bits;
    let proven = ProvenSecurity::compute(&params, 1 << log_height).security_bits();
    let clamp = |b: usize| u16::try_from(b).unwrap_or(u16::MAX);
    (clamp(conjectured), clamp(proven.min(conjectured)))
}

#[cfg(test)]
mod tests {
    use p3_air::AirLayout;
    use p3_lookup::InteractionSymbolicBuilder;
    use zkmlops_field::Scale;
    use zkmlops_tensor::ops::Rounding;
    use zkmlops_tensor::{Op, ProgramBuilder, Visibility};

    use crate::chips::ChipKind;
    use crate::config::{Challenge, Val};

    /// The hand-written interaction counts that feed the security estimate equal what each
    /// chip's AIR actually pushes (counted by Plonky3's symbolic builder), for every chip kind
    /// of a Program that uses them all: sources with limbs, committed inputs (bound chip),
    /// inlined weights, max (with a narrowing bound chip), division by a tensor, lookups.
    #[test]
    fn interaction_counts_match_the_airs() {
        let s = Scale::new(4).unwrap();
        let mut b = ProgramBuilder::new();
        b.unbounded_input("salt", &[4], s, Visibility::Committed);
        let x = b.input("x", &[1, 4], s, Visibility::Private);
        let w = b.input("w", &[4, 3], s, Visibility::Private);
        let c = b.input("c", &[3], s, Visibility::Committed);
        let d = b.input("d", &[1, 3], s, Visibility::Private);
        b.set_bits(d, 20).unwrap();
        let h = b.op("h", Op::MatMul, &[x, w]).unwrap();
        let h = b
            .op(
                "h4",
                Op::Rescale {
                    shift: 4,
                    rounding: Rounding::HalfUp,
                },
                &[h],
            )
            .unwrap();
        let hc = b.op("hc", Op::Add, &[h, c]).unwrap();
        let r = b.op("r", Op::Relu, &[hc]).unwrap();
        let q = b
            .op(
                "q",
                Op::Div {
                    rounding: Rounding::HalfUp,
                },
                &[r, d],
            )
            .unwrap();
        let m = b
            .op(
                "m",
                Op::ReduceMax {
                    axis: 1,
                    keep_dims: false,
                },
                &[q],
            )
            .unwrap();
        let sq = b.op("sq", Op::Mul, &[q, q]).unwrap();
        // A private operand read once by an elementwise add: inlined with its limbs.
        let e = b.input("e", &[1, 3], Scale::ONE, Visibility::Private);
        let y = b.op("y", Op::Add, &[sq, e]).unwrap();
        let total = b
            .op(
                "total",
                Op::Sum {
                    axes: vec![1],
                    keep_dims: false,
                },
                &[y],
            )
            .unwrap();
        b.output(m, Visibility::Public).unwrap();
        b.output(total, Visibility::Public).unwrap();
        let p = b.build().unwrap();
        let circuit = crate::circuit::compile(&p, &crate::placeholder_public(&p), 0).unwrap();
        let mut kinds = Vec::new();
        for air in &circuit.airs {
            let layout = AirLayout::from_air::<Val>(air);
            let built = InteractionSymbolicBuilder::<Val, Challenge>::from_air(air, layout);
            assert_eq!(
                air.chip.interactions(),
                built.global_interactions().len(),
                "{}",
                air.chip.kind_name()
            );
            kinds.push(air.chip.kind_name());
        }
        for k in [
            "source",
            "bound",
            "commit",
            "gemm",
            "div",
            "add",
            "relu",
            "div-tensor",
            "max",
            "mul",
        ] {
            assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
        }
    }
}
