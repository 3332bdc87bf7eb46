//! The netlist as a halo2 circuit: columns, the gate, the lookups, key generation and the
//! compiled-circuit cache.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use halo2_gadgets::poseidon::primitives::{ConstantLength, P128Pow5T3};
use halo2_gadgets::poseidon::{Hash as PoseidonHash, Pow5Chip, Pow5Config};
use halo2_proofs::circuit::{AssignedCell, Cell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::pasta::{EqAffine, Fp};
use halo2_proofs::plonk::{
    Advice, Circuit, Column, ConstraintSystem, Error, Expression, Fixed, Instance, ProvingKey,
    TableColumn, VerifyingKey, keygen_pk, keygen_vk,
};
use halo2_proofs::poly::Rotation;
use halo2_proofs::poly::commitment::Params;
use zkmlops_plonkish::{Gates, Lowered};
use zkmlops_proof::{ProveError, public_tensor_ids};
use zkmlops_tensor::{Program, TensorId, Witness};

use crate::net::{CommitPlan, FIRST_TABLE_TAG, LIMB_BITS, Net, Var, fp};
use crate::{BACKEND, Halo2Error};

/// The smallest circuit size (rows `2^MIN_K`): the range table alone needs 511 rows.
pub(crate) const MIN_K: u32 = 10;
/// The largest: `2^24` rows (the commitment key alone is then 1 GB).
pub(crate) const MAX_K: u32 = 24;

/// Instance rows before the public tensors: the statement digest.
pub(crate) const STATEMENT_ROWS: usize = 1;

/// The columns.
#[derive(Debug, Clone)]
pub(crate) struct NetConfig {
    advice: [Column<Advice>; 5],
    /// `q_ab q_cd q_a q_b q_c q_d q_e q_n q_k`.
    q: [Column<Fixed>; 9],
    /// Range tags of `a..d`.
    range: [Column<Fixed>; 4],
    /// The nonlinearity table tag of `(a, b)`.
    table: Column<Fixed>,
    /// The lookup table: `(tag, tag * input, tag * output)`.
    lut: [TableColumn; 3],
    instance: Column<Instance>,
    /// The Poseidon chip (circuits with committed tensors only: its x^5 gates raise the
    /// constraint degree).
    poseidon: Option<Pow5Config<Fp, 3, 2>>,
}

/// Rows one two-to-one Poseidon hash takes in the Pow5 chip (initial state, input, 36 rounds,
/// output), with a margin; sizing retries one size up if the layout needs more.
pub(crate) const ROWS_PER_HASH: usize = 42;

/// A netlist with (prover) or without (keys, verifier) its values; `HASH` when it has committed
/// tensors (the Poseidon chip is configured).
pub(crate) struct NetCircuit<'a, const HASH: bool> {
    pub(crate) net: &'a Net,
    pub(crate) values: Option<&'a [Fp]>,
    /// Single cells `(row, column)` written with another value than their variable's (the
    /// cheating prover of the tests; empty otherwise).
    pub(crate) overrides: &'a [((usize, usize), Fp)],
}

impl<const HASH: bool> Circuit<Fp> for NetCircuit<'_, HASH> {
    type Config = NetConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        NetCircuit {
            net: self.net,
            values: None,
            overrides: &[],
        }
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> NetConfig {
        let advice = [(); 5].map(|()| meta.advice_column());
        for a in advice {
            meta.enable_equality(a);
        }
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        let q = [(); 9].map(|()| meta.fixed_column());
        let range = [(); 4].map(|()| meta.fixed_column());
        let table = meta.fixed_column();
        let lut = [(); 3].map(|()| meta.lookup_table_column());
        meta.create_gate("row", |m| {
            let a = advice.map(|c| m.query_advice(c, Rotation::cur()));
            let e_next = m.query_advice(advice[4], Rotation::next());
            let q = q.map(|c| m.query_fixed(c));
            let [q_ab, q_cd, q_a, q_b, q_c, q_d, q_e, q_n, q_k] = q;
            vec![
                q_ab * a[0].clone() * a[1].clone()
                    + q_cd * a[2].clone() * a[3].clone()
                    + q_a * a[0].clone()
                    + q_b * a[1].clone()
                    + q_c * a[2].clone()
                    + q_d * a[3].clone()
                    + q_e * a[4].clone()
                    + q_n * e_next
                    + q_k,
            ]
        });
        // Range: (t, t x, 0) in the table, whose range rows are (r, r v, 0) for v < 2^r.
        for (i, &col) in range.iter().enumerate() {
            meta.lookup(|m| {
                let t = m.query_fixed(col);
                let x = m.query_advice(advice[i], Rotation::cur());
                vec![
                    (t.clone(), lut[0]),
                    (t * x, lut[1]),
                    (Expression::Constant(Fp::zero()), lut[2]),
                ]
            });
        }
        // Nonlinearity: (t, t a, t b) against (T, T in, T out).
        meta.lookup(|m| {
            let t = m.query_fixed(table);
            let a = m.query_advice(advice[0], Rotation::cur());
            let b = m.query_advice(advice[1], Rotation::cur());
            vec![
                (t.clone(), lut[0]),
                (t.clone() * a, lut[1]),
                (t * b, lut[2]),
            ]
        });
        let poseidon = HASH.then(|| {
            let rc_a = [(); 3].map(|()| meta.fixed_column());
            let rc_b = [(); 3].map(|()| meta.fixed_column());
            let constants = meta.fixed_column();
            meta.enable_constant(constants);
            Pow5Chip::configure::<P128Pow5T3>(
                meta,
                [advice[0], advice[1], advice[2]],
                advice[3],
                rc_a,
                rc_b,
            )
        });
        NetConfig {
            advice,
            q,
            range,
            table,
            lut,
            instance,
            poseidon,
        }
    }

    fn synthesize(&self, config: NetConfig, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
        let net = self.net;
        layouter.assign_table(
            || "lookup table",
            |mut t| {
                let mut row = 0;
                let mut put = |tag: u64, x: u64, y: u64| -> Result<(), Error> {
                    let tag = Fp::from(tag);
                    for (col, v) in
                        config
                            .lut
                            .iter()
                            .zip([tag, tag * Fp::from(x), tag * Fp::from(y)])
                    {
                        t.assign_cell(|| "", *col, row, || Value::known(v))?;
                    }
                    row += 1;
                    Ok(())
                };
                put(0, 0, 0)?;
                for r in 1..=u64::from(LIMB_BITS) {
                    for v in 0..1u64 << r {
                        put(r, v, 0)?;
                    }
                }
                for (i, pairs) in net.tables.iter().enumerate() {
                    for &(x, y) in pairs.iter() {
                        put(FIRST_TABLE_TAG + i as u64, u64::from(x), u64::from(y))?;
                    }
                }
                Ok(())
            },
        )?;
        let exported: std::collections::HashSet<u32> = net
            .commits
            .iter()
            .flat_map(|c| c.words.iter().map(|w| w.0))
            .collect();
        let (homes, exports) = layouter.assign_region(
            || "net",
            |mut region| {
                let mut exports: std::collections::HashMap<u32, AssignedCell<Fp, Fp>> =
                    std::collections::HashMap::new();
                let mut homes: Vec<Option<Cell>> = vec![None; net.var_count()];
                let mut copies: Vec<(Var, Cell)> = Vec::new();
                for (r, row) in net.rows.iter().enumerate() {
                    for (col, cell) in row.cells.iter().enumerate() {
                        let Some(v) = *cell else { continue };
                        let value = match self.values {
                            Some(vals) => Value::known(
                                self.overrides
                                    .iter()
                                    .find(|(at, _)| *at == (r, col))
                                    .map_or(vals[v.0 as usize], |&(_, x)| x),
                            ),
                            None => Value::unknown(),
                        };
                        let assigned =
                            region.assign_advice(|| "", config.advice[col], r, || value)?;
                        let is_home = net.home[v.0 as usize]
                            .is_some_and(|(hr, hc)| hr as usize == r && hc as usize == col);
                        if is_home {
                            homes[v.0 as usize] = Some(assigned.cell());
                            if exported.contains(&v.0) {
                                exports.insert(v.0, assigned);
                            }
                        } else {
                            copies.push((v, assigned.cell()));
                        }
                    }
                    let q = &row.q;
                    let coeffs = [
                        q.ab, q.cd, q.lin[0], q.lin[1], q.lin[2], q.lin[3], q.lin[4], q.next, q.k,
                    ];
                    for (col, c) in config.q.iter().zip(coeffs) {
                        if c != 0 {
                            region.assign_fixed(|| "", *col, r, || Value::known(fp(c)))?;
                        }
                    }
                    for (col, &bits) in config.range.iter().zip(&row.range) {
                        if bits != 0 {
                            region.assign_fixed(
                                || "",
                                *col,
                                r,
                                || Value::known(Fp::from(u64::from(bits))),
                            )?;
                        }
                    }
                    if row.table != 0 {
                        region.assign_fixed(
                            || "",
                            config.table,
                            r,
                            || Value::known(Fp::from(row.table)),
                        )?;
                    }
                }
                for (v, cell) in copies {
                    if let Some(home) = homes[v.0 as usize] {
                        region.constrain_equal(home, cell)?;
                    }
                }
                for &(a, b) in &net.connects {
                    if let (Some(x), Some(y)) = (homes[a.0 as usize], homes[b.0 as usize]) {
                        region.constrain_equal(x, y)?;
                    }
                }
                Ok((homes, exports))
            },
        )?;
        for (i, v) in net.public.iter().enumerate() {
            let cell = homes[v.0 as usize].ok_or(Error::Synthesis)?;
            layouter.constrain_instance(cell, config.instance, STATEMENT_ROWS + i)?;
        }
        let mut row = STATEMENT_ROWS + net.public.len();
        for plan in &net.commits {
            let pc = config.poseidon.clone().ok_or(Error::Synthesis)?;
            let digest = commit_chain(&mut layouter, &config, pc, plan, &exports)?;
            match plan.out {
                // A commitment: the next instance row.
                None => {
                    layouter.constrain_instance(digest.cell(), config.instance, row)?;
                    row += 1;
                }
                // A challenge: the variable the netlist uses.
                Some(v) => {
                    let home = homes[v.0 as usize].ok_or(Error::Synthesis)?;
                    layouter.assign_region(
                        || "challenge",
                        |mut region| region.constrain_equal(digest.cell(), home),
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// The Poseidon chain of one commitment group: the initial value as a circuit constant, then
/// one two-to-one hash per packed word (copied from the netlist's cell).
fn commit_chain(
    layouter: &mut impl Layouter<Fp>,
    config: &NetConfig,
    pc: Pow5Config<Fp, 3, 2>,
    plan: &CommitPlan,
    exports: &std::collections::HashMap<u32, AssignedCell<Fp, Fp>>,
) -> Result<AssignedCell<Fp, Fp>, Error> {
    let mut acc = layouter.assign_region(
        || "commitment iv",
        |mut region| region.assign_advice_from_constant(|| "iv", config.advice[0], 0, plan.iv),
    )?;
    for w in &plan.words {
        let word = exports.get(&w.0).ok_or(Error::Synthesis)?.clone();
        let chip = Pow5Chip::construct(pc.clone());
        let hasher = PoseidonHash::<_, _, P128Pow5T3, ConstantLength<2>, 3, 2>::init(
            chip,
            layouter.namespace(|| "init"),
        )?;
        acc = hasher.hash(layouter.namespace(|| "hash"), [acc, word])?;
    }
    Ok(acc)
}

/// A compiled Program: the netlist, its lowering, the circuit size and the keys.
pub(crate) struct Compiled {
    pub(crate) net: Net,
    pub(crate) lowered: Lowered<Var>,
    pub(crate) k: u32,
    pub(crate) pk: ProvingKey<EqAffine>,
    /// Key generation time (verifying and proving keys).
    pub(crate) keygen: Duration,
}

impl Compiled {
    pub(crate) fn vk(&self) -> &VerifyingKey<EqAffine> {
        self.pk.get_vk()
    }
}

/// The netlist of `program`: the lowering, then the public tensors' cells.
pub(crate) fn netlist(program: &Program) -> Result<(Net, Lowered<Var>), ProveError> {
    let mut net = Net::new();
    let lowered =
        zkmlops_plonkish::lower(program, &mut net).map_err(|e| e.into_prove_error(BACKEND))?;
    for id in public_tensor_ids(program) {
        net.public.extend_from_slice(lowered.wires(id));
    }
    let digest = program.digest();
    for (group, ids) in program.commitment_groups() {
        let mut values = Vec::new();
        for &id in &ids {
            let wires = lowered.wires(id).to_vec();
            if matches!(
                program.tensor(id).map(|d| &d.kind),
                Some(zkmlops_tensor::TensorKind::Computed)
            ) {
                // Inputs are proved i64 by the lowering; computed values are proved here, so
                // the packing below is injective.
                for &w in &wires {
                    net.range_check_shifted(w, 1i128 << 63, 64);
                }
            }
            values.extend(wires);
        }
        if values.is_empty() {
            return Err(ProveError::Unsupported {
                backend: BACKEND,
                feature: "committed tensors with no elements",
            });
        }
        let iv = crate::commit::initial(&digest, group, values.len());
        let words = values
            .chunks(crate::commit::WORD_VALUES)
            .map(|c| match *c {
                [v0, v1, v2, ..] => {
                    let t = net.lin(&[(1, v1), (1 << 64, v2)], 0);
                    net.lin(&[(1, v0), (1 << 64, t)], 0)
                }
                [v0, v1] => net.lin(&[(1, v0), (1 << 64, v1)], 0),
                [v0] => v0,
                // `chunks` yields no empty chunk.
                [] => net.constant(0),
            })
            .collect();
        net.commits.push(CommitPlan {
            iv,
            words,
            out: None,
        });
    }
    net.finish();
    Ok((net, lowered))
}

/// The smallest `k` whose `2^k` rows hold the netlist (and the Poseidon chains stacked after
/// it), the lookup table and the public inputs beside halo2's blinding rows.
pub(crate) fn size(net: &Net) -> Result<u32, ProveError> {
    let mut cs = ConstraintSystem::<Fp>::default();
    let minimum = if !net.hashes() {
        let _ = NetCircuit::<false>::configure(&mut cs);
        cs.minimum_rows()
    } else {
        let _ = NetCircuit::<true>::configure(&mut cs);
        cs.minimum_rows()
    };
    let hashes: usize = net.commits.iter().map(|c| c.words.len() + 1).sum();
    let needed = (net.rows.len() + 1 + hashes * ROWS_PER_HASH)
        .max(net.table_rows())
        .max(STATEMENT_ROWS + net.public.len() + net.commitment_count())
        + minimum;
    (MIN_K..=MAX_K)
        .find(|&k| (1usize << k) >= needed)
        .ok_or_else(|| too_large(needed))
}

fn too_large(rows: usize) -> ProveError {
    crate::backend_error(Halo2Error::TooLarge {
        rows,
        max: 1 << MAX_K,
    })
}

/// The commitment key for `2^k` rows: generators hashed to the curve from halo2's published
/// domain string (`Params::new`), shared by every circuit of that size. Kept in memory, and on
/// disk ([`crate::params_cache`]) for the sizes whose serialisation digest is pinned here.
pub(crate) fn params(k: u32) -> Arc<Params<EqAffine>> {
    type ParamCache = Mutex<Vec<(u32, Arc<Params<EqAffine>>)>>;
    static CACHE: OnceLock<ParamCache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    if let Ok(c) = cache.lock()
        && let Some((_, p)) = c.iter().find(|(kk, _)| *kk == k)
    {
        return Arc::clone(p);
    }
    let p = Arc::new(crate::params_cache::load_or_generate(k));
    if let Ok(mut c) = cache.lock() {
        c.push((k, Arc::clone(&p)));
    }
    p
}

/// The verifying key of `net` over `2^k` rows.
fn vk_of<const HASH: bool>(net: &Net, k: u32) -> Result<VerifyingKey<EqAffine>, Error> {
    let circuit = NetCircuit::<HASH> {
        net,
        values: None,
        overrides: &[],
    };
    keygen_vk(&params(k), &circuit)
}

/// The proving key of `net` over `2^k` rows, from its verifying key.
fn pk_of<const HASH: bool>(
    net: &Net,
    k: u32,
    vk: VerifyingKey<EqAffine>,
) -> Result<ProvingKey<EqAffine>, Error> {
    let circuit = NetCircuit::<HASH> {
        net,
        values: None,
        overrides: &[],
    };
    keygen_pk(&params(k), vk, &circuit)
}

/// The verifying key of `net` and its size: from the size the rows give, one size up while
/// halo2's layout needs more.
fn verifying_key(net: &Net) -> Result<(u32, VerifyingKey<EqAffine>), ProveError> {
    let mut k = size(net)?;
    loop {
        let made = catch_unwind(AssertUnwindSafe(|| {
            if !net.hashes() {
                vk_of::<false>(net, k)
            } else {
                vk_of::<true>(net, k)
            }
        }))
        .map_err(|_| crate::backend_error(Halo2Error::Panicked("key generation")))?;
        match made {
            Ok(vk) => return Ok((k, vk)),
            Err(Error::NotEnoughRowsAvailable { .. }) if k < MAX_K => k += 1,
            Err(Error::NotEnoughRowsAvailable { .. }) => return Err(too_large(1 << (MAX_K + 1))),
            Err(e) => return Err(crate::backend_error(Halo2Error::Keygen(format!("{e:?}")))),
        }
    }
}

/// Compile `program`: netlist, size, keys (from the Program alone).
pub(crate) fn compile(program: &Program) -> Result<Compiled, ProveError> {
    let (net, lowered) = netlist(program)?;
    let start = Instant::now();
    let (k, vk) = verifying_key(&net)?;
    let pk = catch_unwind(AssertUnwindSafe(|| {
        if !net.hashes() {
            pk_of::<false>(&net, k, vk)
        } else {
            pk_of::<true>(&net, k, vk)
        }
    }))
    .map_err(|_| crate::backend_error(Halo2Error::Panicked("key generation")))?
    .map_err(|e| crate::backend_error(Halo2Error::Keygen(format!("{e:?}"))))?;
    let keygen = start.elapsed();
    Ok(Compiled {
        net,
        lowered,
        k,
        pk,
        keygen,
    })
}

/// What a verifier needs of a Program's circuit: its size, its public-input count and the
/// verifying key (no proving key: a fresh verifier skips its generation).
pub(crate) struct VerifierKey {
    pub(crate) k: u32,
    pub(crate) vk: VerifyingKey<EqAffine>,
}

/// The verifier's key of `program`: the prover's when this process compiled it, else the
/// verifying key alone (cached like [`compile_cached`]).
pub(crate) fn verifier_cached(program: &Program) -> Result<Arc<VerifierKey>, ProveError> {
    type VkCache = Mutex<Vec<(zkmlops_tensor::ProgramDigest, Arc<VerifierKey>)>>;
    static CACHE: OnceLock<VkCache> = OnceLock::new();
    let key = program.digest();
    if let Some(c) = compiled_if_cached(&key) {
        return Ok(Arc::new(VerifierKey {
            k: c.k,
            vk: c.vk().clone(),
        }));
    }
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    if let Ok(c) = cache.lock()
        && let Some((_, v)) = c.iter().find(|(k, _)| *k == key)
    {
        return Ok(Arc::clone(v));
    }
    let (net, _) = netlist(program)?;
    let (k, vk) = verifying_key(&net)?;
    let v = Arc::new(VerifierKey { k, vk });
    if let Ok(mut c) = cache.lock() {
        c.push((key, Arc::clone(&v)));
        while c.len() > CACHE_ENTRIES {
            c.remove(0);
        }
    }
    Ok(v)
}

/// Compiled circuits kept for reuse (keys are most of a small proof's cost), most recent last.
const CACHE_ENTRIES: usize = 4;

type Cache = Mutex<Vec<(zkmlops_tensor::ProgramDigest, Arc<Compiled>)>>;

/// [`compile`] through a small cache keyed by the Program digest (the circuit is a function of
/// the Program alone).
fn compile_cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Vec::new()))
}

fn compiled_if_cached(key: &zkmlops_tensor::ProgramDigest) -> Option<Arc<Compiled>> {
    let c = compile_cache().lock().ok()?;
    c.iter().find(|(k, _)| k == key).map(|(_, c)| Arc::clone(c))
}

pub(crate) fn compile_cached(program: &Program) -> Result<Arc<Compiled>, ProveError> {
    let cache = compile_cache();
    let key = program.digest();
    if let Ok(mut c) = cache.lock()
        && let Some(at) = c.iter().position(|(k, _)| *k == key)
    {
        let entry = c.remove(at);
        let compiled = Arc::clone(&entry.1);
        c.push(entry);
        return Ok(compiled);
    }
    let compiled = Arc::new(compile(program)?);
    if let Ok(mut c) = cache.lock() {
        c.push((key, Arc::clone(&compiled)));
        while c.len() > CACHE_ENTRIES {
            c.remove(0);
        }
    }
    Ok(compiled)
}

/// The prover's checks of the ranges `program`'s circuit proves, from the compiled circuit when
/// this process has it, else from the lowering alone (no keys).
pub(crate) fn check_limits(program: &Program, witness: &Witness) -> Result<(), ProveError> {
    let checked = match compiled_if_cached(&program.digest()) {
        Some(c) => c.lowered.check_limits(program, witness),
        None => netlist(program)?.1.check_limits(program, witness),
    };
    checked.map_err(|e| e.into_prove_error(BACKEND))
}

impl Compiled {
    /// Every variable's value: inputs from `witness`, hints as given.
    pub(crate) fn values(
        &self,
        witness: &Witness,
        hints: &[(&'static str, Vec<i128>)],
    ) -> Result<Vec<Fp>, ProveError> {
        let assigned = self
            .lowered
            .assignments(witness, hints)
            .map_err(|id: TensorId| {
                ProveError::Statement(zkmlops_proof::StatementError::MissingTensor { id })
            })?;
        Ok(self.net.evaluate(&assigned))
    }
}
