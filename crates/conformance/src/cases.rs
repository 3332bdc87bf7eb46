//! One small Program per op and op family, with inputs: the statements every backend proves.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use zkmlops_field::Scale;
use zkmlops_lookup::{Function, TableSpec};
use zkmlops_tensor::ops::{Conv2dParams, Pool2dParams, Rounding};
use zkmlops_tensor::{Op, Program, ProgramBuilder, ProgramError, Tensor, TensorId, Visibility};

/// A Program with inputs that satisfy it.
#[derive(Debug, Clone)]
pub struct Case {
    /// Unique name, `family/what`.
    pub name: String,
    /// The op family (`linear`, `conv`, `pool`, `elementwise`, `lookup`, `composite`,
    /// `division`, `reduction`, `movement`, `partition`, `sqrt`, `commitment`, `model`, ...).
    pub family: &'static str,
    /// The Program.
    pub program: Program,
    /// Its inputs, in declaration order.
    pub inputs: Vec<Tensor>,
}

fn s(bits: u32) -> Scale {
    // Every scale used here is small and valid.
    Scale::new(bits).unwrap_or_default()
}

fn random(r: &mut StdRng, shape: &[usize], lo: i64, hi: i64) -> Tensor {
    let n = shape.iter().product();
    let data = (0..n).map(|_| r.random_range(lo..hi)).collect();
    Tensor::new(shape.to_vec(), data).unwrap_or_else(|_| Tensor::scalar(0))
}

/// Builds one case: the closure declares inputs (returning their values) and ops.
struct Builder {
    b: ProgramBuilder,
    inputs: Vec<Tensor>,
    rng: StdRng,
}

impl Builder {
    fn new(seed: u64) -> Self {
        Builder {
            b: ProgramBuilder::new(),
            inputs: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// An input with random values in `[lo, hi)`.
    fn input(
        &mut self,
        name: &str,
        shape: &[usize],
        scale: Scale,
        vis: Visibility,
        lo: i64,
        hi: i64,
    ) -> TensorId {
        let t = random(&mut self.rng, shape, lo, hi);
        self.with_values(name, t, scale, vis)
    }

    /// An input with the given values.
    fn with_values(&mut self, name: &str, t: Tensor, scale: Scale, vis: Visibility) -> TensorId {
        let id = self.b.input(name, t.shape(), scale, vis);
        self.inputs.push(t);
        id
    }

    /// A salt (any field element) for a commitment group.
    fn salt(&mut self, name: &str, vis: Visibility) -> TensorId {
        let t = random(&mut self.rng, &[4], -(1 << 62), 1 << 62);
        let id = self.b.unbounded_input(name, &[4], s(0), vis);
        self.inputs.push(t);
        id
    }

    fn op(&mut self, name: &str, op: Op, inputs: &[TensorId]) -> Result<TensorId, ProgramError> {
        self.b.op(name, op, inputs)
    }

    fn finish(
        mut self,
        name: &str,
        family: &'static str,
        outputs: &[TensorId],
    ) -> Result<Case, ProgramError> {
        for &o in outputs {
            self.b.output(o, Visibility::Public)?;
        }
        Ok(Case {
            name: format!("{family}/{name}"),
            family,
            program: self.b.build()?,
            inputs: self.inputs,
        })
    }
}

const PRIV: Visibility = Visibility::Private;
const PUB: Visibility = Visibility::Public;

fn linear() -> Result<Vec<Case>, ProgramError> {
    let mut out = Vec::new();
    let mut c = Builder::new(1);
    let x = c.input("x", &[2, 3], s(8), PRIV, -256, 256);
    let w = c.input("w", &[3, 4], s(8), PRIV, -256, 256);
    let y = c.op("y", Op::MatMul, &[x, w])?;
    out.push(c.finish("matmul", "linear", &[y])?);

    let mut c = Builder::new(2);
    let x = c.input("x", &[2, 5], s(8), PUB, -256, 256);
    let w = c.input("w", &[3, 5], s(8), PRIV, -256, 256);
    let bias = c.input("b", &[3], s(16), PRIV, -65_536, 65_536);
    let g = c.op(
        "g",
        Op::Gemm {
            trans_a: false,
            trans_b: true,
        },
        &[x, w, bias],
    )?;
    let y = c.op(
        "y",
        Op::Rescale {
            shift: 8,
            rounding: Rounding::HalfUp,
        },
        &[g],
    )?;
    out.push(c.finish("gemm_trans_b_bias_public_input", "linear", &[y])?);

    let mut c = Builder::new(3);
    let x = c.input("x", &[4, 2], s(8), PRIV, -256, 256);
    let w = c.input("w", &[4, 3], s(8), PRIV, -256, 256);
    let y = c.op(
        "y",
        Op::Gemm {
            trans_a: true,
            trans_b: false,
        },
        &[x, w],
    )?;
    out.push(c.finish("gemm_trans_a", "linear", &[y])?);
    Ok(out)
}

fn conv() -> Result<Vec<Case>, ProgramError> {
    let mut out = Vec::new();
    let mut c = Builder::new(4);
    let x = c.input("x", &[1, 2, 6, 6], s(8), PRIV, -256, 256);
    let w = c.input("w", &[3, 2, 3, 3], s(8), PRIV, -256, 256);
    let bias = c.input("b", &[3], s(16), PRIV, -65_536, 65_536);
    let y = c.op(
        "y",
        Op::Conv2d(Conv2dParams {
            strides: [2, 1],
            pads: [1, 0, 1, 2],
            dilations: [1, 2],
            groups: 1,
        }),
        &[x, w, bias],
    )?;
    out.push(c.finish("stride_pad_dilation_bias", "conv", &[y])?);

    let mut c = Builder::new(5);
    let x = c.input("x", &[1, 4, 4, 4], s(8), PRIV, -256, 256);
    let w = c.input("w", &[2, 2, 2, 2], s(8), PRIV, -256, 256);
    let y = c.op(
        "y",
        Op::Conv2d(Conv2dParams {
            groups: 2,
            ..Conv2dParams::default()
        }),
        &[x, w],
    )?;
    out.push(c.finish("groups", "conv", &[y])?);
    Ok(out)
}

fn pool() -> Result<Vec<Case>, ProgramError> {
    let params = Pool2dParams {
        kernel: [3, 2],
        strides: [2, 2],
        pads: [1, 1, 1, 0],
    };
    let mut out = Vec::new();
    let mut c = Builder::new(6);
    let x = c.input("x", &[1, 2, 5, 5], s(8), PRIV, -256, 256);
    let y = c.op("y", Op::MaxPool2d(params), &[x])?;
    out.push(c.finish("max_pool", "pool", &[y])?);
    let mut c = Builder::new(7);
    let x = c.input("x", &[1, 2, 5, 5], s(8), PRIV, -256, 256);
    let y = c.op(
        "y",
        Op::AvgPool2d {
            params,
            rounding: Rounding::HalfUp,
        },
        &[x],
    )?;
    out.push(c.finish("avg_pool", "pool", &[y])?);
    Ok(out)
}

fn elementwise() -> Result<Vec<Case>, ProgramError> {
    let mut out = Vec::new();
    let mut c = Builder::new(8);
    let a = c.input("a", &[3, 4], s(8), PRIV, -256, 256);
    let b = c.input("b", &[4], s(8), PRIV, -256, 256);
    let sum = c.op("sum", Op::Add, &[a, b])?;
    let diff = c.op("diff", Op::Sub, &[sum, b])?;
    out.push(c.finish("add_sub_broadcast", "elementwise", &[sum, diff])?);

    let mut c = Builder::new(9);
    let a = c.input("a", &[2, 3], s(8), PRIV, -256, 256);
    let k = c.b.constant("k", Tensor::vector(vec![3, -5, 7]), s(8))?;
    let p = c.op("p", Op::Mul, &[a, k])?;
    let q = c.op("q", Op::Mul, &[a, a])?;
    out.push(c.finish("mul_by_constant_and_square", "elementwise", &[p, q])?);

    let mut c = Builder::new(10);
    let a = c.input("a", &[12], s(16), PRIV, -(1 << 20), 1 << 20);
    let h = c.op(
        "half_up",
        Op::Rescale {
            shift: 8,
            rounding: Rounding::HalfUp,
        },
        &[a],
    )?;
    let f = c.op(
        "floor",
        Op::Rescale {
            shift: 5,
            rounding: Rounding::Floor,
        },
        &[a],
    )?;
    let r = c.op("relu", Op::Relu, &[h])?;
    out.push(c.finish("rescale_relu", "elementwise", &[h, f, r])?);

    // Comparisons: small values so ties occur; both orders and a constant threshold.
    let mut c = Builder::new(11);
    let a = c.input("a", &[3, 4], s(8), PRIV, -6, 6);
    let b = c.input("b", &[4], s(8), PRIV, -6, 6);
    let k = c.b.constant("k", Tensor::vector(vec![0]), s(8))?;
    let ge = c.op("a_at_least_b", Op::AtLeast, &[a, b])?;
    let le = c.op("b_at_least_a", Op::AtLeast, &[b, a])?;
    let nn = c.op("a_non_negative", Op::AtLeast, &[a, k])?;
    out.push(c.finish("at_least_broadcast", "elementwise", &[ge, le, nn])?);
    Ok(out)
}

fn table(f: Function) -> Result<TableSpec, ProgramError> {
    let (lo, hi) = f.grid_domain(8);
    TableSpec::new(f, s(8), s(8), lo, hi).map_err(|e| ProgramError::Op {
        node: usize::MAX,
        op: "lookup",
        tensor: f.name().into(),
        source: zkmlops_tensor::OpError::Table {
            op: "lookup",
            source: Box::new(e),
        },
    })
}

/// The lookup functions a [`crate::Coverage::Sample`] run proves: a bounded output
/// (sigmoid), a one-sided domain (exp) and a positive domain (log). Every function is the same
/// lookup argument over another table, and `zkmlops-lookup` tests each table against `f64`.
pub const LOOKUP_SAMPLE: [Function; 3] = [Function::Sigmoid, Function::Exp, Function::Log];

fn lookup() -> Result<Vec<Case>, ProgramError> {
    let mut out = Vec::new();
    for (i, f) in Function::ALL.into_iter().enumerate() {
        let spec = table(f)?;
        let mut c = Builder::new(100 + i as u64);
        // Inside, at and beyond the domain's ends (clamped).
        let mut xs = random(&mut c.rng, &[12], spec.lo, spec.hi + 1).into_data();
        xs.extend([spec.lo, spec.hi, spec.lo - 1, spec.hi + 1, spec.lo - 5000]);
        let x = c.with_values("x", Tensor::vector(xs), s(8), PRIV);
        let y = c.op("y", Op::Lookup(spec), &[x])?;
        out.push(c.finish(f.name(), "lookup", &[y])?);
    }
    Ok(out)
}

fn composite() -> Result<Vec<Case>, ProgramError> {
    let mut out = Vec::new();
    let mut c = Builder::new(11);
    let x = c.input("x", &[2, 5], s(8), PRIV, -1024, 1024);
    let y = zkmlops_tensor::composite::softmax(&mut c.b, "softmax", x, s(8), s(8), s(8), -4096)?;
    out.push(c.finish("softmax", "composite", &[y])?);
    let mut c = Builder::new(12);
    let x = c.input("x", &[2, 6], s(8), PRIV, -1024, 1024);
    let y = zkmlops_tensor::composite::layer_norm(&mut c.b, "layer_norm", x, s(8), 1, 64 * 256)?;
    out.push(c.finish("layer_norm", "composite", &[y])?);
    Ok(out)
}

fn division() -> Result<Vec<Case>, ProgramError> {
    let mut c = Builder::new(13);
    let a = c.input("a", &[3, 4], s(16), PRIV, -(1 << 20), 1 << 20);
    let b = c.input("b", &[4], s(8), PRIV, 1, 1024);
    let h = c.op(
        "half_up",
        Op::Div {
            rounding: Rounding::HalfUp,
        },
        &[a, b],
    )?;
    let f = c.op(
        "floor",
        Op::Div {
            rounding: Rounding::Floor,
        },
        &[a, b],
    )?;
    Ok(vec![c.finish("div_tensor", "division", &[h, f])?])
}

fn reduction() -> Result<Vec<Case>, ProgramError> {
    let mut c = Builder::new(14);
    let x = c.input("x", &[3, 4, 2], s(8), PRIV, -256, 256);
    let sum = c.op(
        "sum",
        Op::Sum {
            axes: vec![0, 2],
            keep_dims: false,
        },
        &[x],
    )?;
    let all = c.op(
        "sum_all",
        Op::Sum {
            axes: vec![],
            keep_dims: true,
        },
        &[x],
    )?;
    let mean = c.op(
        "mean",
        Op::Mean {
            axes: vec![1],
            keep_dims: true,
            rounding: Rounding::HalfUp,
        },
        &[x],
    )?;
    let max = c.op(
        "max",
        Op::ReduceMax {
            axis: 1,
            keep_dims: false,
        },
        &[x],
    )?;
    let arg = c.op(
        "argmax",
        Op::ArgMax {
            axis: 1,
            keep_dims: false,
        },
        &[x],
    )?;
    Ok(vec![c.finish(
        "sum_mean_max_argmax",
        "reduction",
        &[sum, all, mean, max, arg],
    )?])
}

fn movement() -> Result<Vec<Case>, ProgramError> {
    let mut c = Builder::new(15);
    let x = c.input("x", &[2, 3, 4], s(8), PRIV, -256, 256);
    let z = c.input("z", &[2, 1, 4], s(8), PRIV, -256, 256);
    let r = c.op("reshape", Op::Reshape { shape: vec![6, 4] }, &[x])?;
    let f = c.op("flatten", Op::Flatten { axis: 1 }, &[x])?;
    let t = c.op(
        "transpose",
        Op::Transpose {
            perm: vec![2, 0, 1],
        },
        &[x],
    )?;
    let cat = c.op("concat", Op::Concat { axis: 1 }, &[x, z])?;
    let sl = c.op(
        "slice",
        Op::Slice {
            axis: 2,
            start: 1,
            end: 3,
        },
        &[x],
    )?;
    Ok(vec![c.finish(
        "reshape_flatten_transpose_concat_slice",
        "movement",
        &[r, f, t, cat, sl],
    )?])
}

fn partition_and_sqrt() -> Result<Vec<Case>, ProgramError> {
    let mut out = Vec::new();
    let mut c = Builder::new(16);
    let x = c.input("x", &[8], s(8), PRIV, -256, 256);
    let mask = vec![1, 0, 0, 1, 1, 0, 1, 0];
    let kept = mask.iter().filter(|&&m| m == 1).count();
    let m = c.with_values("mask", Tensor::vector(mask), s(0), PRIV);
    let y = c.op("kept", Op::Partition { kept }, &[x, m])?;
    out.push(c.finish("partition", "partition", &[y])?);

    let mut c = Builder::new(17);
    let x = c.input("x", &[10], s(16), PRIV, 0, 1 << 22);
    let y = c.op("root", Op::Sqrt, &[x])?;
    out.push(c.finish("sqrt", "sqrt", &[y])?);
    Ok(out)
}

fn commitment() -> Result<Vec<Case>, ProgramError> {
    let mut out = Vec::new();
    // Weights committed with a salt (group 0, the model commitment); input public.
    let mut c = Builder::new(18);
    let x = c.input("x", &[1, 4], s(8), PUB, -256, 256);
    let _salt = c.salt("salt", Visibility::Committed);
    let w = c.input("w", &[3, 4], s(8), Visibility::Committed, -256, 256);
    let y = c.op(
        "y",
        Op::Gemm {
            trans_a: false,
            trans_b: true,
        },
        &[x, w],
    )?;
    out.push(c.finish("committed_weights", "commitment", &[y])?);
    // Two lineage groups (as a training segment chains them) and a private input.
    let mut c = Builder::new(19);
    let _s1 = c.salt("salt1", Visibility::CommittedTo(1));
    let a = c.input("a", &[5], s(8), Visibility::CommittedTo(1), -256, 256);
    let _s2 = c.salt("salt2", Visibility::CommittedTo(2));
    let b = c.input("b", &[5], s(8), Visibility::CommittedTo(2), -256, 256);
    let y = c.op("y", Op::Add, &[a, b])?;
    out.push(c.finish("two_lineage_groups", "commitment", &[y])?);
    Ok(out)
}

/// Every op-level case: one Program per op and op family.
///
/// # Errors
/// A [`ProgramError`] would be a bug in the suite (the Programs are fixed).
pub fn op_cases() -> Result<Vec<Case>, ProgramError> {
    let mut all = Vec::new();
    for family in [
        linear,
        conv,
        pool,
        elementwise,
        lookup,
        composite,
        division,
        reduction,
        movement,
        partition_and_sqrt,
        commitment,
    ] {
        all.extend(family()?);
    }
    Ok(all)
}

/// The case the binding checks use: a public input, committed weights (so a commitment
/// exists), a rescale and a public output.
///
/// # Errors
/// As [`op_cases`].
pub fn binding_case() -> Result<Case, ProgramError> {
    let mut c = Builder::new(20);
    let x = c.input("x", &[1, 3], s(8), PUB, -256, 256);
    let _salt = c.salt("salt", Visibility::Committed);
    let w = c.input("w", &[2, 3], s(8), Visibility::Committed, -256, 256);
    let g = c.op(
        "g",
        Op::Gemm {
            trans_a: false,
            trans_b: true,
        },
        &[x, w],
    )?;
    let y = c.op(
        "y",
        Op::Rescale {
            shift: 8,
            rounding: Rounding::HalfUp,
        },
        &[g],
    )?;
    let r = c.op("r", Op::Relu, &[y])?;
    c.finish("binding", "binding", &[y, r])
}

/// Biases of [`mlp`] lie in `[-2^16, 2^16)` (scale 2^16).
const BIAS_BOUND: i64 = 65536;

/// The bound the ONNX import declares for parameters whose magnitudes stay within `bound`.
fn import_bits(bound: i64) -> u8 {
    zkmlops_onnx::param_bits(&[-bound, bound])
}

/// The benchmark MLP: layer widths `dims`, `Gemm` + rescale (scale 2^8, half up) per layer,
/// ReLU between layers, input private, weights and biases of visibility `weights`, output
/// public; inputs in `[-1, 1)` and weights uniform in `+-1/sqrt(fan_in)` from the fixed seed
/// 42. Weights are declared `weight_bits` wide when given, else as the ONNX import declares
/// parameters (the narrowest multiple of 4 bits, at least 8, that holds them); biases 20 bits. Returns the case and its MAC count (`--dims 64,256,256,10`: the 84K-MAC
/// MLP of the benchmarks).
///
/// # Errors
/// A [`ProgramError`] for widths that do not build (an empty or single-width `dims`, or a
/// `weight_bits` outside `1..=64`).
pub fn mlp(
    dims: &[usize],
    weight_bits: Option<u8>,
    weights: Visibility,
) -> Result<(Case, usize), ProgramError> {
    let scale = s(8);
    let mut b = ProgramBuilder::new();
    let first = dims.first().copied().unwrap_or(0);
    let mut x = b.input("input", &[1, first], scale, Visibility::Private);
    let mut macs = 0;
    let mut rng = StdRng::seed_from_u64(42);
    let mut inputs = vec![random(&mut rng, &[1, first], -256, 256)];
    for (l, w) in dims.windows(2).enumerate() {
        // Weights uniform in +-256/sqrt(fan_in) at scale 2^8.
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let bound = (256.0 / (w[0] as f64).sqrt()).ceil() as i64;
        let wt = b.input(&format!("w{l}"), &[w[1], w[0]], scale, weights);
        b.set_bits(wt, weight_bits.unwrap_or_else(|| import_bits(bound)))?;
        let bias = b.input(
            &format!("b{l}"),
            &[w[1]],
            scale.product(scale).unwrap_or(scale),
            weights,
        );
        b.set_bits(bias, import_bits(BIAS_BOUND))?;
        let h = b.op(
            &format!("fc{l}"),
            Op::Gemm {
                trans_a: false,
                trans_b: true,
            },
            &[x, wt, bias],
        )?;
        x = b.op(
            &format!("fc{l}_rescaled"),
            Op::Rescale {
                shift: 8,
                rounding: Rounding::HalfUp,
            },
            &[h],
        )?;
        if l + 2 < dims.len() {
            x = b.op(&format!("relu{l}"), Op::Relu, &[x])?;
        }
        macs += w[0] * w[1];
        inputs.push(random(&mut rng, &[w[1], w[0]], -bound, bound + 1));
        inputs.push(random(&mut rng, &[w[1]], -BIAS_BOUND, BIAS_BOUND));
    }
    b.output(x, Visibility::Public)?;
    let case = Case {
        name: format!("mlp/{dims:?}"),
        family: "model",
        program: b.build()?,
        inputs,
    };
    Ok((case, macs))
}

/// The stable partition of `x = [10, 20, 30]` by `mask = [0, 1, 1]` (`kept = 2`, output public):
/// the honest output is `[20, 30, 10]`. The PLONK backends' cheating-prover tests forge it (a
/// permutation to the wrong destinations, a non-permutation). Returns the Program, its inputs
/// and the output tensor.
///
/// # Errors
/// A [`ProgramError`] only if the builder's rules change.
pub fn stable_partition() -> Result<(Program, Vec<Tensor>, TensorId), ProgramError> {
    let s = s(4);
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[3], s, Visibility::Private);
    let m = b.input("m", &[3], s, Visibility::Private);
    b.set_bits(x, 24)?;
    b.set_bits(m, 2)?;
    let y = b.op("y", Op::Partition { kept: 2 }, &[x, m])?;
    b.output(y, Visibility::Public)?;
    let inputs = vec![
        Tensor::new(vec![3], vec![10, 20, 30]).map_err(|e| ProgramError::Constant {
            tensor: "x".into(),
            source: e,
        })?,
        Tensor::new(vec![3], vec![0, 1, 1]).map_err(|e| ProgramError::Constant {
            tensor: "m".into(),
            source: e,
        })?,
    ];
    Ok((b.build()?, inputs, y))
}

/// A packed-commitment collision (scheme v2): `y = sum(w)` public, `w` two committed weights
/// declared 8 bits (packed into one element, `(w0 + 128) + (w1 + 128) * 256`), a salt first.
/// The honest weights `[5, 3]` and the out-of-bound `[261, 2]` pack to the same element, so
/// both have one commitment: the cheating-prover tests claim `y = 263` under it. Returns the
/// Program, the honest inputs, `w` and `y`.
///
/// # Errors
/// A [`ProgramError`] only if the builder's rules change.
pub fn packed_collision() -> Result<(Program, Vec<Tensor>, TensorId, TensorId), ProgramError> {
    let mut b = ProgramBuilder::new();
    b.unbounded_input("salt", &[4], Scale::ONE, Visibility::Committed);
    let w = b.input("w", &[2], Scale::ONE, Visibility::Committed);
    b.set_bits(w, 8)?;
    let sum = Op::Sum {
        axes: vec![0],
        keep_dims: false,
    };
    let y = b.op("y", sum, &[w])?;
    b.output(y, Visibility::Public)?;
    let inputs = vec![
        Tensor::vector(vec![11, -22, 33, -44]),
        Tensor::vector(vec![5, 3]),
    ];
    Ok((b.build()?, inputs, w, y))
}

/// The out-of-bound weights and the sum [`packed_collision`]'s cheater claims.
pub const PACKED_COLLISION_CLAIM: ([i64; 2], i64) = ([261, 2], 263);

/// A stage's *computed* output committed packed to a lineage group (scheme v3): `z = x * 1`
/// from a private `x`, `z` committed to group 1 packed with 8 bits, `y = sum(z)` public. With
/// `x = [5, 3]` honest; a cheater claiming `x = z = [261, 2]` (out of `z`'s declared bits) hits
/// the same lineage digest ([`PACKED_COLLISION_CLAIM`]): only the range check of `z` stops
/// it. Returns the Program, honest inputs (salt, x), `x`, `z` and `y`.
///
/// # Errors
/// Builder errors (none for this fixed Program).
#[allow(clippy::type_complexity)]
pub fn packed_output_collision()
-> Result<(Program, Vec<Tensor>, TensorId, TensorId, TensorId), ProgramError> {
    let mut b = ProgramBuilder::new();
    b.unbounded_input("salt", &[4], Scale::ONE, Visibility::CommittedTo(1));
    let x = b.input("x", &[2], Scale::ONE, Visibility::Private);
    let one = b.constant("one", Tensor::vector(vec![1, 1]), Scale::ONE)?;
    let z = b.op("z", Op::Mul, &[x, one])?;
    b.output(z, Visibility::CommittedTo(1))?;
    b.pack(z, 8)?;
    let sum = Op::Sum {
        axes: vec![0],
        keep_dims: false,
    };
    let y = b.op("y", sum, &[z])?;
    b.output(y, Visibility::Public)?;
    let inputs = vec![
        Tensor::vector(vec![11, -22, 33, -44]),
        Tensor::vector(vec![5, 3]),
    ];
    Ok((b.build()?, inputs, x, z, y))
}

#[cfg(test)]
mod tests {
    use super::{LOOKUP_SAMPLE, op_cases};

    #[test]
    fn every_sampled_lookup_function_has_its_case() {
        let cases = op_cases().unwrap();
        for f in LOOKUP_SAMPLE {
            let name = format!("lookup/{}", f.name());
            assert!(
                cases.iter().any(|c| c.name == name && c.family == "lookup"),
                "{name}"
            );
        }
    }
}
