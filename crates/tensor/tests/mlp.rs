//! The 2-layer MLP of the foundation issue, built by hand and checked against a hand
//! computation; its digest must move with every weight, scale, shape and visibility.

#![allow(clippy::unwrap_used)]

use zkmlops_field::Scale;
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{
    DEFAULT_INPUT_BITS, DecodeReason, MAX_INPUT_BITS, Op, OpError, Program, ProgramBuilder,
    ProgramError, Tensor, Visibility,
};

const GEMM: Op = Op::Gemm {
    trans_a: false,
    trans_b: false,
};

struct Mlp {
    w1: Vec<Vec<i64>>,
    b1: Vec<i64>,
    w2: Vec<Vec<i64>>,
    b2: Vec<i64>,
    scale: u32,
    input_vis: Visibility,
    input_bits: u8,
}

fn default_mlp() -> Mlp {
    Mlp {
        // scale 2^4: 16 = 1.0
        w1: vec![vec![16, -8, 4], vec![-16, 24, 8]],
        b1: vec![256, -512, 0],
        w2: vec![vec![8, -16], vec![16, 16], vec![-32, 4]],
        b2: vec![-256, 128],
        scale: 4,
        input_vis: Visibility::Private,
        input_bits: DEFAULT_INPUT_BITS,
    }
}

fn build(m: &Mlp) -> Program {
    let s = Scale::new(m.scale).unwrap();
    let ss = s.product(s).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 2], s, m.input_vis);
    b.set_bits(x, m.input_bits).unwrap();
    let w1 = b.constant("w1", Tensor::matrix(&m.w1).unwrap(), s).unwrap();
    let b1 = b.constant("b1", Tensor::vector(m.b1.clone()), ss).unwrap();
    let w2 = b.constant("w2", Tensor::matrix(&m.w2).unwrap(), s).unwrap();
    let b2 = b.constant("b2", Tensor::vector(m.b2.clone()), ss).unwrap();
    let h = b.op("h", GEMM, &[x, w1, b1]).unwrap();
    let hr = b
        .op(
            "h_rescaled",
            Op::Rescale {
                shift: m.scale,
                rounding: Rounding::HalfUp,
            },
            &[h],
        )
        .unwrap();
    let a = b.op("a", Op::Relu, &[hr]).unwrap();
    let y = b.op("y", GEMM, &[a, w2, b2]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    b.build().unwrap()
}

#[test]
fn mlp_evaluates_to_hand_computation() {
    let p = build(&default_mlp());
    // x = [1.5, -0.25] at 2^4 = [24, -4]
    let w = p.evaluate(&[Tensor::matrix(&[[24, -4]]).unwrap()]).unwrap();
    // h = x W1 + b1:
    //   col0: 24*16 + -4*-16 = 384 + 64 = 448, + 256 = 704
    //   col1: 24*-8 + -4*24 = -192 - 96 = -288, - 512 = -800
    //   col2: 24*4 + -4*8 = 96 - 32 = 64, + 0 = 64
    let h = p.tensors().iter().position(|t| t.name == "h").unwrap();
    assert_eq!(w.values()[h].data(), &[704, -800, 64]);
    // rescale by 2^4, half up: 44, -50, 4; relu: 44, 0, 4
    // y = a W2 + b2:
    //   col0: 44*8 + 0*16 + 4*-32 = 352 - 128 = 224, - 256 = -32
    //   col1: 44*-16 + 0*16 + 4*4 = -704 + 16 = -688, + 128 = -560
    let y = p.outputs()[0];
    assert_eq!(w.get(y).unwrap().data(), &[-32, -560]);
    assert_eq!(p.tensor(y).unwrap().scale, Scale::new(8).unwrap());
    p.check_witness(&w).unwrap();
}

#[test]
fn mlp_digest_moves_with_every_part() {
    let base = build(&default_mlp()).digest();
    assert_eq!(
        base,
        build(&default_mlp()).digest(),
        "digest is deterministic"
    );
    type Change = Box<dyn Fn(&mut Mlp)>;
    let variants: Vec<(&str, Change)> = vec![
        ("a weight", Box::new(|m| m.w1[1][2] += 1)),
        ("a second-layer weight", Box::new(|m| m.w2[0][0] -= 1)),
        ("a bias", Box::new(|m| m.b2[1] = 0)),
        ("the scale", Box::new(|m| m.scale = 5)),
        (
            "a shape",
            Box::new(|m| {
                m.w2.push(vec![1, 1]);
                m.w1.iter_mut().for_each(|r| r.push(0));
                m.b1.push(0);
            }),
        ),
        (
            "a visibility",
            Box::new(|m| m.input_vis = Visibility::Public),
        ),
        ("an input bound", Box::new(|m| m.input_bits = 16)),
    ];
    for (what, change) in variants {
        let mut m = default_mlp();
        change(&mut m);
        assert_ne!(
            build(&m).digest(),
            base,
            "changing {what} must change the digest"
        );
    }
}

#[test]
fn overflow_names_node_op_and_tensor() {
    let p = build(&Mlp {
        input_bits: MAX_INPUT_BITS,
        ..default_mlp()
    });
    let big = zkmlops_field::MAX_ABS / 4;
    let err = p
        .evaluate(&[Tensor::matrix(&[[big, big]]).unwrap()])
        .unwrap_err();
    assert_eq!(
        err,
        ProgramError::Op {
            node: 0,
            op: "gemm",
            tensor: "h".into(),
            source: OpError::Overflow {
                op: "gemm",
                index: 1
            }
        }
    );
    assert!(
        err.to_string()
            .contains("node 0 (gemm) producing tensor `h`"),
        "{err}"
    );
}

#[test]
fn evaluate_rejects_bad_inputs() {
    let p = build(&default_mlp());
    assert_eq!(
        p.evaluate(&[]),
        Err(ProgramError::InputCount {
            expected: 1,
            got: 0
        })
    );
    assert!(matches!(
        p.evaluate(&[Tensor::vector(vec![1, 2])]),
        Err(ProgramError::InputShape { .. })
    ));
    assert!(matches!(
        p.evaluate(&[Tensor::matrix(&[[i64::MIN, 0]]).unwrap()]),
        Err(ProgramError::InputOutOfRange { index: 0, .. })
    ));
}

#[test]
fn check_witness_finds_the_wrong_cell() {
    let p = build(&default_mlp());
    let mut w = p.evaluate(&[Tensor::matrix(&[[24, -4]]).unwrap()]).unwrap();
    let a = p.tensors().iter().position(|t| t.name == "a").unwrap();
    let mut data = w.values()[a].data().to_vec();
    data[1] += 1;
    w.values_mut()[a] = Tensor::new(vec![1, 3], data).unwrap();
    assert_eq!(
        p.check_witness(&w),
        Err(ProgramError::WitnessMismatch { tensor: "a".into() })
    );
}

#[test]
fn encoding_round_trips_and_rejects_tampering() {
    let p = build(&default_mlp());
    let bytes = p.to_bytes();
    assert_eq!(Program::from_bytes(&bytes).unwrap(), p);
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        Program::from_bytes(&long),
        Err(ProgramError::Decode { .. })
    ));
    for cut in 0..bytes.len() {
        assert!(
            Program::from_bytes(&bytes[..cut]).is_err(),
            "truncated at {cut}"
        );
    }
    // Every single-byte flip either fails to decode or decodes to a different Program with a
    // different digest: it can never silently alias the original.
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        if let Ok(q) = Program::from_bytes(&b) {
            assert_ne!(q.digest(), p.digest(), "flip at {i}");
        }
    }
    let json = serde_json::to_string(&p).unwrap();
    let back: Program = serde_json::from_str(&json).unwrap();
    assert_eq!(back.to_bytes(), bytes);
}

#[test]
fn validation_rejects_broken_programs() {
    let s = Scale::new(2).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[2, 2], s, Visibility::Private);
    let y = b.input("x", &[2, 2], s, Visibility::Private);
    b.op("z", Op::Add, &[x, y]).unwrap();
    assert_eq!(
        b.build(),
        Err(ProgramError::DuplicateName { name: "x".into() })
    );

    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[2, 2], s, Visibility::Private);
    let y = b.input("y", &[2, 2], Scale::new(3).unwrap(), Visibility::Private);
    assert!(matches!(
        b.op("z", Op::Add, &[x, y]),
        Err(ProgramError::Op {
            source: OpError::ScaleMismatch { lhs: 2, rhs: 3, .. },
            ..
        })
    ));
    assert!(matches!(
        b.op(
            "r",
            Op::Rescale {
                shift: 3,
                rounding: Rounding::Floor
            },
            &[x]
        ),
        Err(ProgramError::Op {
            source: OpError::Param { param: "shift", .. },
            ..
        })
    ));

    // Nodes out of topological order are rejected when parts are assembled by hand.
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[2], s, Visibility::Private);
    let y = b.op("y", Op::Relu, &[x]).unwrap();
    let z = b.op("z", Op::Relu, &[y]).unwrap();
    b.output(z, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let mut nodes = p.nodes().to_vec();
    nodes.swap(0, 1);
    assert!(matches!(
        Program::from_parts(p.tensors().to_vec(), nodes, p.outputs().to_vec()),
        Err(ProgramError::NotYetDefined { node: 0, .. })
    ));
    assert!(matches!(
        Program::from_parts(p.tensors().to_vec(), p.nodes().to_vec(), vec![z, z]),
        Err(ProgramError::BadOutput { .. })
    ));
    let mut tensors = p.tensors().to_vec();
    tensors[2].shape = vec![3];
    assert!(matches!(
        Program::from_parts(tensors, p.nodes().to_vec(), vec![z]),
        Err(ProgramError::DeclarationMismatch { .. })
    ));
}

#[test]
fn training_and_preprocessing_shapes_are_expressible() {
    // One SGD step of linear regression, w' = w - lr * X^T (X w - y) / n, and a column
    // standardisation x - mean(x): transpose, elementwise ops on weights, reductions over rows.
    let s = Scale::new(8).unwrap();
    let mut b = ProgramBuilder::new();
    let xs = b.input("X", &[4, 2], s, Visibility::Committed);
    let ys = b.input("y", &[4, 1], s.product(s).unwrap(), Visibility::Committed);
    let w = b.input("w", &[2, 1], s, Visibility::Committed);
    // learning rate 0.125 divided by the 4 rows: 0.03125 = 8 / 2^8
    let lr = b.constant("lr_over_n", Tensor::scalar(8), s).unwrap();
    let pred = b.op("pred", Op::MatMul, &[xs, w]).unwrap();
    let err = b.op("err", Op::Sub, &[pred, ys]).unwrap();
    let err = b
        .op(
            "err_r",
            Op::Rescale {
                shift: 8,
                rounding: Rounding::HalfUp,
            },
            &[err],
        )
        .unwrap();
    let xt = b
        .op("Xt", Op::Transpose { perm: vec![1, 0] }, &[xs])
        .unwrap();
    let g = b.op("grad_sum", Op::MatMul, &[xt, err]).unwrap();
    let g = b
        .op(
            "grad",
            Op::Rescale {
                shift: 8,
                rounding: Rounding::HalfUp,
            },
            &[g],
        )
        .unwrap();
    let step = b.op("step", Op::Mul, &[g, lr]).unwrap();
    let step = b
        .op(
            "step_r",
            Op::Rescale {
                shift: 8,
                rounding: Rounding::HalfUp,
            },
            &[step],
        )
        .unwrap();
    let w2 = b.op("w_next", Op::Sub, &[w, step]).unwrap();
    b.output(w2, Visibility::Committed).unwrap();
    let mu = b
        .op(
            "col_mean",
            Op::Mean {
                axes: vec![0],
                keep_dims: true,
                rounding: Rounding::HalfUp,
            },
            &[xs],
        )
        .unwrap();
    let centred = b.op("centred", Op::Sub, &[xs, mu]).unwrap();
    b.output(centred, Visibility::Committed).unwrap();
    let p = b.build().unwrap();
    // X = [[1,0],[0,1],[1,1],[2,0]], y = 2*x0 + 1*x1, w = 0 -> gradient = -X^T y / 4
    let one = 256;
    let x = Tensor::matrix(&[[one, 0], [0, one], [one, one], [2 * one, 0]]).unwrap();
    let y = Tensor::new(
        vec![4, 1],
        vec![2 * one * one, one * one, 3 * one * one, 4 * one * one],
    )
    .unwrap();
    let wit = p
        .evaluate(&[x, y, Tensor::new(vec![2, 1], vec![0, 0]).unwrap()])
        .unwrap();
    // err = -y; X^T err = -[2 + 3 + 8, 1 + 3] = -[13, 4]; * 0.03125 = -[0.40625, 0.125]
    // w' = w - step = [0.40625, 0.125] = [104, 32] at 2^8
    assert_eq!(wit.get(w2).unwrap().data(), &[104, 32]);
    // column means: [1.0, 0.5]; centred column 0: [0, -1, 0, 1]
    assert_eq!(
        wit.get(centred).unwrap().data(),
        &[0, -128, -one, 128, 0, 128, one, -128]
    );
}

/// The digest of the reference MLP under format version 2. A change here means the Program
/// encoding or the digest changed: bump `PROGRAM_FORMAT_VERSION` and update on purpose
/// (`ZKMLOPS_PRINT_GOLDEN=1 cargo test -p zkmlops-tensor golden -- --nocapture` prints it).
const GOLDEN_MLP_DIGEST: &str = "52719c6ad1de960c2c73690d1b755a08dd844c0b4820078516c5e02ca6c8e6ab";

#[test]
fn golden_program_digest() {
    let digest = build(&default_mlp()).digest().to_string();
    if std::env::var_os("ZKMLOPS_PRINT_GOLDEN").is_some() {
        println!("golden digest {digest}");
    }
    assert_eq!(
        digest, GOLDEN_MLP_DIGEST,
        "the Program encoding changed: see GOLDEN_MLP_DIGEST"
    );
}

#[test]
fn lookup_op_evaluates_the_table_and_checks_scales() {
    use zkmlops_lookup::{Function, TableSpec};
    let s8 = Scale::new(8).unwrap();
    let spec = TableSpec::new(Function::Sigmoid, s8, s8, -2048, 2048).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[4], s8, Visibility::Private);
    b.set_bits(x, 48).unwrap();
    let y = b.op("y", Op::Lookup(spec), &[x]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let w = p
        .evaluate(&[Tensor::vector(vec![0, 256, -1 << 40, 5000])])
        .unwrap();
    assert_eq!(
        w.get(y).unwrap().data(),
        &[128, 187, spec.eval(-2048), spec.eval(2048)]
    );
    let other = TableSpec { hi: 2047, ..spec };
    let mut b2 = ProgramBuilder::new();
    let x2 = b2.input("x", &[4], s8, Visibility::Private);
    let y2 = b2.op("y", Op::Lookup(other), &[x2]).unwrap();
    b2.output(y2, Visibility::Public).unwrap();
    assert_ne!(
        b2.build().unwrap().digest(),
        p.digest(),
        "the table is part of the Program"
    );
    // The input must be at the table's input scale.
    let mut b3 = ProgramBuilder::new();
    let x3 = b3.input("x", &[4], Scale::new(7).unwrap(), Visibility::Private);
    assert!(matches!(
        b3.op("y", Op::Lookup(spec), &[x3]),
        Err(ProgramError::Op {
            source: OpError::ScaleMismatch { .. },
            ..
        })
    ));
    // A table that cannot be built is refused with its reason.
    let bad = TableSpec {
        function: Function::Log,
        lo: 0,
        ..spec
    };
    let mut b4 = ProgramBuilder::new();
    let x4 = b4.input("x", &[4], s8, Visibility::Private);
    assert!(matches!(
        b4.op("y", Op::Lookup(bad), &[x4]),
        Err(ProgramError::Op {
            source: OpError::Table { .. },
            ..
        })
    ));
}

#[test]
fn softmax_and_layer_norm_compose_from_primitives() {
    use zkmlops_tensor::composite::{layer_norm, softmax};
    let s = Scale::new(8).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[2, 4], s, Visibility::Private);
    let y = softmax(&mut b, "sm", x, s, s, s, -16 * 256).unwrap();
    let z = layer_norm(&mut b, "ln", x, s, 3, 64 * 256).unwrap();
    b.output(y, Visibility::Public).unwrap();
    b.output(z, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    // Row 0: [0, 0, 0, 0] -> uniform 0.25 = 64; row 1: [1, 0, 0, 0] (x 256)
    let w = p
        .evaluate(&[Tensor::matrix(&[[0, 0, 0, 0], [256, 0, 0, 0]]).unwrap()])
        .unwrap();
    let sm = w.get(y).unwrap().data();
    assert_eq!(&sm[..4], &[64, 64, 64, 64]);
    // e = [256, 94, 94, 94] (e^-1 * 256 = 94.2), S = 538: 256*256/538 = 121.8 -> 122; 94*256/538 = 44.7 -> 45
    assert_eq!(&sm[4..], &[122, 45, 45, 45]);
    let f: Vec<f64> = sm[4..].iter().map(|&v| v as f64 / 256.0).collect();
    let exact = [
        std::f64::consts::E / (std::f64::consts::E + 3.0),
        1.0 / (std::f64::consts::E + 3.0),
    ];
    assert!(
        (f[0] - exact[0]).abs() < 0.01 && (f[1] - exact[1]).abs() < 0.01,
        "{f:?}"
    );
    // Layer norm of [1, 0, 0, 0]: mean 0.25, centred [0.75, -0.25, ...], var 0.1875, rsqrt 2.309
    let ln = w.get(z).unwrap().data();
    let ln_f: Vec<f64> = ln[4..].iter().map(|&v| v as f64 / 256.0).collect();
    assert!(
        (ln_f[0] - 1.732).abs() < 0.02 && (ln_f[1] + 0.577).abs() < 0.02,
        "{ln_f:?}"
    );
    assert_eq!(&ln[..4], &[0, 0, 0, 0]);
}

#[test]
fn wide_nonlinearity_is_decomposed_with_a_rescale() {
    use zkmlops_lookup::Function;
    let s16 = Scale::new(16).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[3], s16, Visibility::Private);
    let y =
        zkmlops_tensor::composite::nonlinear(&mut b, "t", x, Function::Tanh, s16, s16, -8.0, 8.0)
            .unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    assert!(
        p.tensors().iter().any(|t| t.name == "t/coarse"),
        "a rescale precedes the lookup"
    );
    let w = p
        .evaluate(&[Tensor::vector(vec![0, 65536, -3 * 65536])])
        .unwrap();
    let got: Vec<f64> = w
        .get(y)
        .unwrap()
        .data()
        .iter()
        .map(|&v| v as f64 / 65536.0)
        .collect();
    for (g, x) in got.iter().zip([0.0f64, 1.0, -3.0]) {
        assert!((g - x.tanh()).abs() < 1e-3, "{g} vs tanh({x})");
    }
}

#[test]
fn declared_input_bounds_are_enforced_by_the_reference_and_validated() {
    let p = build(&Mlp {
        input_bits: 8,
        ..default_mlp()
    });
    // [-128, 127] is accepted, 128 and -129 are not, naming the input, element and bound.
    p.evaluate(&[Tensor::matrix(&[[127, -128]]).unwrap()])
        .unwrap();
    for (bad, index) in [([[5, 128]], 1), ([[-129, 0]], 0)] {
        let err = p.evaluate(&[Tensor::matrix(&bad).unwrap()]).unwrap_err();
        assert_eq!(
            err,
            ProgramError::InputOutOfBound {
                tensor: "x".into(),
                index,
                value: bad[0][index],
                bits: 8
            }
        );
        assert!(err.to_string().contains("[-2^7, 2^7)"), "{err}");
    }
    // check_witness applies the same bound to a witness built elsewhere.
    let mut w = p.evaluate(&[Tensor::matrix(&[[1, 2]]).unwrap()]).unwrap();
    w.values_mut()[0] = Tensor::matrix(&[[1, 200]]).unwrap();
    assert!(matches!(
        p.check_witness(&w),
        Err(ProgramError::InputOutOfBound { index: 1, .. })
    ));
    // The full-range bound admits every fixed-point value; 0 and 65 bits are not bounds, and
    // constants and computed tensors declare none.
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1], Scale::ONE, Visibility::Private);
    let c = b
        .constant("c", Tensor::vector(vec![1]), Scale::ONE)
        .unwrap();
    for bits in [0, 65] {
        assert!(matches!(
            b.set_bits(x, bits),
            Err(ProgramError::Bits { .. })
        ));
    }
    assert!(matches!(b.set_bits(c, 8), Err(ProgramError::Bits { .. })));
    b.set_bits(x, MAX_INPUT_BITS).unwrap();
    let y = b.op("y", Op::Add, &[x, c]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let big = zkmlops_field::MAX_ABS - 1;
    assert_eq!(
        p.evaluate(&[Tensor::vector(vec![big])])
            .unwrap()
            .get(y)
            .unwrap()
            .data(),
        &[big + 1]
    );
}

#[test]
fn version_one_encodings_are_refused_by_version() {
    let mut bytes = build(&default_mlp()).to_bytes();
    bytes[4..6].copy_from_slice(&1u16.to_le_bytes());
    assert_eq!(
        Program::from_bytes(&bytes),
        Err(ProgramError::Decode {
            reason: DecodeReason::Version(1)
        })
    );
}

/// The fuzz corpus seed of `decode_program` (`fuzz/corpus/decode_program/mlp.zkp`) is this
/// MLP's encoding; it must keep decoding. Regenerate on purpose with
/// `ZKMLOPS_WRITE_FUZZ_SEEDS=1 cargo test -p zkmlops-tensor --test mlp fuzz_seed`.
#[test]
fn fuzz_seed_program_decodes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus/decode_program/mlp.zkp");
    let p = build(&default_mlp());
    if std::env::var_os("ZKMLOPS_WRITE_FUZZ_SEEDS").is_some() {
        std::fs::write(&path, p.to_bytes()).unwrap();
    }
    assert_eq!(
        Program::from_bytes(&std::fs::read(&path).unwrap()).unwrap(),
        p
    );
}

/// Packed commitments: only committed inputs and computed tensors, 1..=31 bits; a computed
/// one's bits are checked by the reference; the flag survives the encoding and moves the
/// digest, while an unpacked Program keeps the bytes it had before packing existed.
#[test]
fn packed_commitments_are_validated_checked_and_encoded() {
    let lineage = Visibility::CommittedTo(1);
    let build = |pack: Option<u8>, vis: Visibility| {
        let mut b = ProgramBuilder::new();
        let x = b.input("x", &[2], Scale::ONE, Visibility::Private);
        let y = b.op("y", Op::Relu, &[x]).unwrap();
        b.output(y, vis).unwrap();
        if let Some(bits) = pack {
            b.pack(y, bits)?;
        }
        b.build()
    };
    let plain = build(None, lineage).unwrap();
    let packed = build(Some(8), lineage).unwrap();
    let y = packed.tensors()[1].clone();
    assert!(y.packed && y.bits == 8 && y.output_bound() == Some((-128, 127)));
    assert_ne!(plain.digest(), packed.digest());
    assert_eq!(Program::from_bytes(&packed.to_bytes()).unwrap(), packed);
    // Unpacked declarations encode as before: the `bits` byte is unchanged (0 here).
    assert_eq!(Program::from_bytes(&plain.to_bytes()).unwrap(), plain);
    assert!(!plain.tensors()[1].packed);
    // The reference refuses a computed value past the packed bound, by name.
    packed.evaluate(&[Tensor::vector(vec![127, -5])]).unwrap();
    assert_eq!(
        packed
            .evaluate(&[Tensor::vector(vec![3, 128])])
            .unwrap_err(),
        ProgramError::OutputOutOfBound {
            tensor: "y".into(),
            index: 1,
            value: 128,
            bits: 8
        }
    );
    // Widths outside 1..=31, an uncommitted tensor and a constant are refused.
    for bits in [0, 32, 64] {
        assert!(matches!(
            build(Some(bits), lineage),
            Err(ProgramError::Pack { bits: b, .. }) if b == bits
        ));
    }
    assert!(matches!(
        build(Some(8), Visibility::Public),
        Err(ProgramError::Pack { .. })
    ));
    let mut b = ProgramBuilder::new();
    let c = b
        .constant("c", Tensor::vector(vec![1]), Scale::ONE)
        .unwrap();
    assert!(matches!(b.pack(c, 8), Err(ProgramError::Pack { .. })));
}
