//! A cheating prover against the halo2 circuit: no prover-side check of any kind (not the
//! witness against the Program, not the limits, not the netlist's own satisfaction check),
//! hints that satisfy the field equations but break the ranges the arithmetic relies on,
//! inputs outside their declared bound, a lookup output off the table, a range-check limb
//! past its width, and a single cell that disagrees with its copies.
//!
//! halo2's prover proves whatever gates and copies it is given, so those cheats get a proof
//! and the unmodified verifier must reject it. A value missing from a lookup table is another
//! matter: the lookup argument's prover cannot build its permuted columns and stops with
//! `ConstraintSystemFailure` (no proof bytes exist to verify; a forger would have to break the
//! argument itself). [`rejected`] accepts exactly those two outcomes.
#![allow(clippy::unwrap_used)]

use zkmlops_field::Scale;
use zkmlops_halo2::Halo2Backend;
use zkmlops_halo2::testing::{Cell, Hints, prove_edited, rows, tensor_var};
use zkmlops_proof::{Backend, ProofEnvelope, ProveError, StageTag, VerifyError, VerifyPolicy};
use zkmlops_tensor::ops::Rounding;
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

/// The cheat gets a proof and the verifier rejects it, or (a value off a lookup table) the
/// lookup argument cannot be built at all.
fn rejected(p: &Program, proved: Result<ProofEnvelope, ProveError>) {
    let env = match proved {
        Ok(env) => env,
        Err(ProveError::Backend { source, .. })
            if source.to_string() == "halo2 prover: ConstraintSystemFailure" =>
        {
            return;
        }
        Err(e) => panic!("the cheating prover failed otherwise: {e}"),
    };
    let r = Halo2Backend.verify(p, &env, &VerifyPolicy::default());
    assert!(
        matches!(r, Err(VerifyError::Rejected { .. })),
        "a cheating proof was not rejected: {r:?}"
    );
}

/// The cheat gets a proof (no table is involved) and the verifier rejects it.
fn rejected_by_verifier(p: &Program, proved: Result<ProofEnvelope, ProveError>) {
    let env = proved.unwrap();
    let r = Halo2Backend.verify(p, &env, &VerifyPolicy::default());
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

fn rescale() -> (Program, TensorId) {
    one_op(
        Op::Rescale {
            shift: 4,
            rounding: Rounding::HalfUp,
        },
        1,
        24,
    )
}

#[test]
fn the_cheating_path_with_no_edit_verifies() {
    // The control: the same path with nothing edited gives an accepted proof, so the
    // rejections below come from the edits.
    let (p, _) = rescale();
    let w = p.evaluate(&[Tensor::matrix(&[[24]]).unwrap()]).unwrap();
    let env = prove_edited(&p, &w, &w, StageTag::Generic, |_| {}, &[]).unwrap();
    Halo2Backend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap();
}

#[test]
fn a_rounding_with_an_out_of_range_remainder_is_rejected() {
    // 24 / 16 = 1.5 rounds (half up) to 2: 24 + 8 = 32 = 2*16 + 0. The cheater claims 1 with
    // remainder 16: the field equation holds, 0 <= r < 16 does not.
    let (p, y) = rescale();
    let input = [Tensor::matrix(&[[24]]).unwrap()];
    let honest = p.evaluate(&input).unwrap();
    let w = claim(&p, &input, &[(y, vec![1])]);
    // Hints edited before the values are derived (limbs follow the edited remainder) ...
    rejected(
        &p,
        prove_edited(
            &p,
            &honest,
            &w,
            StageTag::Generic,
            |h: &mut Hints| {
                assert_eq!(h[0], ("div", vec![2, 0]));
                h[0].1 = vec![1, 16];
            },
            &[],
        ),
    );
    // ... and cells overwritten after (the limbs stay those of the honest remainder).
    let edits = [(Cell::Hint(0, 0), 1), (Cell::Hint(0, 1), 16)];
    rejected(
        &p,
        prove_edited(&p, &honest, &w, StageTag::Generic, |_| {}, &edits),
    );
}

#[test]
fn a_flipped_relu_sign_is_rejected() {
    // relu(-5) = 0; the cheater claims -5 with the sign bit h = 1 and m = x (negative).
    let (p, y) = one_op(Op::Relu, 1, 24);
    let input = [Tensor::matrix(&[[-5]]).unwrap()];
    let honest = p.evaluate(&input).unwrap();
    let w = claim(&p, &input, &[(y, vec![-5])]);
    rejected(
        &p,
        prove_edited(
            &p,
            &honest,
            &w,
            StageTag::Generic,
            |h: &mut Hints| {
                assert_eq!(h[0].0, "relu");
                h[0].1 = vec![1, -5];
            },
            &[],
        ),
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
        rejected(
            &p,
            prove_edited(
                &p,
                &honest,
                &w,
                StageTag::Generic,
                |h: &mut Hints| {
                    assert_eq!(h[0].0, "at_least");
                    h[0].1 = vec![lie.into(), m.into()];
                },
                &[],
            ),
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
    rejected(
        &p,
        prove_edited(
            &p,
            &honest,
            &w,
            StageTag::Generic,
            |h: &mut Hints| {
                assert_eq!(h[0], ("max", vec![1, 3]));
                h[0].1 = vec![0, -4];
            },
            &[],
        ),
    );
}

#[test]
fn a_private_input_outside_its_declared_bound_is_rejected() {
    // Declared 8 bits: [-128, 128). The honest prover refuses 1000 by name; the cheater skips
    // that check and the range check in the circuit fails.
    let (p, y) = one_op(
        Op::Sum {
            axes: vec![],
            keep_dims: false,
        },
        1,
        8,
    );
    let mut w = p.evaluate(&[Tensor::matrix(&[[5]]).unwrap()]).unwrap();
    w.values_mut()[0] = Tensor::matrix(&[[1000]]).unwrap();
    let t = &mut w.values_mut()[y.index()];
    *t = Tensor::new(t.shape().to_vec(), vec![1000]).unwrap();
    assert!(matches!(
        Halo2Backend.prove(&p, &w, StageTag::Generic, "ipa"),
        Err(ProveError::Witness(_))
    ));
    rejected(&p, prove_edited(&p, &w, &w, StageTag::Generic, |_| {}, &[]));
}

#[test]
fn an_unbounded_private_input_beyond_64_bits_is_rejected() {
    // No declared bound: in a 255-bit field the circuit still proves the value an i64, so a
    // field element such as 2^100 cannot pose as an integer the reference could compute with.
    let (p, y) = one_op(
        Op::Sum {
            axes: vec![],
            keep_dims: false,
        },
        1,
        64,
    );
    let honest = p.evaluate(&[Tensor::matrix(&[[5]]).unwrap()]).unwrap();
    let edits = [(Cell::Tensor(TensorId(0), 0), 1i128 << 100)];
    // The claimed output is the honest 5's: the input cell alone is wrong (its sum cells
    // follow it, as copies of one variable), and its 64-bit range check fails.
    let _ = y;
    rejected(
        &p,
        prove_edited(&p, &honest, &honest, StageTag::Generic, |_| {}, &edits),
    );
}

#[test]
fn a_tensor_division_with_an_out_of_range_remainder_is_rejected() {
    // 7 / 2 half up = 4: 2*7 + 2 = 16 = 4*4 + 0. The cheater claims 3 with remainder 4 (not
    // below 2b = 4).
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
    let w = claim(&p, &input, &[(y, vec![3])]);
    rejected(
        &p,
        prove_edited(
            &p,
            &honest,
            &w,
            StageTag::Generic,
            |h: &mut Hints| {
                assert_eq!(h[0], ("div-tensor", vec![4, 0]));
                h[0].1 = vec![3, 4];
            },
            &[],
        ),
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
        rejected(
            &p,
            prove_edited(
                &p,
                &honest,
                &w,
                StageTag::Generic,
                |h: &mut Hints| {
                    assert_eq!(h[0], ("sqrt", vec![4, 1, 7]));
                    h[0].1 = vec![claimed.into(), r1, r2];
                },
                &[],
            ),
        );
    }
}

#[test]
fn a_lookup_output_off_the_table_is_rejected() {
    // sigmoid through the table: the cheater claims another output for the same input.
    let spec = zkmlops_lookup::TableSpec::new(
        zkmlops_lookup::Function::Sigmoid,
        Scale::new(4).unwrap(),
        Scale::new(4).unwrap(),
        -64,
        64,
    )
    .unwrap();
    let (p, y) = one_op(Op::Lookup(spec), 1, 24);
    let input = [Tensor::matrix(&[[5]]).unwrap()];
    let honest = p.evaluate(&input).unwrap();
    let out = honest.get(y).unwrap().data()[0];
    let w = claim(&p, &input, &[(y, vec![out + 1])]);
    let edits = [(Cell::Tensor(y, 0), i128::from(out + 1))];
    rejected(
        &p,
        prove_edited(&p, &honest, &w, StageTag::Generic, |_| {}, &edits),
    );
}

#[test]
fn a_range_limb_past_its_width_is_rejected() {
    // A remainder's 8-bit limbs: move 256 from the second limb into the first. The gate's sum
    // is unchanged; the first limb's range lookup (0..256) fails.
    let (p, _) = rescale();
    let input = [Tensor::matrix(&[[24 + 16 * 300]]).unwrap()];
    let honest = p.evaluate(&input).unwrap();
    let table = rows(&p).unwrap();
    // The range row of the quotient shifted by 2^58: find a row with four 8-bit limbs whose
    // second limb is nonzero in the honest assignment, i.e. any row tagged [8, 8, 8, 8].
    let (r, _) = table
        .iter()
        .enumerate()
        .find(|(_, row)| row.1 == [8, 8, 8, 8])
        .unwrap();
    // Quotient 300 + 2^58 in limbs: limb0 = 44, limb1 = 1 (300 = 256 + 44). Write limb0 =
    // 300, limb1 = 0.
    let edits = [(Cell::Raw(r, 0), 300), (Cell::Raw(r, 1), 0)];
    rejected(
        &p,
        prove_edited(&p, &honest, &honest, StageTag::Generic, |_| {}, &edits),
    );
}

#[test]
fn a_cell_that_disagrees_with_its_copies_is_rejected() {
    // x w with x private: write one product cell of x (a copy of its home cell) with another
    // value, leaving the output consistent with the written cell. Only the permutation
    // argument ties the copy to its home.
    let mut b = ProgramBuilder::new();
    let s = Scale::new(0).unwrap();
    let x = b.input("x", &[1, 2], s, Visibility::Private);
    let w = b.input("w", &[2, 1], s, Visibility::Private);
    let y = b.op("y", Op::MatMul, &[x, w]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let input = [
        Tensor::matrix(&[[3, 4]]).unwrap(),
        Tensor::matrix(&[[5], [6]]).unwrap(),
    ];
    let honest = p.evaluate(&input).unwrap();
    assert_eq!(honest.get(y).unwrap().data(), &[39]);
    let x0 = tensor_var(&p, x, 0).unwrap().unwrap();
    let table = rows(&p).unwrap();
    // The product row holds x0 in column a (not its home: x's home is its range-check row).
    let (r, _) = table
        .iter()
        .enumerate()
        .rev()
        .find(|(_, row)| row.0[0] == Some(x0))
        .unwrap();
    // x0 = 2 in the product: 2*5 + 4*6 = 34, claimed as the output.
    let claimed = claim(&p, &input, &[(y, vec![34])]);
    let edits = [(Cell::Raw(r, 0), 2), (Cell::Tensor(y, 0), 34)];
    rejected_by_verifier(
        &p,
        prove_edited(&p, &honest, &claimed, StageTag::Generic, |_| {}, &edits),
    );
}

#[test]
fn other_weights_under_a_published_commitment_are_rejected() {
    // y = x w with w committed: the cheater proves with other weights while the statement
    // carries the published commitment of the real ones. The circuit hashes the weights it
    // uses (Poseidon over Pasta), so its digest is not the instance's.
    let mut b = ProgramBuilder::new();
    let s = Scale::new(0).unwrap();
    let x = b.input("x", &[1, 2], s, Visibility::Public);
    let w = b.input("w", &[2, 1], s, Visibility::Committed);
    let y = b.op("y", Op::MatMul, &[x, w]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let x_in = Tensor::matrix(&[[3, 4]]).unwrap();
    let real = p
        .evaluate(&[x_in.clone(), Tensor::matrix(&[[5], [6]]).unwrap()])
        .unwrap();
    let env = Halo2Backend
        .prove(&p, &real, StageTag::Generic, "ipa")
        .unwrap();
    let verified = Halo2Backend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap();
    assert_eq!(
        verified.statement.commitment_scheme,
        Some(zkmlops_halo2::commit::SCHEME)
    );
    // Weights (6, 5): the same output 3*6 + 4*5 = 38 is not 39, so claim the output the
    // other weights give, under the real weights' commitment.
    let other = p
        .evaluate(&[x_in, Tensor::matrix(&[[6], [5]]).unwrap()])
        .unwrap();
    let mut claimed = other.clone();
    claimed.values_mut()[w.index()] = real.get(w).unwrap().clone();
    rejected_by_verifier(
        &p,
        prove_edited(&p, &other, &claimed, StageTag::Generic, |_| {}, &[]),
    );
    // And a committed weight's cell overwritten after the honest values (the packed words
    // and the product disagree with it).
    let edits = [(Cell::Tensor(w, 0), 7)];
    rejected_by_verifier(
        &p,
        prove_edited(&p, &real, &real, StageTag::Generic, |_| {}, &edits),
    );
}

#[test]
fn a_partition_that_is_not_the_stable_one_is_rejected() {
    // x = [10, 20, 30], mask = [0, 1, 1]: the stable partition is [20, 30, 10]; the cheater
    // claims [30, 20, 10] (a permutation, but not to the destinations the mask gives), or
    // [20, 30, 20] (not a permutation). The challenges are drawn in the circuit from the
    // claimed outputs, so they follow every edit.
    let (p, input, y) = zkmlops_conformance::cases::stable_partition().unwrap();
    let honest = p.evaluate(&input).unwrap();
    assert_eq!(honest.get(y).unwrap().data(), &[20, 30, 10]);
    let env = Halo2Backend
        .prove(&p, &honest, StageTag::Generic, "ipa")
        .unwrap();
    Halo2Backend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap();
    for forged in [vec![30, 20, 10], vec![20, 30, 20]] {
        let w = claim(&p, &input, &[(y, forged.clone())]);
        rejected_by_verifier(
            &p,
            prove_edited(
                &p,
                &honest,
                &w,
                StageTag::Generic,
                |h: &mut Hints| {
                    assert_eq!(h[0], ("partition", vec![20, 30, 10]));
                    h[0].1 = forged.iter().map(|&v| i128::from(v)).collect();
                },
                &[],
            ),
        );
    }
}
