//! A Program as a plonky2 circuit: `zkmlops-plonkish`'s lowering on plonky2's circuit builder
//! ([`P2Gates`]), then the statement, the public tensors and the committed tensors' digests as
//! public inputs.
//!
//! Every tensor element is a target. Inputs are virtual targets set by the prover, constants are
//! constants, and each op is arithmetic on its inputs' targets (the lowering's documentation
//! says how each op is proved). Range checks are byte lookups ([`crate::range`]), lookups
//! plonky2's 16-bit lookup tables, the stable partition's multiset equality a grand product over the degree-2
//! extension at Poseidon challenges, and committed tensors are absorbed by `zkmlops-commit`'s
//! Poseidon2 sponge ([`crate::poseidon2`]).
//!
//! The prover's hints (quotients, remainders, sign bits, comparison and clamp bits) are set from
//! the witness by [`Compiled::assign`]; the constraints never trust them.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock};

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::Field;
use plonky2::gates::arithmetic_base::ArithmeticGate;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::plonk::config::PoseidonGoldilocksConfig;
use zkmlops_plonkish::{Gates, Lowered, Refusal};
use zkmlops_proof::{ProveError, public_tensor_ids};
use zkmlops_tensor::{Program, Witness};

use crate::BACKEND;
use crate::dot_gate::DotGate;

pub(crate) type F = GoldilocksField;
pub(crate) const D: usize = 2;
pub(crate) type C = PoseidonGoldilocksConfig;

/// Field elements of the statement digest, registered first among the public inputs.
pub(crate) const STATEMENT_LIMBS: usize = 4;

/// `(p - 1) / 2`: the largest magnitude whose field value is the integer itself.
const HALF: i128 = zkmlops_field::MAX_ABS as i128;

/// A signed integer as a field element (negatives as `p - |x|`).
pub(crate) fn felt(x: i64) -> F {
    let m = F::from_canonical_u64(x.unsigned_abs());
    if x < 0 { -m } else { m }
}

pub(crate) fn felt128(x: i128) -> F {
    let m = F::from_noncanonical_u128(x.unsigned_abs());
    if x < 0 { -m } else { m }
}

fn unsupported(feature: &'static str) -> ProveError {
    ProveError::Unsupported {
        backend: BACKEND,
        feature,
    }
}

/// Each hint's kind and values, in the order the circuit creates them.
pub(crate) type HintValues = zkmlops_plonkish::HintValues;

/// plonky2's circuit builder as the lowering's [`Gates`].
pub(crate) struct P2Gates {
    pub(crate) b: CircuitBuilder<F, D>,
    /// The byte table of range checks ([`crate::range`]), added with the first check.
    bytes: Option<usize>,
    /// The range checks' rows being filled.
    limb_rows: crate::range::LimbRows,
    /// The dot-product row of this configuration.
    dot: DotGate,
    /// The fewest products worth a [`DotGate`] row (an arithmetic row holds this many
    /// `mul_add`s).
    dot_min: usize,
}

impl P2Gates {
    pub(crate) fn new(config: CircuitConfig) -> Self {
        let dot = DotGate::new(&config);
        let dot_min = ArithmeticGate::new_from_config(&config).num_ops;
        P2Gates {
            b: CircuitBuilder::new(config),
            bytes: None,
            limb_rows: crate::range::LimbRows::default(),
            dot,
            dot_min,
        }
    }

    /// Complete the rows left partly filled; call once, before building.
    pub(crate) fn finish(&mut self) {
        self.limb_rows.finish(&mut self.b);
    }
}

impl Gates for P2Gates {
    type Wire = Target;

    fn half(&self) -> i128 {
        HALF
    }

    fn covers_field(&self) -> bool {
        true
    }

    fn input(&mut self) -> Target {
        self.b.add_virtual_target()
    }

    fn bool_input(&mut self) -> Target {
        self.b.add_virtual_bool_target_safe().target
    }

    fn constant(&mut self, v: i128) -> Target {
        if v == 0 {
            self.b.zero()
        } else {
            self.b.constant(felt128(v))
        }
    }

    fn add(&mut self, a: Target, b: Target) -> Target {
        self.b.add(a, b)
    }

    fn sub(&mut self, a: Target, b: Target) -> Target {
        self.b.sub(a, b)
    }

    fn neg(&mut self, a: Target) -> Target {
        self.b.neg(a)
    }

    fn mul(&mut self, a: Target, b: Target) -> Target {
        self.b.mul(a, b)
    }

    fn mul_add(&mut self, a: Target, b: Target, c: Target) -> Target {
        self.b.mul_add(a, b, c)
    }

    fn mul_const(&mut self, k: i128, a: Target) -> Target {
        self.b.mul_const(felt128(k), a)
    }

    fn add_const(&mut self, a: Target, k: i128) -> Target {
        self.b.add_const(a, felt128(k))
    }

    fn mul_const_add(&mut self, k: i128, a: Target, b: Target) -> Target {
        self.b.mul_const_add(felt128(k), a, b)
    }

    fn add_many(&mut self, terms: &[Target]) -> Target {
        self.b.add_many(terms.iter().copied())
    }

    /// [`DotGate`] rows (39 products each) for runs of at least an arithmetic row's worth.
    fn dot(&mut self, pairs: &[(Target, Target)], init: Option<Target>) -> Target {
        crate::dot_gate::dot(&mut self.b, self.dot, self.dot_min, pairs, init)
    }

    fn connect(&mut self, a: Target, b: Target) {
        self.b.connect(a, b);
    }

    /// `a ∈ [0, 2^bits)`: by byte lookups ([`crate::range`]) up to 63 bits, `a = 0` for none,
    /// plonky2's bit decomposition beyond.
    fn range_check(&mut self, a: Target, bits: u32) {
        self.range_check_shifted(a, 0, bits);
    }

    /// `a + k ∈ [0, 2^bits)`: the shift folded into the limbs' row ([`crate::range`]) up to 63
    /// bits, `a = -k` for none, plonky2's bit decomposition of `a + k` beyond.
    fn range_check_shifted(&mut self, a: Target, k: i128, bits: u32) {
        if bits == 0 {
            let minus_k = self.constant(-k);
            self.b.connect(a, minus_k);
        } else if bits <= crate::range::MAX_BITS {
            let table = match self.bytes {
                Some(t) => t,
                None => {
                    let t = self
                        .b
                        .add_lookup_table_from_pairs(crate::range::byte_table());
                    self.bytes = Some(t);
                    t
                }
            };
            crate::range::range_check_by_limbs(
                &mut self.b,
                &mut self.limb_rows,
                table,
                a,
                felt128(k),
                bits,
            );
        } else {
            let shifted = self.add_const(a, k);
            self.b.range_check(shifted, bits as usize);
        }
    }

    fn assert_bool(&mut self, a: Target) {
        self.b.assert_bool(BoolTarget::new_unsafe(a));
    }

    fn table(&mut self, pairs: Arc<Vec<(u16, u16)>>) -> usize {
        self.b.add_lookup_table_from_pairs(pairs)
    }

    fn lookup(&mut self, table: usize, x: Target) -> Target {
        self.b.add_lookup_from_index(x, table)
    }

    /// A grand product over the degree-2 extension, `prod (g - l0 - b l1) = prod (g - r0 -
    /// b r1)`, at challenges `(b, g)` hashed (Poseidon) from the seed: Schwartz–Zippel leaves
    /// a forger `n / |F_p^2|` (about `2^-118` for `n = 1024`).
    fn multiset_eq(
        &mut self,
        seed: &[Target],
        left: &[(Target, Target)],
        right: &[(Target, Target)],
    ) -> Result<(), Refusal> {
        let h = self
            .b
            .hash_n_to_hash_no_pad::<PoseidonHash>(seed.to_vec())
            .elements;
        let beta = ExtensionTarget([h[0], h[1]]);
        let gamma = ExtensionTarget([h[2], h[3]]);
        let mut lhs = self.b.one_extension();
        let mut rhs = self.b.one_extension();
        for (&(p, v), &(j, o)) in left.iter().zip(right) {
            let term = self.b.scalar_mul_ext(v, beta);
            let p = self.b.convert_to_ext(p);
            let term = self.b.add_extension(term, p);
            let factor = self.b.sub_extension(gamma, term);
            lhs = self.b.mul_extension(lhs, factor);
            let term = self.b.scalar_mul_ext(o, beta);
            let j = self.b.convert_to_ext(j);
            let term = self.b.add_extension(term, j);
            let factor = self.b.sub_extension(gamma, term);
            rhs = self.b.mul_extension(rhs, factor);
        }
        self.b.connect_extension(lhs, rhs);
        Ok(())
    }
}

/// A compiled Program: the circuit, the lowering (every tensor's targets and the prover's
/// hints) and the statement targets.
pub(crate) struct Compiled {
    pub(crate) data: CircuitData<F, C, D>,
    /// A hash of the common data, computed once (the aggregation circuits' cache key).
    pub(crate) common_key: OnceLock<[F; 4]>,
    pub(crate) lowered: Lowered<Target>,
    statement: Vec<Target>,
}

/// The op features this backend compiles: everything the lowering proves.
pub(crate) fn supported_features() -> Vec<String> {
    zkmlops_plonkish::supported_features()
}

/// Compiled circuits kept for reuse, most recent last: building a circuit's polynomials is a
/// large part of a small proof's cost (a hiding circuit carries thousands of plonky2's blinding
/// rows), and a verifier checking many proofs of one Program (or an aggregate of many
/// Programs) builds each once. At least [`CACHE_ENTRIES`] circuits are kept, more while
/// their rows add up to at most [`CACHE_ROWS`] (the prover data is a few KB per row).
const CACHE_ENTRIES: usize = 4;
/// Row budget of the cache beyond its first [`CACHE_ENTRIES`] circuits.
const CACHE_ROWS: usize = 1 << 18;

type CacheKey = (zkmlops_tensor::ProgramDigest, bool);
type Cache = Mutex<Vec<(CacheKey, Arc<Compiled>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Vec::new()))
}

/// [`compile`], through a small cache keyed by the Program digest (a collision-resistant hash
/// of its canonical encoding) and the preset: the circuit is a function of exactly those.
pub(crate) fn compile_cached(
    program: &Program,
    zero_knowledge: bool,
    config: CircuitConfig,
) -> Result<Arc<Compiled>, ProveError> {
    let key = (program.digest(), zero_knowledge);
    if let Ok(mut c) = cache().lock()
        && let Some(at) = c.iter().position(|(k, _)| *k == key)
    {
        let entry = c.remove(at);
        let compiled = Arc::clone(&entry.1);
        c.push(entry);
        return Ok(compiled);
    }
    let compiled = Arc::new(compile(program, config)?);
    if let Ok(mut c) = cache().lock() {
        c.push((key, Arc::clone(&compiled)));
        let rows = |c: &Vec<(CacheKey, Arc<Compiled>)>| -> usize {
            c.iter().map(|(_, e)| e.data.common.degree()).sum()
        };
        while c.len() > CACHE_ENTRIES && rows(&c) > CACHE_ROWS {
            c.remove(0);
        }
    }
    Ok(compiled)
}

/// Compile `program` under `config`. Deterministic: the verifier rebuilds the same circuit.
pub(crate) fn compile(program: &Program, config: CircuitConfig) -> Result<Compiled, ProveError> {
    let mut g = P2Gates::new(config);
    // The statement digest, first among the public inputs.
    let statement: Vec<Target> = (0..STATEMENT_LIMBS)
        .map(|_| g.b.add_virtual_public_input())
        .collect();
    let lowered =
        zkmlops_plonkish::lower(program, &mut g).map_err(|e| e.into_prove_error(BACKEND))?;
    // Public tensors (inputs and outputs), in the statement's order.
    for id in public_tensor_ids(program) {
        g.b.register_public_inputs(lowered.wires(id));
    }
    // Then each commitment group's digest (zkmlops-commit's sponge, absorbed in-circuit), in
    // the statement's order.
    let digest = program.digest();
    for (group, ids) in zkmlops_commit::commitment_groups(program) {
        // Each tensor's values enter as `zkmlops_commit::Packing` says: a narrow committed
        // input several to a field element (the lowering range-checks every committed input
        // to its declared bound, which makes the packing injective).
        let mut elements: Vec<Target> = Vec::new();
        for &id in &ids {
            let packing = zkmlops_commit::Packing::of(program, group, id);
            for chunk in lowered.wires(id).chunks(packing.width.max(1)) {
                elements.push(pack(&mut g.b, &packing, chunk));
            }
        }
        if elements.is_empty() {
            return Err(unsupported("committed tensors with no elements"));
        }
        let iv = zkmlops_commit::group_initial_state(&digest, group, elements.len())
            .map(|x| p3_field::PrimeField64::as_canonical_u64(&x));
        let out = crate::poseidon2::absorb(&mut g.b, iv, &elements);
        g.b.register_public_inputs(&out);
    }
    g.finish();
    let data = catch_unwind(AssertUnwindSafe(|| g.b.build::<C>()))
        .map_err(|_| unsupported("a circuit plonky2 cannot build"))?;
    Ok(Compiled {
        data,
        common_key: OnceLock::new(),
        lowered,
        statement,
    })
}

/// One absorbed element: `sum_j coef_j x_j + constant` (the chunk itself when unpacked).
fn pack(
    b: &mut CircuitBuilder<F, D>,
    packing: &zkmlops_commit::Packing,
    chunk: &[Target],
) -> Target {
    if packing.width <= 1
        && let Some(&t) = chunk.first()
    {
        return t;
    }
    let constant = p3_field::PrimeField64::as_canonical_u64(&packing.constant(chunk.len()));
    let mut acc = b.constant(F::from_canonical_u64(constant));
    for (j, &x) in chunk.iter().enumerate() {
        let c = p3_field::PrimeField64::as_canonical_u64(&packing.coefficient(j));
        acc = b.mul_const_add(F::from_canonical_u64(c), x, acc);
    }
    acc
}

impl Compiled {
    /// The prover's checks of the ranges the circuit proves (typed errors naming the tensor,
    /// before plonky2's witness generators would refuse the witness).
    pub(crate) fn check_limits(
        &self,
        program: &Program,
        witness: &Witness,
    ) -> Result<(), ProveError> {
        self.lowered
            .check_limits(program, witness)
            .map_err(|e| e.into_prove_error(BACKEND))
    }

    /// Each hint's kind and the values an honest prover gives it, from the witness.
    pub(crate) fn hint_values(&self, witness: &Witness) -> HintValues {
        self.lowered.hint_values(witness)
    }

    /// The targets of hint `i` (testing: the cheating prover overwrites them).
    #[cfg(feature = "testing")]
    pub(crate) fn hint_targets(&self, i: usize) -> Option<Vec<Target>> {
        self.lowered.hint_wires(i)
    }

    /// The element targets of tensor `id` (testing).
    #[cfg(feature = "testing")]
    pub(crate) fn tensor_targets(&self, id: zkmlops_tensor::TensorId) -> &[Target] {
        self.lowered.wires(id)
    }

    /// The partial witness: the statement digest, inputs and every hint (values as
    /// [`Compiled::hint_values`] gives them, or a cheating test's edit of them).
    pub(crate) fn assign(
        &self,
        witness: &Witness,
        statement: &[F],
        hint_values: &[(&'static str, Vec<i128>)],
    ) -> Result<PartialWitness<F>, ProveError> {
        let mut pw = PartialWitness::new();
        let set = |pw: &mut PartialWitness<F>, t: Target, v: F| {
            pw.set_target(t, v).map_err(|e| ProveError::Backend {
                backend: BACKEND,
                source: e.into(),
            })
        };
        for (&t, &v) in self.statement.iter().zip(statement) {
            set(&mut pw, t, v)?;
        }
        let values = self
            .lowered
            .assignments(witness, hint_values)
            .map_err(|id| {
                ProveError::Statement(zkmlops_proof::StatementError::MissingTensor { id })
            })?;
        for (t, v) in values {
            set(&mut pw, t, felt128(v))?;
        }
        Ok(pw)
    }
}
