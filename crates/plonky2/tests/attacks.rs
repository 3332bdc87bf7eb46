//! A cheating prover against the plonky2 circuit: hints that satisfy the field equations but
//! break the ranges the arithmetization relies on, and inputs outside their declared bound.
//!
//! Each attack runs twice: through plonky2's own witness generators with edited hints
//! (`prove_with_hints`: plonky2 refuses to finish the witness), and as an attacker with their
//! own prover would, by overwriting cells of the finished witness (`prove_edited`): the proof
//! exists and the unmodified verifier rejects it.
#![allow(clippy::unwrap_used)]

use zkmlops_field::Scale;
use zkmlops_plonky2::testing::{Cell, Hints, prove_edited, prove_with_hints};
use zkmlops_plonky2::{Plonky2Backend, Plonky2Preset};
use zkmlops_proof::{Backend, ProofEnvelope, ProveError, StageTag, VerifyError, VerifyPolicy};
use zkmlops_tensor::ops::{Pool2dParams, Rounding};
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, TensorId, Visibility, Witness};

/// The honest witness of `inputs`, with some computed tensors overwritten (the claim).
fn claim(p: &Program, inputs: &[Tensor], overrides: &[(TensorId, Vec<i64>)]) -> Witness {
    let mut w = p.evaluate(inputs).unwrap();
    for (id, values) in overrides {
        let t = &mut w.values_mut()[id.index()];
        *t = Tensor::new(t.shape().to_vec(), values.clone()).unwrap();
    }
    w
}

/// Through plonky2's generators the cheat gets no proof at all.
fn refused(proved: Result<ProofEnvelope, ProveError>) {
    assert!(
        matches!(proved, Err(ProveError::Backend { .. })),
        "{:?}",
        proved.map(|e| e.statement)
    );
}

/// With an edited witness the cheat gets a proof, and the verifier rejects it.
fn rejected(p: &Program, proved: Result<ProofEnvelope, ProveError>) {
    let env = proved.unwrap();
    let r = Plonky2Backend.verify(p, &env, &VerifyPolicy::default());
    assert!(
        matches!(r, Err(VerifyError::Rejected { .. })),
        "a cheating proof was not rejected: {r:?}"
    );
}

fn one_op(op: Op, n: usize, bits: u8) -> (Program, TensorId) {
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, n], Scale::new(4).unwrap(), Visibility::Private);
    b.set_bits(x, bits).unwrap();
    let y = b.op("y", op, &[x]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    (b.build().unwrap(), y)
}

const P: Plonky2Preset = Plonky2Preset::POSEIDON;

#[test]
fn the_honest_hints_verify() {
    // The control: the same path with unedited hints gives an accepted proof.
    let (p, _) = one_op(
        Op::Rescale {
            shift: 4,
            rounding: Rounding::HalfUp,
        },
        1,
        24,
    );
    let w = p.evaluate(&[Tensor::matrix(&[[24]]).unwrap()]).unwrap();
    let env = prove_with_hints(&p, &w, StageTag::Generic, P, |_| {}).unwrap();
    Plonky2Backend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap();
    // And the edited-witness path with no edit: an accepted proof, so the rejections below
    // come from the edits, not from the path.
    let env = prove_edited(&p, &w, &w, StageTag::Generic, P, &[]).unwrap();
    Plonky2Backend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap();
}

#[test]
fn a_rounding_with_an_out_of_range_remainder_is_rejected() {
    // 24 / 16 = 1.5 rounds (half up) to 2: 24 + 8 = 32 = 2*16 + 0. The cheater claims 1 with
    // remainder 16, which satisfies the field equation but not 0 <= r < 16.
    let (p, y) = one_op(
        Op::Rescale {
            shift: 4,
            rounding: Rounding::HalfUp,
        },
        1,
        24,
    );
    let input = [Tensor::matrix(&[[24]]).unwrap()];
    let honest = p.evaluate(&input).unwrap();
    let w = claim(&p, &input, &[(y, vec![1])]);
    refused(prove_with_hints(
        &p,
        &w,
        StageTag::Generic,
        P,
        |h: &mut Hints| {
            assert_eq!(h[0], ("div", vec![2, 0]));
            h[0].1 = vec![1, 32];
        },
    ));
    let edits = [
        (Cell::Hint(0, 0), 1),
        (Cell::Hint(0, 1), 16),
        (Cell::Tensor(y, 0), 1),
    ];
    rejected(
        &p,
        prove_edited(&p, &honest, &w, StageTag::Generic, P, &edits),
    );
}

#[test]
fn a_flipped_relu_sign_is_rejected() {
    // relu(-5) = 0; the cheater claims -5 with the sign bit h = 1 and m = x (negative).
    let (p, y) = one_op(Op::Relu, 1, 24);
    let input = [Tensor::matrix(&[[-5]]).unwrap()];
    let honest = p.evaluate(&input).unwrap();
    let w = claim(&p, &input, &[(y, vec![-5])]);
    refused(prove_with_hints(
        &p,
        &w,
        StageTag::Generic,
        P,
        |h: &mut Hints| {
            assert_eq!(h[0].0, "relu");
            h[0].1 = vec![1, -5];
        },
    ));
    let edits = [
        (Cell::Hint(0, 0), 1),
        (Cell::Hint(0, 1), -5),
        (Cell::Tensor(y, 0), -5),
    ];
    rejected(
        &p,
        prove_edited(&p, &honest, &w, StageTag::Generic, P, &edits),
    );
}

/// `y = [x >= t]` of two private scalars (24-bit).
fn at_least_op() -> (Program, TensorId) {
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 1], Scale::new(4).unwrap(), Visibility::Private);
    let t = b.input("t", &[1, 1], Scale::new(4).unwrap(), Visibility::Private);
    b.set_bits(x, 24).unwrap();
    b.set_bits(t, 24).unwrap();
    let y = b.op("y", Op::AtLeast, &[x, t]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    (b.build().unwrap(), y)
}

#[test]
fn a_flipped_comparison_bit_is_rejected() {
    // [2 >= 5] = 0 claimed 1 (h = 1 needs m = 2 - 5, negative), and [5 >= 2] = 1 claimed 0
    // (h = 0 needs m = 3 + 2^62, past its 62 bits).
    let (p, y) = at_least_op();
    for (a, b, lie, m) in [(2i64, 5i64, 1i64, -3i64), (5, 2, 0, 3 + (1 << 62))] {
        let input = [
            Tensor::matrix(&[[a]]).unwrap(),
            Tensor::matrix(&[[b]]).unwrap(),
        ];
        let honest = p.evaluate(&input).unwrap();
        let w = claim(&p, &input, &[(y, vec![lie])]);
        refused(prove_with_hints(
            &p,
            &w,
            StageTag::Generic,
            P,
            |h: &mut Hints| {
                assert_eq!(h[0].0, "at_least");
                h[0].1 = vec![lie.into(), m.into()];
            },
        ));
        let edits = [
            (Cell::Hint(0, 0), lie.into()),
            (Cell::Hint(0, 1), m.into()),
            (Cell::Tensor(y, 0), lie.into()),
        ];
        rejected(
            &p,
            prove_edited(&p, &honest, &w, StageTag::Generic, P, &edits),
        );
    }
}

#[test]
fn a_wrong_comparison_in_a_max_is_rejected() {
    // max(3, 7) = 7; the cheater keeps 3 (c = 0) with d = 3 - 7 = -4.
    let (p, y) = one_op(
        Op::ReduceMax {
            axis: 1,
            keep_dims: false,
        },
        2,
        24,
    );
    let input = [Tensor::matrix(&[[3, 7]]).unwrap()];
    let honest = p.evaluate(&input).unwrap();
    let w = claim(&p, &input, &[(y, vec![3])]);
    refused(prove_with_hints(
        &p,
        &w,
        StageTag::Generic,
        P,
        |h: &mut Hints| {
            assert_eq!(h[0], ("max", vec![1, 3]));
            h[0].1 = vec![0, -4];
        },
    ));
    let edits = [
        (Cell::Hint(0, 0), 0),
        (Cell::Hint(0, 1), -4),
        (Cell::Tensor(y, 0), 3),
    ];
    rejected(
        &p,
        prove_edited(&p, &honest, &w, StageTag::Generic, P, &edits),
    );
}

#[test]
fn a_max_pool_keeping_a_smaller_cell_is_rejected() {
    let mut b = ProgramBuilder::new();
    let x = b.input(
        "x",
        &[1, 1, 2, 2],
        Scale::new(4).unwrap(),
        Visibility::Private,
    );
    let y = b
        .op(
            "y",
            Op::MaxPool2d(Pool2dParams {
                kernel: [2, 2],
                strides: [2, 2],
                pads: [0; 4],
            }),
            &[x],
        )
        .unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let input = [Tensor::new(vec![1, 1, 2, 2], vec![1, 9, 4, 2]).unwrap()];
    let honest = p.evaluate(&input).unwrap();
    let w = claim(&p, &input, &[(y, vec![4])]);
    // Steps: 9 > 1 (c = 1), then 4 vs 9 (c = 0), then 2 vs 9 (c = 0). Keep 1 at the first
    // step and take 4 at the second: d goes negative at the first.
    refused(prove_with_hints(
        &p,
        &w,
        StageTag::Generic,
        P,
        |h: &mut Hints| {
            h[0].1 = vec![0, 1 - 9];
            h[1].1 = vec![1, 4 - 1 - 1];
            h[2].1 = vec![0, 4 - 2];
        },
    ));
    let edits = [
        (Cell::Hint(0, 0), 0),
        (Cell::Hint(0, 1), 1 - 9),
        (Cell::Hint(1, 0), 1),
        (Cell::Hint(1, 1), 4 - 1 - 1),
        (Cell::Hint(2, 0), 0),
        (Cell::Hint(2, 1), 4 - 2),
        (Cell::Tensor(y, 0), 4),
    ];
    rejected(
        &p,
        prove_edited(&p, &honest, &w, StageTag::Generic, P, &edits),
    );
}

#[test]
fn a_private_input_outside_its_declared_bound_is_rejected() {
    // Declared 8 bits: [-128, 128). The honest prover refuses 1000 with a typed error; the
    // cheater skips that check and the range check in the circuit fails.
    let (p, y) = one_op(
        Op::Sum {
            axes: vec![],
            keep_dims: false,
        },
        1,
        8,
    );
    let err = Plonky2Backend
        .prove(
            &p,
            &claim(&p, &[Tensor::matrix(&[[5]]).unwrap()], &[]),
            StageTag::Generic,
            "poseidon",
        )
        .map(|_| ());
    assert!(err.is_ok());
    let mut w = p.evaluate(&[Tensor::matrix(&[[5]]).unwrap()]).unwrap();
    w.values_mut()[0] = Tensor::matrix(&[[1000]]).unwrap();
    let t = &mut w.values_mut()[y.index()];
    *t = Tensor::new(t.shape().to_vec(), vec![1000]).unwrap();
    assert!(matches!(
        Plonky2Backend.prove(&p, &w, StageTag::Generic, "poseidon"),
        Err(ProveError::Witness(_))
    ));
    refused(prove_with_hints(&p, &w, StageTag::Generic, P, |_| {}));
    // The attacker's own witness: the input cell and the sum read 1000, the range check's
    // limbs stay those of an honest 5.
    let honest = p.evaluate(&[Tensor::matrix(&[[5]]).unwrap()]).unwrap();
    let edits = [
        (Cell::Tensor(TensorId(0), 0), 1000),
        (Cell::Tensor(y, 0), 1000),
    ];
    rejected(
        &p,
        prove_edited(&p, &honest, &w, StageTag::Generic, P, &edits),
    );
}

#[test]
fn operands_that_could_wrap_are_narrowed_and_checked() {
    // 40-bit inputs, four products: the worst case (4 * 2^78) wraps mod p, so the circuit
    // range-checks both operands to the widest width that rules it out. An honest value outside
    // it is a typed limit naming the tensor; a cheater's is rejected by the verifier.
    let mut b = ProgramBuilder::new();
    let s = Scale::new(4).unwrap();
    let x = b.input("x", &[1, 4], s, Visibility::Private);
    let w = b.input("w", &[4, 1], s, Visibility::Private);
    b.set_bits(x, 40).unwrap();
    b.set_bits(w, 40).unwrap();
    let y = b.op("y", Op::MatMul, &[x, w]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let small = [
        Tensor::matrix(&[[1, 2, 3, 4]]).unwrap(),
        Tensor::matrix(&[[1], [1], [1], [1]]).unwrap(),
    ];
    let honest = p.evaluate(&small).unwrap();
    let env = Plonky2Backend
        .prove(&p, &honest, StageTag::Generic, "poseidon")
        .unwrap();
    Plonky2Backend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap();
    let big = [
        Tensor::matrix(&[[1 << 35, 2, 3, 4]]).unwrap(),
        Tensor::matrix(&[[1], [1], [1], [1]]).unwrap(),
    ];
    let wide = p.evaluate(&big).unwrap();
    let err = Plonky2Backend
        .prove(&p, &wide, StageTag::Generic, "poseidon")
        .unwrap_err();
    assert!(
        matches!(&err, ProveError::Limit { tensor, .. } if tensor == "x"),
        "{err}"
    );
    let edits = [
        (Cell::Tensor(x, 0), 1 << 35),
        (Cell::Tensor(y, 0), (1 << 35) + 9),
    ];
    rejected(
        &p,
        prove_edited(&p, &honest, &wide, StageTag::Generic, P, &edits),
    );
}

#[test]
fn a_tensor_division_with_an_out_of_range_remainder_is_rejected() {
    // 7 / 2 half up = 4: 2*7 + 2 = 16 = 4*4 + 0. The cheater claims 3 with remainder 4 (not
    // below 2b = 4), and a zero divisor is refused by the honest prover.
    let mut b = ProgramBuilder::new();
    let s = Scale::new(0).unwrap();
    let a = b.input("a", &[1], s, Visibility::Private);
    let d = b.input("d", &[1], s, Visibility::Private);
    let y = b
        .op(
            "y",
            Op::Div {
                rounding: Rounding::HalfUp,
            },
            &[a, d],
        )
        .unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let input = [Tensor::vector(vec![7]), Tensor::vector(vec![2])];
    let honest = p.evaluate(&input).unwrap();
    assert_eq!(honest.get(y).unwrap().data(), &[4]);
    let env = Plonky2Backend
        .prove(&p, &honest, StageTag::Generic, "poseidon")
        .unwrap();
    Plonky2Backend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap();
    let w = claim(&p, &input, &[(y, vec![3])]);
    refused(prove_with_hints(
        &p,
        &w,
        StageTag::Generic,
        P,
        |h: &mut Hints| {
            assert_eq!(h[0], ("div-tensor", vec![4, 0]));
            h[0].1 = vec![3, 4];
        },
    ));
    let edits = [
        (Cell::Hint(0, 0), 3),
        (Cell::Hint(0, 1), 4),
        (Cell::Tensor(y, 0), 3),
    ];
    rejected(
        &p,
        prove_edited(&p, &honest, &w, StageTag::Generic, P, &edits),
    );
}

#[test]
fn a_wrong_square_root_is_rejected() {
    // floor(sqrt(17)) = 4 (hints y = 4, r1 = 1, r2 = 7); the cheater claims 5 (r1 = -8) or 3
    // (r2 = -2): each needs a negative remainder.
    let (p, y) = one_op(Op::Sqrt, 1, 24);
    let input = [Tensor::matrix(&[[17]]).unwrap()];
    let honest = p.evaluate(&input).unwrap();
    for (claimed, r1, r2) in [(5i64, -8i128, 18i128), (3, 8, -2)] {
        let w = claim(&p, &input, &[(y, vec![claimed])]);
        refused(prove_with_hints(
            &p,
            &w,
            StageTag::Generic,
            P,
            |h: &mut Hints| {
                assert_eq!(h[0], ("sqrt", vec![4, 1, 7]));
                h[0].1 = vec![claimed.into(), r1, r2];
            },
        ));
        let edits = [
            (Cell::Hint(0, 0), claimed.into()),
            (Cell::Hint(0, 1), r1),
            (Cell::Hint(0, 2), r2),
            (Cell::Tensor(y, 0), claimed.into()),
        ];
        rejected(
            &p,
            prove_edited(&p, &honest, &w, StageTag::Generic, P, &edits),
        );
    }
}

#[test]
fn a_wrong_argmax_is_rejected() {
    // argmax(3, 7) = 1; the cheater claims 0 by keeping 3 (c = 0, d = 3 - 7 = -4).
    let (p, y) = one_op(
        Op::ArgMax {
            axis: 1,
            keep_dims: false,
        },
        2,
        24,
    );
    let input = [Tensor::matrix(&[[3, 7]]).unwrap()];
    let honest = p.evaluate(&input).unwrap();
    assert_eq!(honest.get(y).unwrap().data(), &[1]);
    let w = claim(&p, &input, &[(y, vec![0])]);
    refused(prove_with_hints(
        &p,
        &w,
        StageTag::Generic,
        P,
        |h: &mut Hints| {
            assert_eq!(h[0], ("max", vec![1, 3]));
            h[0].1 = vec![0, -4];
        },
    ));
    let edits = [
        (Cell::Hint(0, 0), 0),
        (Cell::Hint(0, 1), -4),
        (Cell::Tensor(y, 0), 0),
    ];
    rejected(
        &p,
        prove_edited(&p, &honest, &w, StageTag::Generic, P, &edits),
    );
}

#[test]
fn a_partition_that_is_not_the_stable_one_is_rejected() {
    // x = [10, 20, 30], mask = [0, 1, 1]: the stable partition is [20, 30, 10]; the cheater
    // claims [30, 20, 10] (a permutation, but not to the destinations the mask gives), or
    // [20, 30, 20] (not a permutation).
    let (p, input, y) = zkmlops_conformance::cases::stable_partition().unwrap();
    let honest = p.evaluate(&input).unwrap();
    assert_eq!(honest.get(y).unwrap().data(), &[20, 30, 10]);
    let env = Plonky2Backend
        .prove(&p, &honest, StageTag::Generic, "poseidon")
        .unwrap();
    Plonky2Backend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap();
    for forged in [vec![30, 20, 10], vec![20, 30, 20]] {
        let w = claim(&p, &input, &[(y, forged.clone())]);
        refused(prove_with_hints(
            &p,
            &w,
            StageTag::Generic,
            P,
            |h: &mut Hints| {
                assert_eq!(h[0], ("partition", vec![20, 30, 10]));
                h[0].1 = forged.iter().map(|&v| i128::from(v)).collect();
            },
        ));
        let edits: Vec<(Cell, i128)> = forged
            .iter()
            .enumerate()
            .map(|(i, &v)| (Cell::Hint(0, i), i128::from(v)))
            .collect();
        rejected(
            &p,
            prove_edited(&p, &honest, &w, StageTag::Generic, P, &edits),
        );
    }
}

/// Packed commitments (scheme v2): `[261, 2]` and `[5, 3]`, declared 8 bits, pack to the same
/// element of the model commitment, so a claim about the sum of the first under the second's
/// published commitment has a consistent sponge: only the range checks of the committed
/// inputs stand in the way, and the verifier rejects.
#[test]
fn packed_commitment_collisions_beyond_the_bound_are_rejected() {
    use zkmlops_conformance::cases::{PACKED_COLLISION_CLAIM, packed_collision};
    let (p, inputs, w, y) = packed_collision().unwrap();
    let honest = p.evaluate(&inputs).unwrap();
    let (weights, sum) = PACKED_COLLISION_CLAIM;
    let mut claimed = claim(&p, &inputs, &[(y, vec![sum])]);
    claimed.values_mut()[w.index()] = Tensor::vector(weights.to_vec());
    assert_eq!(
        zkmlops_commit::program_commitments(&p, &honest).unwrap(),
        zkmlops_commit::program_commitments(&p, &claimed).unwrap(),
        "the two weight vectors collide in the packed commitment"
    );
    let edits = [
        (Cell::Tensor(w, 0), i128::from(weights[0])),
        (Cell::Tensor(w, 1), i128::from(weights[1])),
        (Cell::Tensor(y, 0), i128::from(sum)),
    ];
    rejected(
        &p,
        prove_edited(&p, &honest, &claimed, StageTag::Generic, P, &edits),
    );
}

/// The collision on a computed output committed packed to a lineage group (scheme v3):
/// `z = [261, 2]` packs like `[5, 3]`; the lowering's range check of the packed output is all
/// that stands in the way, and the verifier rejects.
#[test]
fn packed_output_collisions_beyond_the_bound_are_rejected() {
    use zkmlops_conformance::cases::{PACKED_COLLISION_CLAIM, packed_output_collision};
    let (p, inputs, x, z, y) = packed_output_collision().unwrap();
    let honest = p.evaluate(&inputs).unwrap();
    let (values, sum) = PACKED_COLLISION_CLAIM;
    let mut claimed = honest.clone();
    claimed.values_mut()[x.index()] = Tensor::vector(values.to_vec());
    claimed.values_mut()[z.index()] = Tensor::vector(values.to_vec());
    claimed.values_mut()[y.index()] = Tensor::vector(vec![sum]);
    assert_eq!(
        zkmlops_commit::program_commitments(&p, &honest).unwrap(),
        zkmlops_commit::program_commitments(&p, &claimed).unwrap(),
        "the two outputs collide in the packed lineage commitment"
    );
    let edits = [
        (Cell::Tensor(x, 0), i128::from(values[0])),
        (Cell::Tensor(x, 1), i128::from(values[1])),
        (Cell::Tensor(z, 0), i128::from(values[0])),
        (Cell::Tensor(z, 1), i128::from(values[1])),
        (Cell::Tensor(y, 0), i128::from(sum)),
    ];
    rejected(
        &p,
        prove_edited(&p, &honest, &claimed, StageTag::Generic, P, &edits),
    );
}
