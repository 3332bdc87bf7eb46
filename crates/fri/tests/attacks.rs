//! The soundness issue's four attacks, rebuilt with the cheating prover (`testing` feature):
//! a prover that skips every prover-side check and writes its own trace cells, with range and
//! table multiplicities recounted to balance whatever it wrote.
//!
//! Each attack claims an output the integer reference never produces (the reference has no
//! result at all, or another one). For each, the test asserts that
//! 1. the unmodified verifier rejects the proof with a typed cryptographic error, and
//! 2. the edited traces satisfy every constraint and balance every bus *except* the
//!    range-check bus: the range check added by the soundness fix is the only thing between
//!    the attacker and an accepted false statement (without it, the attack verified).
//!
//! A control test makes a consistent edit (another honest input) and gets a valid, accepted
//! proof, so the harness itself is not what rejects.
#![allow(clippy::unwrap_used)]

use zkmlops_field::{GOLDILOCKS_P, MAX_ABS, Scale};
use zkmlops_fri::testing::{self, Traces};
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{Backend, ProveError, StageTag, VerifyPolicy};
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{
    DEFAULT_INPUT_BITS, MAX_INPUT_BITS, Op, Program, ProgramBuilder, Tensor, TensorId, Visibility,
    Witness,
};

const K: FriConfig = FriConfig::KECCAK;
const P: i128 = GOLDILOCKS_P as i128;

/// The limbs an attacker writes for a value `v` checked to `bits` signed bits: the composition
/// constraint `v + 2^(bits-1) = sum(limb_i * 256^i)` holds in the field, the low limbs are
/// bytes, and the top limb takes whatever is left (out of the table when `v` is out of range).
fn attacker_limbs(v: i128, bits: u32) -> Vec<u64> {
    let n = bits.div_ceil(8) as usize;
    let u = (v + (1i128 << (bits - 1))).rem_euclid(P);
    (0..n)
        .map(|i| {
            let shifted = u >> (8 * i);
            let l = if i + 1 == n { shifted } else { shifted & 0xff };
            u64::try_from(l).unwrap()
        })
        .collect()
}

/// A field element of a signed integer, as its canonical u64.
fn fe(v: i128) -> u64 {
    u64::try_from(v.rem_euclid(P)).unwrap()
}

/// Write `v` and its attacker limbs into a source or bound chip row.
fn write_checked(t: &mut Traces<'_>, inst: usize, row: usize, v: i128, bits: u32) {
    t.set_u64(inst, row, 0, fe(v));
    if bits < 64 {
        for (k, l) in attacker_limbs(v, bits).into_iter().enumerate() {
            t.set_u64(inst, row, 1 + k, l);
        }
    }
}

/// A witness whose inputs are honest small values (what the trace generator starts from) but
/// whose computed tensors are the attacker's claims.
fn claim(program: &Program, inputs: &[Tensor], claims: &[(TensorId, Vec<i64>)]) -> Witness {
    let mut w = program.evaluate(inputs).unwrap();
    for (id, values) in claims {
        let shape = w.get(*id).unwrap().shape().to_vec();
        w.values_mut()[id.index()] = Tensor::new(shape, values.clone()).unwrap();
    }
    w
}

/// The attack's verdicts: rejected by the verifier, and only the range bus is broken.
fn assert_only_the_range_check_stops_it(
    program: &Program,
    witness: &Witness,
    edit: impl Fn(&mut Traces<'_>) + Copy,
) {
    let d = testing::diagnose(program, witness, StageTag::Generic, K, edit).unwrap();
    assert!(
        d.only_bus(testing::RANGE),
        "the attack must break nothing but a range check: {d:?}"
    );
    let env = testing::prove_edited(program, witness, StageTag::Generic, K, edit).unwrap();
    let e = FriBackend
        .verify(program, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(e.is_cryptographic(), "{e}");
}

fn max_program(x_bits: u8) -> (Program, TensorId, TensorId) {
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 2], Scale::ONE, Visibility::Private);
    b.set_bits(x, x_bits).unwrap();
    let y = b
        .op(
            "y",
            Op::ReduceMax {
                axis: 1,
                keep_dims: false,
            },
            &[x],
        )
        .unwrap();
    b.output(y, Visibility::Public).unwrap();
    (b.build().unwrap(), x, y)
}

/// Attack 1: max inputs near +-2^63. With `x0 = MAX_ABS - 5` and `x1 = -MAX_ABS + 10`, the
/// "comparison" `x1 - x0 - 1 = 15 (mod p)` fits in 32 bits, so the smaller input is claimed
/// to be the max.
#[test]
fn attack_1_max_of_extreme_inputs_is_rejected() {
    let (x0, x1) = (i128::from(MAX_ABS) - 5, -i128::from(MAX_ABS) + 10);
    // Over the field the comparison difference really is small: that was the hole.
    assert_eq!((x1 - x0 - 1).rem_euclid(P), 15);
    for bits in [DEFAULT_INPUT_BITS, MAX_INPUT_BITS] {
        let (p, x, y) = max_program(bits);
        let w = claim(
            &p,
            &[Tensor::matrix(&[[5, 3]]).unwrap()],
            &[(y, vec![i64::try_from(x1).unwrap()])],
        );
        let edit = |t: &mut Traces<'_>| {
            let src = t.find("source", "x").unwrap();
            write_checked(t, src, 0, x0, u32::from(bits));
            write_checked(t, src, 1, x1, u32::from(bits));
            // With full-range inputs the backend adds a 32-bit bound chip on the max's input.
            if let Some(bound) = t.find("bound", "x") {
                write_checked(t, bound, 0, x0, 32);
                write_checked(t, bound, 1, x1, 32);
            }
            let m = t.find("max", "y").unwrap();
            // Row 0: prev = x0 - 1, acc = x0. Row 1: prev = x0, c = 1 ("x1 > x0"), acc = x1,
            // d = x1 - x0 - 1 = 15. (Columns x, acc, c, d0..d3, prev.)
            t.set_u64(m, 0, 0, fe(x0));
            t.set_u64(m, 0, 1, fe(x0));
            t.set_u64(m, 0, 7, fe(x0 - 1));
            t.set_u64(m, 1, 0, fe(x1));
            t.set_u64(m, 1, 1, fe(x1));
            t.set_u64(m, 1, 7, fe(x0));
            t.set(m, 1, 2, 1);
            for (k, l) in [15, 0, 0, 0].into_iter().enumerate() {
                t.set(m, 1, 3 + k, l);
            }
        };
        assert_only_the_range_check_stops_it(&p, &w, edit);
        let _ = x;
    }
}

/// Attack 2: division by an odd tensor with `t = 0` and `h = b / 2 mod p`: the half-up offset
/// becomes `(p + b) / 2`, which turns an input near `-p/2` into a small quotient.
#[test]
fn attack_2_division_with_a_field_half_is_rejected() {
    let mut b = ProgramBuilder::new();
    let a = b.input("a", &[1], Scale::ONE, Visibility::Private);
    b.set_bits(a, MAX_INPUT_BITS).unwrap();
    let d = b.input("d", &[1], Scale::ONE, Visibility::Private);
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
    // a = -MAX_ABS + k; with h = (p + 3) / 2, a + h = k + 2 over the integers.
    let k = 10i128;
    let av = -i128::from(MAX_ABS) + k;
    let h = (P + 3) / 2;
    assert_eq!((av + h).rem_euclid(P), k + 2);
    let (q, r) = ((k + 2) / 3, (k + 2) % 3);
    // The reference's quotient is about -p / 6: nowhere near the claimed 4.
    let w = claim(
        &p,
        &[Tensor::vector(vec![7]), Tensor::vector(vec![3])],
        &[(y, vec![i64::try_from(q).unwrap()])],
    );
    let edit = |t: &mut Traces<'_>| {
        let src = t.find("source", "a").unwrap();
        write_checked(t, src, 0, av, 64);
        let m = t.find("div-tensor", "y").unwrap();
        // Columns: a, b, q, h, t, q0..q3, r0..r2, e0..e2, h0..h2.
        t.set_u64(m, 0, 0, fe(av));
        t.set(m, 0, 1, 3);
        t.set_u64(m, 0, 2, fe(q));
        t.set_u64(m, 0, 3, fe(h));
        t.set(m, 0, 4, 0);
        let qs = attacker_limbs(q, 32);
        let rs = [r, 0, 0];
        let es = [3 - 1 - r, 0, 0];
        // h's limbs: two bytes and a top limb far outside the table.
        let hs = [h & 0xff, (h >> 8) & 0xff, h >> 16];
        for (c, v) in qs
            .iter()
            .map(|&v| i128::from(v))
            .chain(rs)
            .chain(es)
            .chain(hs)
            .enumerate()
        {
            t.set_u64(m, 0, 5 + c, fe(v));
        }
    };
    assert_only_the_range_check_stops_it(&p, &w, edit);
}

/// Attack 3: a mean whose sum wraps: `MAX_ABS + MAX_ABS = p - 1 = -1 (mod p)`, so the mean of
/// two huge values "is" 0. The reference has no result (the sum overflows).
#[test]
fn attack_3_mean_of_a_wrapped_sum_is_rejected() {
    for bits in [63u8, MAX_INPUT_BITS] {
        let mut b = ProgramBuilder::new();
        let x = b.input("x", &[2], Scale::ONE, Visibility::Private);
        b.set_bits(x, bits).unwrap();
        let y = b
            .op(
                "y",
                Op::Mean {
                    axes: vec![0],
                    keep_dims: false,
                    rounding: Rounding::HalfUp,
                },
                &[x],
            )
            .unwrap();
        b.output(y, Visibility::Public).unwrap();
        let p = b.build().unwrap();
        let big = i128::from(MAX_ABS);
        // The reference's mean of two MAX_ABS is MAX_ABS (it sums exactly), or no result when
        // the declared bound excludes them: never the claimed 0.
        match p.evaluate(&[Tensor::vector(vec![MAX_ABS, MAX_ABS])]) {
            Ok(w) => assert_eq!(w.get(y).unwrap().data(), &[MAX_ABS]),
            Err(e) => assert!(e.to_string().contains("declared bound"), "{e}"),
        }
        let w = claim(&p, &[Tensor::vector(vec![3, 5])], &[(y, vec![0])]);
        let edit = |t: &mut Traces<'_>| {
            let src = t.find("source", "x").unwrap();
            write_checked(t, src, 0, big, u32::from(bits));
            write_checked(t, src, 1, big, u32::from(bits));
            // The sum could wrap, so the backend range-checks its input.
            let bound = t.find("bound", "x").unwrap();
            write_checked(t, bound, 0, big, 32);
            write_checked(t, bound, 1, big, 32);
            let s = t.find("sum", "y/sum").unwrap();
            t.set_u64(s, 0, 0, fe(big));
            t.set_u64(s, 0, 1, fe(big));
            t.set_u64(s, 1, 0, fe(big));
            t.set_u64(s, 1, 1, fe(2 * big));
            // (sum + 1) = 0 = 2 * 0 + 0.  Columns: x, q, q0..q3, r0, r1, e0, e1.
            let dv = t.find("div", "y").unwrap();
            t.set_u64(dv, 0, 0, fe(2 * big));
            t.set(dv, 0, 1, 0);
            for (k, l) in attacker_limbs(0, 32).into_iter().enumerate() {
                t.set_u64(dv, 0, 2 + k, l);
            }
            for (k, l) in [0, 0, 1, 0].into_iter().enumerate() {
                t.set(dv, 0, 6 + k, l);
            }
        };
        assert_only_the_range_check_stops_it(&p, &w, edit);
    }
}

/// Attack 4: an elementwise product past the integer range: `2^33 * (2^31 - 1)` wraps mod p.
/// The reference has no result; the attacker claims the wrapped value.
#[test]
fn attack_4_wrapped_products_and_sums_are_rejected() {
    for op in [Op::Mul, Op::Add] {
        let mut b = ProgramBuilder::new();
        let a = b.input("a", &[1], Scale::ONE, Visibility::Private);
        b.set_bits(a, MAX_INPUT_BITS).unwrap();
        let c = b.input("c", &[1], Scale::ONE, Visibility::Private);
        b.set_bits(c, 32).unwrap();
        let y = b.op("y", op.clone(), &[a, c]).unwrap();
        b.output(y, Visibility::Public).unwrap();
        let p = b.build().unwrap();
        let (av, cv) = match op {
            Op::Mul => (1i128 << 33, (1i128 << 31) - 1),
            _ => (i128::from(MAX_ABS), (1i128 << 31) - 1),
        };
        let wrapped = match op {
            Op::Mul => (av * cv).rem_euclid(P),
            _ => (av + cv).rem_euclid(P),
        };
        let signed = if wrapped > P / 2 {
            wrapped - P
        } else {
            wrapped
        };
        let w = claim(
            &p,
            &[Tensor::vector(vec![2]), Tensor::vector(vec![3])],
            &[(y, vec![i64::try_from(signed).unwrap()])],
        );
        let edit = |t: &mut Traces<'_>| {
            let src = t.find("source", "a").unwrap();
            write_checked(t, src, 0, av, 64);
            let bound = t.find("bound", "a").unwrap();
            write_checked(t, bound, 0, av, 32);
            // `c` is inlined into the map chip: columns a, c, y, then c's limbs (honest).
            let name = if op == Op::Mul { "mul" } else { "add" };
            let m = t.find(name, "y").unwrap();
            t.set_u64(m, 0, 0, fe(av));
            t.set_u64(m, 0, 1, fe(cv));
            t.set_u64(m, 0, 2, fe(wrapped));
            for (k, l) in attacker_limbs(cv, 32).into_iter().enumerate() {
                t.set_u64(m, 0, 3 + k, l);
            }
        };
        assert_only_the_range_check_stops_it(&p, &w, edit);
    }
}

/// A Program whose declared bounds cannot rule out wrap-around is refused, naming the tensor,
/// by the prover and by the verifier (which compiles the same circuit).
#[test]
fn arithmetic_on_full_range_inline_values_is_refused() {
    let mut b = ProgramBuilder::new();
    let a = b.input("a", &[1], Scale::ONE, Visibility::Private);
    let c = b.input("c", &[1], Scale::ONE, Visibility::Private);
    b.set_bits(a, MAX_INPUT_BITS).unwrap();
    b.set_bits(c, MAX_INPUT_BITS).unwrap();
    let y = b.op("y", Op::Mul, &[a, c]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let w = p
        .evaluate(&[Tensor::vector(vec![2]), Tensor::vector(vec![3])])
        .unwrap();
    let err = FriBackend
        .prove(&p, &w, StageTag::Generic, K.name())
        .unwrap_err();
    assert!(
        matches!(&err, ProveError::Limit { tensor, .. } if tensor == "y"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("declare narrower input bounds"),
        "{err}"
    );
}

/// The control: a consistent edit (another in-range input, every dependent cell and the claim
/// updated) is a valid trace and an accepted proof. The harness does not reject by itself.
#[test]
fn a_consistent_edit_is_accepted() {
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1], Scale::ONE, Visibility::Private);
    let one = b
        .constant("one", Tensor::vector(vec![1]), Scale::ONE)
        .unwrap();
    let y = b.op("y", Op::Add, &[x, one]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let w = claim(&p, &[Tensor::vector(vec![5])], &[(y, vec![-41])]);
    let edit = |t: &mut Traces<'_>| {
        let src = t.find("source", "x").unwrap();
        write_checked(t, src, 0, -42, u32::from(DEFAULT_INPUT_BITS));
        let m = t.find("add", "y").unwrap();
        t.set(m, 0, 0, -42);
        t.set(m, 0, 2, -41);
    };
    let d = testing::diagnose(&p, &w, StageTag::Generic, K, edit).unwrap();
    assert!(d.is_valid(), "{d:?}");
    let env = testing::prove_edited(&p, &w, StageTag::Generic, K, edit).unwrap();
    let v = FriBackend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap();
    assert_eq!(v.statement.public[0].values, vec![-41]);
}

/// Hidden inputs beyond their declared bound, with everything else honest (the commitment is
/// computed from the same out-of-range values): the source chip's limbs and the committed
/// input's bound chip are all that reject them, and they do.
#[test]
fn hidden_inputs_beyond_their_declared_bound_are_rejected() {
    for vis in [Visibility::Private, Visibility::Committed] {
        let mut b = ProgramBuilder::new();
        if vis == Visibility::Committed {
            b.unbounded_input("salt", &[4], Scale::ONE, vis);
        }
        let w = b.input("w", &[2], Scale::ONE, vis);
        let y = b
            .op(
                "y",
                Op::Sum {
                    axes: vec![0],
                    keep_dims: false,
                },
                &[w],
            )
            .unwrap();
        b.output(y, Visibility::Public).unwrap();
        let p = b.build().unwrap();
        let mut inputs = vec![Tensor::vector(vec![1, 2])];
        if vis == Visibility::Committed {
            inputs.insert(0, Tensor::vector(vec![11, -22, 33, -44]));
        }
        let mut wit = p.evaluate(&inputs).unwrap();
        // 2^40 is far outside the default 24-bit bound; the sum is computed honestly from it.
        let big = 1i64 << 40;
        wit.values_mut()[w.index()] = Tensor::vector(vec![big, 2]);
        wit.values_mut()[y.index()] = Tensor::vector(vec![big + 2]);
        assert_only_the_range_check_stops_it(&p, &wit, |_: &mut Traces<'_>| {});
    }
}

/// Packed commitments (scheme v2): two 8-bit committed weights share one field element of
/// the model commitment, `(w0 + 128) + (w1 + 128) * 256`. Beyond the bound, `[261, 2]` packs
/// to the element `[5, 3]` does, so both witnesses have the same commitment: only the bound
/// check of each committed weight stops a prover from claiming another sum under the
/// published digest.
#[test]
fn packed_commitment_collisions_beyond_the_bound_are_rejected() {
    use zkmlops_conformance::cases::{PACKED_COLLISION_CLAIM, packed_collision};
    let (p, inputs, w, y) = packed_collision().unwrap();
    let honest = p.evaluate(&inputs).unwrap();
    let (weights, sum) = PACKED_COLLISION_CLAIM;
    let mut wit = honest.clone();
    wit.values_mut()[w.index()] = Tensor::vector(weights.to_vec());
    wit.values_mut()[y.index()] = Tensor::vector(vec![sum]);
    assert_eq!(
        zkmlops_commit::program_commitments(&p, &honest).unwrap(),
        zkmlops_commit::program_commitments(&p, &wit).unwrap(),
        "the two weight vectors collide in the packed commitment"
    );
    assert_only_the_range_check_stops_it(&p, &wit, |_: &mut Traces<'_>| {});
}

/// The same collision on a stage's computed output committed packed to a lineage group
/// (scheme v3): `z = [261, 2]` packs like `[5, 3]`, so the lineage digest is the honest one;
/// the range check of the packed output (the commitment chip's limbs) is all that rejects.
#[test]
fn packed_output_collisions_beyond_the_bound_are_rejected() {
    use zkmlops_conformance::cases::{PACKED_COLLISION_CLAIM, packed_output_collision};
    let (p, inputs, x, z, y) = packed_output_collision().unwrap();
    let honest = p.evaluate(&inputs).unwrap();
    let (values, sum) = PACKED_COLLISION_CLAIM;
    let mut wit = honest.clone();
    wit.values_mut()[x.index()] = Tensor::vector(values.to_vec());
    wit.values_mut()[z.index()] = Tensor::vector(values.to_vec());
    wit.values_mut()[y.index()] = Tensor::vector(vec![sum]);
    assert_eq!(
        zkmlops_commit::program_commitments(&p, &honest).unwrap(),
        zkmlops_commit::program_commitments(&p, &wit).unwrap(),
        "the two outputs collide in the packed lineage commitment"
    );
    // The honest prover refuses by name.
    assert!(matches!(
        p.check_witness(&wit),
        Err(zkmlops_tensor::ProgramError::OutputOutOfBound { ref tensor, index: 0, value: 261, bits: 8 }) if tensor == "z"
    ));
    assert_only_the_range_check_stops_it(&p, &wit, |_: &mut Traces<'_>| {});
}

/// A public input is checked against its declared bound by the verifier itself, before any
/// cryptography: a statement carrying an out-of-bound value is refused by name.
#[test]
fn public_inputs_beyond_their_declared_bound_are_refused_by_the_verifier() {
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[2], Scale::ONE, Visibility::Public);
    b.set_bits(x, 8).unwrap();
    let y = b.op("y", Op::Relu, &[x]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let w = p.evaluate(&[Tensor::vector(vec![-3, 100])]).unwrap();
    let mut env = FriBackend
        .prove(&p, &w, StageTag::Generic, K.name())
        .unwrap();
    FriBackend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap();
    env.statement.public[0].values[1] = 128;
    let e = FriBackend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(
        matches!(
            e,
            zkmlops_proof::VerifyError::Statement(
                zkmlops_proof::StatementError::PublicOutOfBound {
                    index: 1,
                    bits: 8,
                    ..
                }
            )
        ),
        "{e}"
    );
}

/// An inlined private operand (weights living only in the chip that reads them) beyond its
/// declared bound: the limbs inside that chip reject it (gemm weights and elementwise
/// operands alike).
#[test]
fn inlined_operands_beyond_their_declared_bound_are_rejected() {
    for op in [Op::MatMul, Op::Mul] {
        let mut b = ProgramBuilder::new();
        let x = b.input("x", &[1, 2], Scale::ONE, Visibility::Private);
        let shape: &[usize] = if op == Op::MatMul { &[2, 1] } else { &[1, 2] };
        let w = b.input("w", shape, Scale::ONE, Visibility::Private);
        let y = b.op("y", op.clone(), &[x, w]).unwrap();
        b.output(y, Visibility::Public).unwrap();
        let p = b.build().unwrap();
        // `w` is inlined: `x` is the only source chip.
        let kinds = testing::instances(&p, K);
        assert_eq!(
            kinds.iter().filter(|k| **k == "source").count(),
            1,
            "{kinds:?}"
        );
        let ones = Tensor::new(shape.to_vec(), vec![1, 1]).unwrap();
        let mut wit = p
            .evaluate(&[Tensor::matrix(&[[1, 1]]).unwrap(), ones])
            .unwrap();
        let big = 1i64 << 30;
        wit.values_mut()[w.index()] = Tensor::new(shape.to_vec(), vec![big, 1]).unwrap();
        let claimed = if op == Op::MatMul {
            vec![big + 1]
        } else {
            vec![big, 1]
        };
        let out_shape = wit.get(y).unwrap().shape().to_vec();
        wit.values_mut()[y.index()] = Tensor::new(out_shape, claimed).unwrap();
        assert_only_the_range_check_stops_it(&p, &wit, |_: &mut Traces<'_>| {});
    }
}

/// A crafted Program with huge declared shapes (a verifier may be handed any Program) is
/// refused with a typed error before anything is allocated per element, on both sides.
#[test]
fn huge_declared_shapes_are_refused_before_allocation() {
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1 << 20, 1 << 20], Scale::ONE, Visibility::Private);
    let y = b
        .op(
            "y",
            Op::Sum {
                axes: vec![0, 1],
                keep_dims: false,
            },
            &[x],
        )
        .unwrap();
    b.output(y, Visibility::Public).unwrap();
    let huge = b.build().unwrap();
    // A real envelope, re-addressed to the huge Program's statement.
    let mut small = ProgramBuilder::new();
    let x = small.input("x", &[1], Scale::ONE, Visibility::Private);
    let y = small.op("y", Op::Relu, &[x]).unwrap();
    small.output(y, Visibility::Public).unwrap();
    let small = small.build().unwrap();
    let w = small.evaluate(&[Tensor::vector(vec![1])]).unwrap();
    let mut env = FriBackend
        .prove(&small, &w, StageTag::Generic, K.name())
        .unwrap();
    env.statement.program_digest = huge.digest();
    env.statement.public[0].id = huge.outputs()[0];
    env.statement.public[0].shape = vec![];
    let e = FriBackend
        .verify(&huge, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(e.to_string().contains("elements of all tensors"), "{e}");
    // And a gemm whose rows alone are too many.
    let mut b = ProgramBuilder::new();
    let a = b.input("a", &[1 << 13, 1 << 13], Scale::ONE, Visibility::Private);
    let c = b.input("c", &[1 << 13, 16], Scale::ONE, Visibility::Private);
    let y = b.op("y", Op::MatMul, &[a, c]).unwrap();
    let s = b
        .op(
            "s",
            Op::Sum {
                axes: vec![0, 1],
                keep_dims: false,
            },
            &[y],
        )
        .unwrap();
    b.output(s, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    assert!(
        zkmlops_fri::circuit_stats(&p, K)
            .unwrap_err()
            .to_string()
            .contains("rows of one instance")
    );
}

/// A sign trick on ReLU: for `x = -5` claim the sign bit `h = 1` (so `y = h x = -5`, a
/// negative ReLU output). The decomposition `x + 2^31 = h 2^31 + m` then needs `m = -5 mod p`,
/// whose limbs cannot all be bytes: the range lookups reject the non-canonical limbs.
#[test]
fn a_flipped_relu_sign_bit_is_rejected() {
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1], Scale::ONE, Visibility::Private);
    let y = b.op("y", Op::Relu, &[x]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let w = claim(&p, &[Tensor::vector(vec![-5])], &[(y, vec![-5])]);
    let edit = |t: &mut Traces<'_>| {
        let r = t.find("relu", "y").unwrap();
        // Columns: x, y, h, m0..m3.
        t.set(r, 0, 1, -5);
        t.set(r, 0, 2, 1);
        let m = (-5i128).rem_euclid(P);
        for (k, l) in [m & 0xff, (m >> 8) & 0xff, (m >> 16) & 0xff, m >> 24]
            .into_iter()
            .enumerate()
        {
            t.set_u64(r, 0, 3 + k, fe(l));
        }
    };
    assert_only_the_range_check_stops_it(&p, &w, edit);
}

/// `y = [a >= b]` of two private scalars.
fn at_least_program() -> (Program, TensorId) {
    let mut b = ProgramBuilder::new();
    let a = b.input("a", &[1], Scale::ONE, Visibility::Private);
    let t = b.input("b", &[1], Scale::ONE, Visibility::Private);
    let y = b.op("y", Op::AtLeast, &[a, t]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    (b.build().unwrap(), y)
}

/// Write the comparison bit `h` and the limbs of `m = a - b + 2^31 - h 2^31` (as a field
/// element: non-canonical when the bit lies) into row 0 of the at-least instance.
fn write_comparison(t: &mut Traces<'_>, a: i128, b: i128, h: i128) {
    let r = t.find("at-least", "y").unwrap();
    // Columns: a, b, h, m0..m3.
    t.set(r, 0, 2, i64::try_from(h).unwrap());
    let m = (a - b + (1 << 31) - h * (1 << 31)).rem_euclid(P);
    for (k, l) in [m & 0xff, (m >> 8) & 0xff, (m >> 16) & 0xff, m >> 24]
        .into_iter()
        .enumerate()
    {
        t.set_u64(r, 0, 3 + k, fe(l));
    }
}

/// A comparison's bit cannot lie. `2 >= 5` claimed true (`h = 1`) needs `m = -3 mod p`, whose
/// limbs are not bytes; `5 >= 2` claimed false (`h = 0`) needs `m = 2^31 + 3`, whose top limb
/// is past its 7 bits. Either way only the range bus breaks, and the verifier rejects.
#[test]
fn a_flipped_comparison_bit_is_rejected() {
    let (p, y) = at_least_program();
    for (a, b, lie) in [(2i64, 5i64, 1i64), (5, 2, 0)] {
        let w = claim(
            &p,
            &[Tensor::vector(vec![a]), Tensor::vector(vec![b])],
            &[(y, vec![lie])],
        );
        let edit = move |t: &mut Traces<'_>| {
            write_comparison(t, a.into(), b.into(), lie.into());
        };
        assert_only_the_range_check_stops_it(&p, &w, edit);
    }
}

/// Nor be anything but a bit: `h = 2` with limbs that satisfy the decomposition for it breaks
/// the booleanity constraint on that row.
#[test]
fn a_non_boolean_comparison_is_rejected() {
    let (p, y) = at_least_program();
    let w = claim(
        &p,
        &[Tensor::vector(vec![-1]), Tensor::vector(vec![0])],
        &[(y, vec![2])],
    );
    let edit = |t: &mut Traces<'_>| write_comparison(t, -1, 0, 2);
    let d = testing::diagnose(&p, &w, StageTag::Generic, K, edit).unwrap();
    assert!(
        d.failing_rows.iter().any(|(k, _)| *k == "at-least"),
        "{d:?}"
    );
    let env = testing::prove_edited(&p, &w, StageTag::Generic, K, edit).unwrap();
    let e = FriBackend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(e.is_cryptographic(), "{e}");
}

/// A prover that skips every check and hands the trace generator extreme values (the witness of
/// a cheater, not of the reference) gets an error or a rejected proof, never a panic: the trace
/// generator does not assume the limits it no longer checks.
#[test]
fn extreme_witness_values_never_panic_the_prover() {
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 4], Scale::new(2).unwrap(), Visibility::Private);
    b.set_bits(x, MAX_INPUT_BITS).unwrap();
    let m = b
        .op(
            "m",
            Op::ReduceMax {
                axis: 1,
                keep_dims: false,
            },
            &[x],
        )
        .unwrap();
    let r = b.op("r", Op::Relu, &[x]).unwrap();
    let q = b
        .op(
            "q",
            Op::Rescale {
                shift: 2,
                rounding: Rounding::HalfUp,
            },
            &[r],
        )
        .unwrap();
    let s = b.op("s", Op::Sqrt, &[x]).unwrap();
    for t in [m, q, s] {
        b.output(t, Visibility::Public).unwrap();
    }
    let p = b.build().unwrap();
    let big = MAX_ABS;
    let mut w = p
        .evaluate(&[Tensor::matrix(&[[1, 2, 3, 4]]).unwrap()])
        .unwrap();
    w.values_mut()[x.index()] = Tensor::matrix(&[[big, -big, big - 1, -big + 1]]).unwrap();
    let env = testing::prove_tampered(
        &p,
        &w,
        StageTag::Generic,
        K,
        testing::Tamper::SkipWitnessCheck,
    );
    if let Ok(env) = env {
        assert!(
            FriBackend
                .verify(&p, &env, &VerifyPolicy::default())
                .is_err()
        );
    }
}

/// Two ReLUs on different inputs share one instance (instances are per chip kind, wires are
/// structure columns): `y1 = relu(a)` on rows 0..2, `y2 = relu(b)` on rows 2..4.
fn two_relus() -> (Program, TensorId) {
    let mut b = ProgramBuilder::new();
    let a = b.input("a", &[2], Scale::ONE, Visibility::Private);
    let x = b.input("b", &[2], Scale::ONE, Visibility::Private);
    let y1 = b.op("y1", Op::Relu, &[a]).unwrap();
    let y2 = b.op("y2", Op::Relu, &[x]).unwrap();
    b.output(y1, Visibility::Public).unwrap();
    b.output(y2, Visibility::Public).unwrap();
    (b.build().unwrap(), y2)
}

/// Write the honest ReLU row of input 3 into row `row` of instance `r` (columns x, y, h,
/// m0..m3 with x + 2^31 = h 2^31 + m).
fn relu_of_three(t: &mut Traces<'_>, r: usize, row: usize) {
    t.set(r, row, 0, 3);
    t.set(r, row, 1, 3);
    t.set(r, row, 2, 1);
    for (k, l) in [3, 0, 0, 0].into_iter().enumerate() {
        t.set(r, row, 3 + k, l);
    }
}

/// A shared instance cannot read another op's wire: the second ReLU's first row claims
/// `relu(b[0]) = 3` by reading `a[0] = 3` instead of `b[0] = -4`. Its constraints hold (3 is a
/// fine ReLU of 3), but the row's read names wire `b` (a structure column the verifier pins),
/// so only the tensor bus breaks, and the verifier rejects.
#[test]
fn a_shared_instance_row_cannot_read_another_ops_wire() {
    let (p, y2) = two_relus();
    let kinds = testing::instances(&p, K);
    assert_eq!(
        kinds.iter().filter(|k| **k == "relu").count(),
        1,
        "{kinds:?}"
    );
    let inputs = [Tensor::vector(vec![3, -1]), Tensor::vector(vec![-4, 7])];
    let w = claim(&p, &inputs, &[(y2, vec![3, 7])]);
    let edit = |t: &mut Traces<'_>| {
        let (r, first) = t.locate("relu", "y2").unwrap();
        assert_eq!((t.find("relu", "y1"), first), (Some(r), 2));
        relu_of_three(t, r, first);
    };
    let d = testing::diagnose(&p, &w, StageTag::Generic, K, edit).unwrap();
    assert!(d.only_bus(testing::TENSOR), "{d:?}");
    let env = testing::prove_edited(&p, &w, StageTag::Generic, K, edit).unwrap();
    let e = FriBackend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(e.is_cryptographic(), "{e}");
}

/// Nor can it rename the wire a row reads: the structure columns (wire ids included) are
/// pinned to what the verifier derives from the Program, so rewriting the second ReLU's
/// input-wire cell to `a`'s id breaks a constraint on that row, and the verifier rejects.
#[test]
fn a_shared_instance_wire_column_cannot_be_rewritten() {
    let (p, y2) = two_relus();
    let inputs = [Tensor::vector(vec![3, -1]), Tensor::vector(vec![-4, 7])];
    let w = claim(&p, &inputs, &[(y2, vec![3, 7])]);
    let edit = |t: &mut Traces<'_>| {
        let (r, first) = t.locate("relu", "y2").unwrap();
        // Own columns x, y, h, m0..m3; structure: sel, out index, mult, in index, out wire,
        // in wire.
        let in_wire = 7 + 5;
        let a_id = t.get(r, 0, in_wire);
        assert_ne!(a_id, t.get(r, first, in_wire));
        t.set(r, first, in_wire, a_id);
        relu_of_three(t, r, first);
    };
    let d = testing::diagnose(&p, &w, StageTag::Generic, K, edit).unwrap();
    assert_eq!(d.failing_rows, vec![("relu", 2)], "{d:?}");
    let env = testing::prove_edited(&p, &w, StageTag::Generic, K, edit).unwrap();
    let e = FriBackend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(e.is_cryptographic(), "{e}");
}

/// Two 1x2 by 2x1 products, weights private (inlined): one shared gemm instance.
fn two_dots() -> (Program, TensorId, TensorId) {
    let mut b = ProgramBuilder::new();
    let x1 = b.input("x1", &[1, 2], Scale::ONE, Visibility::Private);
    let w1 = b.input("w1", &[2, 1], Scale::ONE, Visibility::Private);
    let x2 = b.input("x2", &[1, 2], Scale::ONE, Visibility::Private);
    let w2 = b.input("w2", &[2, 1], Scale::ONE, Visibility::Private);
    let y1 = b.op("y1", Op::MatMul, &[x1, w1]).unwrap();
    let y2 = b.op("y2", Op::MatMul, &[x2, w2]).unwrap();
    b.output(y1, Visibility::Public).unwrap();
    b.output(y2, Visibility::Public).unwrap();
    (b.build().unwrap(), y1, y2)
}

fn two_dots_inputs() -> [Tensor; 4] {
    [
        Tensor::matrix(&[[1, 2]]).unwrap(),
        Tensor::matrix(&[[3], [4]]).unwrap(),
        Tensor::matrix(&[[5, 6]]).unwrap(),
        Tensor::matrix(&[[1], [1]]).unwrap(),
    ]
}

/// Gemm columns (tile 1): `a`, `w`, `acc`, then the inline weight's limbs.
const GEMM_ACC: usize = 2;

/// A shared gemm instance cannot carry one product's running sum into the next: the second
/// part claims `y2 = 22` (11 carried from `y1`, then 5 and 6). Its row reads and its output
/// message agree with the claim, so only the accumulator constraint at the parts' boundary
/// fails (the next row starts a block, a structure column the verifier pins), and the verifier
/// rejects.
#[test]
fn a_shared_gemm_cannot_carry_a_sum_across_parts() {
    let (p, _, y2) = two_dots();
    let kinds = testing::instances(&p, K);
    assert_eq!(
        kinds.iter().filter(|k| **k == "gemm").count(),
        1,
        "{kinds:?}"
    );
    let w = claim(&p, &two_dots_inputs(), &[(y2, vec![22])]);
    let edit = |t: &mut Traces<'_>| {
        let (r, first) = t.locate("gemm", "y2").unwrap();
        assert_eq!((t.find("gemm", "y1"), first), (Some(r), 2));
        t.set(r, first, GEMM_ACC, 16);
        t.set(r, first + 1, GEMM_ACC, 22);
    };
    let d = testing::diagnose(&p, &w, StageTag::Generic, K, edit).unwrap();
    assert_eq!(d.failing_rows, vec![("gemm", 1)], "{d:?}");
    assert!(d.unbalanced.is_empty(), "{d:?}");
    assert_rejected(&p, &w, edit);
}

/// The edited traces' proof is rejected by the unmodified verifier, as a cryptographic failure.
fn assert_rejected(p: &Program, w: &Witness, edit: impl Fn(&mut Traces<'_>) + Copy) {
    let env = testing::prove_edited(p, w, StageTag::Generic, K, edit).unwrap();
    let e = FriBackend
        .verify(p, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(e.is_cryptographic(), "{e}");
}

/// The gemm's accumulator has no separate first-row constraint: its one constraint wraps from
/// the last row to row 0, which always starts a block. A first row that starts from 1 instead
/// of 0 (`y1 = 12` where `1*3 + 2*4 = 11`) breaks that constraint on the last row, and the
/// verifier rejects.
#[test]
fn a_gemm_first_row_offset_is_caught_by_the_wrapping_constraint() {
    let (p, y1, _) = two_dots();
    let w = claim(&p, &two_dots_inputs(), &[(y1, vec![12])]);
    let height = std::cell::Cell::new(0);
    let edit = |t: &mut Traces<'_>| {
        let (r, first) = t.locate("gemm", "y1").unwrap();
        assert_eq!(first, 0);
        height.set(t.height(r));
        t.set(r, 0, GEMM_ACC, 4);
        t.set(r, 1, GEMM_ACC, 12);
    };
    let d = testing::diagnose(&p, &w, StageTag::Generic, K, edit).unwrap();
    assert_eq!(d.failing_rows, vec![("gemm", height.get() - 1)], "{d:?}");
    assert!(d.unbalanced.is_empty(), "{d:?}");
    assert_rejected(&p, &w, edit);
}

/// The max chip's running maximum is linked row to row by one degree-2 constraint: a second
/// row that claims the maximum so far was 9 (`max(5, 3) = 9`, with `c = 0` and `d = 9 - 3`, a
/// fine comparison) breaks only that link on row 0, and the verifier rejects.
#[test]
fn a_max_cannot_restart_from_a_forged_running_maximum() {
    let (p, _, y) = max_program(DEFAULT_INPUT_BITS);
    let w = claim(&p, &[Tensor::matrix(&[[5, 3]]).unwrap()], &[(y, vec![9])]);
    let edit = |t: &mut Traces<'_>| {
        let m = t.find("max", "y").unwrap();
        // Columns x, acc, c, d0..d3, prev.
        t.set(m, 1, 7, 9);
        t.set(m, 1, 1, 9);
        t.set(m, 1, 2, 0);
        for (k, l) in [6, 0, 0, 0].into_iter().enumerate() {
            t.set(m, 1, 3 + k, l);
        }
    };
    let d = testing::diagnose(&p, &w, StageTag::Generic, K, edit).unwrap();
    assert_eq!(d.failing_rows, vec![("max", 0)], "{d:?}");
    assert!(d.unbalanced.is_empty(), "{d:?}");
    assert_rejected(&p, &w, edit);
}
