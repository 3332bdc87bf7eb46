//! The netlist as a halo2 circuit: columns, the gate, the lookups, key generation and the
//! compiled-circuit cache.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::pasta::{EqAffine, Fp};
use halo2_proofs::plonk::{
    Advice, Circuit, Column, ConstraintSystem, Error, Expression, Fixed, Instance, ProvingKey,
    TableColumn, VerifyingKey, keygen_pk, keygen_vk,
};
use halo2_proofs::poly::Rotation;
use halo2_proofs::poly::commitment::Params;
use zkmlops_plonkish::Lowered;
use zkmlops_proof::{ProveError, public_tensor_ids};
use zkmlops_tensor::{Program, TensorId, Witness};

use crate::net::{FIRST_TABLE_TAG, LIMB_BITS, Net, Var, fp};
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
}

/// A netlist with (prover) or without (keys, verifier) its values.
pub(crate) struct NetCircuit<'a> {
    pub(crate) net: &'a Net,
    pub(crate) values: Option<&'a [Fp]>,
    /// Single cells `(row, column)` written with another value than their variable's (the
    /// cheating prover of the tests; empty otherwise).
    pub(crate) overrides: &'a [((usize, usize), Fp)],
}

impl Circuit<Fp> for NetCircuit<'_> {
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
        NetConfig {
            advice,
            q,
            range,
            table,
            lut,
            instance,
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
        let homes = layouter.assign_region(
            || "net",
            |mut region| {
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
                Ok(homes)
            },
        )?;
        for (i, v) in net.public.iter().enumerate() {
            let cell = homes[v.0 as usize].ok_or(Error::Synthesis)?;
            layouter.constrain_instance(cell, config.instance, STATEMENT_ROWS + i)?;
        }
        Ok(())
    }
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
    net.finish();
    Ok((net, lowered))
}

/// The smallest `k` whose `2^k` rows hold the netlist, the lookup table and the public inputs
/// beside halo2's blinding rows.
pub(crate) fn size(net: &Net) -> Result<u32, ProveError> {
    let mut cs = ConstraintSystem::<Fp>::default();
    let _ = NetCircuit::configure(&mut cs);
    let needed = (net.rows.len() + 1)
        .max(net.table_rows())
        .max(STATEMENT_ROWS + net.public.len())
        + cs.minimum_rows();
    let k = (MIN_K..=MAX_K)
        .find(|&k| (1usize << k) >= needed)
        .ok_or_else(|| {
            crate::backend_error(Halo2Error::TooLarge {
                rows: needed,
                max: 1 << MAX_K,
            })
        })?;
    Ok(k)
}

/// The commitment key for `2^k` rows: generators hashed to the curve from a published domain
/// string (`Params::new`), shared by every circuit of that size.
pub(crate) fn params(k: u32) -> Arc<Params<EqAffine>> {
    type ParamCache = Mutex<Vec<(u32, Arc<Params<EqAffine>>)>>;
    static CACHE: OnceLock<ParamCache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    if let Ok(c) = cache.lock()
        && let Some((_, p)) = c.iter().find(|(kk, _)| *kk == k)
    {
        return Arc::clone(p);
    }
    let p = Arc::new(Params::<EqAffine>::new(k));
    if let Ok(mut c) = cache.lock() {
        c.push((k, Arc::clone(&p)));
    }
    p
}

/// Compile `program`: netlist, size, keys (from the Program alone).
pub(crate) fn compile(program: &Program) -> Result<Compiled, ProveError> {
    let (net, lowered) = netlist(program)?;
    let k = size(&net)?;
    let params = params(k);
    let start = Instant::now();
    let circuit = NetCircuit {
        net: &net,
        values: None,
        overrides: &[],
    };
    let keys = catch_unwind(AssertUnwindSafe(|| {
        let vk = keygen_vk(&params, &circuit)?;
        keygen_pk(&params, vk, &circuit)
    }))
    .map_err(|_| crate::backend_error(Halo2Error::Panicked("key generation")))?
    .map_err(|e| crate::backend_error(Halo2Error::Keygen(format!("{e:?}"))))?;
    let keygen = start.elapsed();
    Ok(Compiled {
        net,
        lowered,
        k,
        pk: keys,
        keygen,
    })
}

/// Compiled circuits kept for reuse (keys are most of a small proof's cost), most recent last.
const CACHE_ENTRIES: usize = 4;

type Cache = Mutex<Vec<(zkmlops_tensor::ProgramDigest, Arc<Compiled>)>>;

/// [`compile`] through a small cache keyed by the Program digest (the circuit is a function of
/// the Program alone).
pub(crate) fn compile_cached(program: &Program) -> Result<Arc<Compiled>, ProveError> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
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

impl Compiled {
    /// The prover's checks of the ranges the circuit proves (typed errors naming the tensor).
    pub(crate) fn check_limits(
        &self,
        program: &Program,
        witness: &Witness,
    ) -> Result<(), ProveError> {
        self.lowered
            .check_limits(program, witness)
            .map_err(|e| e.into_prove_error(BACKEND))
    }

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
