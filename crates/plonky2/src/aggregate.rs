//! Recursive aggregation: many plonky2 proofs (one preset) folded into one small proof.
//!
//! The tree:
//! - a **leaf** circuit per two members (the last alone when their number is odd) verifies each
//!   member's proof inside the circuit (plonky2's recursive verifier, the member's verifying key
//!   as a witness), proves the second starts where the first ended when it links in, and
//!   exposes `digest` (`d_m = H(H(member public inputs) ‖ H(member verifying key))` for a single
//!   member, `H(d_1 ‖ d_2)` for two), the first member's `in` and the last one's `out` link
//!   commitments (four limbs each, zeros when absent) and a `linked` flag (the first member
//!   links in); two proofs of these small circuits fit in the 2^14 rows one needs;
//! - a **node** circuit verifies two children (or carries one up) and exposes
//!   `digest = H(d_left ‖ H(vk_left) ‖ d_right ‖ H(vk_right))`, the left child's `in` and
//!   `linked`, the right child's `out`, and enforces the link between them:
//!   `linked_right * (out_left - in_right) = 0` limb by limb;
//! - a **root** circuit verifies the top node with a higher-rate configuration (blowup 2^4, 21
//!   queries, 16 bits of proof of work: the same 100 conjectured bits as the presets, 4 x 21 +
//!   16) so that the final proof is smaller (about 105 KB against 130 KB) and fast to verify.
//!   Blowup 2^7 with 12 queries gives 70 KB but took 32 s instead of 4.5 s to build and prove
//!   on the 2-core machine (docs/benchmarks.md).
//!
//! Every circuit takes its children's verifying keys as witnesses and binds them into the
//! digest, so circuits are shared by every node of one shape. The verifier derives the same
//! circuits from the members' Programs (no key is trusted from the prover; what it built once
//! it keeps as verifier keys, [`crate::keys`], so a later verification reads instead of
//! rebuilding), recomputes every digest natively from the members' statements, and checks the
//! root proof against them: a
//! dropped, swapped, foreign or altered member changes the digest; a broken link makes the
//! circuit unsatisfiable.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock};

use plonky2::field::types::{Field, PrimeField64};
use plonky2::fri::FriConfig;
use plonky2::hash::hash_types::HashOutTarget;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{
    CircuitConfig, CircuitData, CommonCircuitData, VerifierCircuitTarget, VerifierOnlyCircuitData,
};
use plonky2::plonk::proof::{ProofWithPublicInputs, ProofWithPublicInputsTarget};
use zkmlops_proof::{
    AGGREGATE_VERSION, AggregateEnvelope, AggregateError, AggregateInput, AggregateMember, Backend,
    BackendParams, EnvelopeError, ProveError, VerifiedStatement, VerifyError, VerifyPolicy,
    check_links,
};
use zkmlops_tensor::Program;

use crate::circuit::{C, Compiled, D, F, STATEMENT_LIMBS, compile_cached};
use crate::keys::{self, VerifierKey, common_key, hash, vk_hash};
use crate::{
    BACKEND, Plonky2Backend, Plonky2Error, Plonky2Preset, backend_error, decode_proof, member_key,
    params_of, public_inputs, verify_checks,
};

/// Most members one aggregate takes (a tree of depth 10).
pub const MAX_MEMBERS: usize = 1024;

/// Public inputs of every aggregation circuit: digest, `in`, `out`, `linked`.
const EXPOSED: usize = 13;

/// What an aggregation proof exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Exposed {
    digest: [F; 4],
    input: [F; 4],
    output: [F; 4],
    linked: bool,
}

impl Exposed {
    fn to_vec(self) -> Vec<F> {
        let mut v = Vec::with_capacity(EXPOSED);
        v.extend(self.digest);
        v.extend(self.input);
        v.extend(self.output);
        v.push(F::from_bool(self.linked));
        v
    }
}

/// One aggregation circuit and the targets of the proofs it verifies.
struct AggCircuit {
    data: CircuitData<F, C, D>,
    children: Vec<(ProofWithPublicInputsTarget<D>, VerifierCircuitTarget)>,
    /// [`common_key`] of its common data.
    key: [F; 4],
}

/// A child of a node as the node's circuit key sees it: its common-data key (the prover's
/// circuits and the verifier's keys alike).
trait Child {
    fn common_key(&self) -> [F; 4];
}

impl Child for AggCircuit {
    fn common_key(&self) -> [F; 4] {
        self.key
    }
}

impl Child for VerifierKey {
    fn common_key(&self) -> [F; 4] {
        self.common_key
    }
}

impl AggCircuit {
    fn new(
        data: CircuitData<F, C, D>,
        children: Vec<(ProofWithPublicInputsTarget<D>, VerifierCircuitTarget)>,
    ) -> Self {
        let key = common_key(&data.common);
        AggCircuit {
            data,
            children,
            key,
        }
    }
}

/// The configuration of the leaf and node layers (the preset's), or of the root.
fn layer_config(zero_knowledge: bool, root: bool) -> CircuitConfig {
    let base = Plonky2Preset { zero_knowledge }.config();
    if root {
        CircuitConfig {
            fri_config: FriConfig {
                rate_bits: 4,
                num_query_rounds: 21,
                proof_of_work_bits: 16,
                ..base.fri_config.clone()
            },
            ..base
        }
    } else {
        base
    }
}

/// The parameters of an aggregate made from members of `preset`.
#[must_use]
pub fn aggregate_params(preset: Plonky2Preset) -> BackendParams {
    params_of(
        &layer_config(preset.zero_knowledge, true),
        preset.name(),
        preset.zero_knowledge,
    )
}

fn vk_hash_target(b: &mut CircuitBuilder<F, D>, vt: &VerifierCircuitTarget) -> HashOutTarget {
    let mut parts = vt.circuit_digest.elements.to_vec();
    for h in &vt.constants_sigmas_cap.0 {
        parts.extend(h.elements);
    }
    b.hash_n_to_hash_no_pad::<PoseidonHash>(parts)
}

fn four(v: &[F], at: usize) -> Option<[F; 4]> {
    v.get(at..at + 4)?.try_into().ok()
}

fn four_t(v: &[Target], at: usize) -> Option<[Target; 4]> {
    v.get(at..at + 4)?.try_into().ok()
}

/// Where a member's link commitments sit among its public inputs.
fn link_positions(
    index: usize,
    m: &AggregateMember,
) -> Result<(Option<usize>, Option<usize>), AggregateError> {
    let base = STATEMENT_LIMBS
        + m.statement
            .public
            .iter()
            .map(|p| p.values.len())
            .sum::<usize>();
    let at = |link: Option<u16>| -> Result<Option<usize>, AggregateError> {
        link.map(|k| {
            if usize::from(k) < m.statement.commitments.len() {
                Ok(base + 4 * usize::from(k))
            } else {
                Err(AggregateError::LinkIndex {
                    index,
                    link: k,
                    commitments: m.statement.commitments.len(),
                })
            }
        })
        .transpose()
    };
    Ok((at(m.links.link_in)?, at(m.links.link_out)?))
}

/// A member as its leaf sees it: its circuit's common-data key and vk hash, its public inputs
/// and link positions.
#[derive(Clone)]
struct Member {
    common_key: [F; 4],
    vk_hash: [F; 4],
    pis: Vec<F>,
    input: Option<usize>,
    output: Option<usize>,
}

impl Member {
    fn compiled(compiled: &Compiled, pis: Vec<F>, links: (Option<usize>, Option<usize>)) -> Self {
        Member {
            common_key: *compiled
                .common_key
                .get_or_init(|| common_key(&compiled.data.common)),
            vk_hash: vk_hash(&compiled.data.verifier_only),
            pis,
            input: links.0,
            output: links.1,
        }
    }
}

/// The native value of a leaf's public inputs: per member `H(H(public inputs) ‖ H(vk))`; the
/// leaf's digest is that of its one member, or `H(d_1 ‖ d_2)`.
fn leaf_exposed(members: &[Member]) -> Option<Exposed> {
    let mut digests = Vec::with_capacity(members.len());
    for m in members {
        let mut parts = hash(&m.pis).to_vec();
        parts.extend(m.vk_hash);
        digests.push(hash(&parts));
    }
    let (first, last) = (members.first()?, members.last()?);
    let pick = |m: &Member, at: Option<usize>| at.map_or(Some([F::ZERO; 4]), |i| four(&m.pis, i));
    Some(Exposed {
        digest: match digests.as_slice() {
            [one] => *one,
            more => hash(&more.concat()),
        },
        input: pick(first, first.input)?,
        output: pick(last, last.output)?,
        linked: first.input.is_some(),
    })
}

/// The native value of a node's (or the root's) public inputs.
fn node_exposed(children: &[(Exposed, [F; 4])]) -> Option<Exposed> {
    let (first, _) = children.first()?;
    let (last, _) = children.last()?;
    let parts: Vec<F> = children
        .iter()
        .flat_map(|(e, vk)| e.digest.into_iter().chain(*vk))
        .collect();
    Some(Exposed {
        digest: hash(&parts),
        input: first.input,
        output: last.output,
        linked: first.linked,
    })
}

fn build_leaf(
    members: &[(&CommonCircuitData<F, D>, Option<usize>, Option<usize>)],
    config: CircuitConfig,
) -> Option<AggCircuit> {
    let mut b = CircuitBuilder::<F, D>::new(config);
    let zero = b.zero();
    let mut kids = Vec::with_capacity(members.len());
    let mut digests = Vec::with_capacity(members.len());
    let mut links = Vec::with_capacity(members.len());
    for &(inner, input, output) in members {
        let pt = b.add_virtual_proof_with_pis(inner);
        let vt = b.add_virtual_verifier_data(inner.config.fri_config.cap_height);
        b.verify_proof::<C>(&pt, &vt, inner);
        let pis = b.hash_n_to_hash_no_pad::<PoseidonHash>(pt.public_inputs.clone());
        let vk = vk_hash_target(&mut b, &vt);
        let mut parts = pis.elements.to_vec();
        parts.extend(vk.elements);
        digests.push(b.hash_n_to_hash_no_pad::<PoseidonHash>(parts));
        let pick = |at: Option<usize>| at.map_or(Some([zero; 4]), |i| four_t(&pt.public_inputs, i));
        links.push((pick(input)?, pick(output)?, input.is_some()));
        kids.push((pt, vt));
    }
    // Inside the leaf: the second member starts where the first ended (when it links in).
    for pair in links.windows(2) {
        let [(_, out, _), (inp, _, true)] = pair else {
            continue;
        };
        for (o, i) in out.iter().zip(inp) {
            b.connect(*o, *i);
        }
    }
    let digest = match digests.as_slice() {
        [one] => *one,
        more => {
            b.hash_n_to_hash_no_pad::<PoseidonHash>(more.iter().flat_map(|h| h.elements).collect())
        }
    };
    let ((inp, _, linked), (_, out, _)) = (links.first()?, links.last()?);
    let linked = b.constant(F::from_bool(*linked));
    b.register_public_inputs(&digest.elements);
    b.register_public_inputs(inp);
    b.register_public_inputs(out);
    b.register_public_input(linked);
    Some(AggCircuit::new(b.build::<C>(), kids))
}

fn build_node(children: &[&CommonCircuitData<F, D>], config: CircuitConfig) -> Option<AggCircuit> {
    let mut b = CircuitBuilder::<F, D>::new(config);
    let mut kids = Vec::with_capacity(children.len());
    let mut parts = Vec::new();
    for cd in children {
        let pt = b.add_virtual_proof_with_pis(cd);
        let vt = b.add_virtual_verifier_data(cd.config.fri_config.cap_height);
        b.verify_proof::<C>(&pt, &vt, cd);
        parts.extend(four_t(&pt.public_inputs, 0)?);
        parts.extend(vk_hash_target(&mut b, &vt).elements);
        kids.push((pt, vt));
    }
    let digest = b.hash_n_to_hash_no_pad::<PoseidonHash>(parts);
    let first = &kids.first()?.0.public_inputs;
    let last = &kids.last()?.0.public_inputs;
    for pair in kids.windows(2) {
        let [(left, _), (right, _)] = pair else {
            return None;
        };
        let linked = *right.public_inputs.get(12)?;
        let out = four_t(&left.public_inputs, 8)?;
        let inp = four_t(&right.public_inputs, 4)?;
        for (o, i) in out.into_iter().zip(inp) {
            let diff = b.sub(o, i);
            let gated = b.mul(diff, linked);
            b.assert_zero(gated);
        }
    }
    let (inp, out, linked) = (four_t(first, 4)?, four_t(last, 8)?, *first.get(12)?);
    b.register_public_inputs(&digest.elements);
    b.register_public_inputs(&inp);
    b.register_public_inputs(&out);
    b.register_public_input(linked);
    Some(AggCircuit::new(b.build::<C>(), kids))
}

type CircuitKey = (&'static str, bool, Vec<Option<usize>>, Vec<[F; 4]>);

/// Aggregation circuits by shape (kind, preset, link positions, children's common data):
/// every node of one shape shares its circuit, in the prover and in the verifier.
fn circuit(
    key: CircuitKey,
    build: impl FnOnce() -> Option<AggCircuit>,
) -> Result<Arc<AggCircuit>, Plonky2Error> {
    type Cache = Mutex<Vec<(CircuitKey, Arc<AggCircuit>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    if let Ok(c) = cache.lock()
        && let Some((_, found)) = c.iter().find(|(k, _)| *k == key)
    {
        return Ok(Arc::clone(found));
    }
    let built = catch_unwind(AssertUnwindSafe(build))
        .map_err(|_| Plonky2Error::Panicked("aggregation circuit builder"))?
        .ok_or(Plonky2Error::Prover("aggregation circuit shape".into()))?;
    let built = Arc::new(built);
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 16 {
            c.remove(0);
        }
        c.push((key, Arc::clone(&built)));
    }
    Ok(built)
}

fn leaf_key(members: &[Member], zk: bool) -> CircuitKey {
    (
        "leaf",
        zk,
        members.iter().flat_map(|m| [m.input, m.output]).collect(),
        members.iter().map(|m| m.common_key).collect(),
    )
}

fn node_key<K: Child + ?Sized>(children: &[&K], zk: bool, root: bool) -> CircuitKey {
    let kind = if root { "root" } else { "node" };
    (
        kind,
        zk,
        Vec::new(),
        children.iter().map(|c| c.common_key()).collect(),
    )
}

/// The on-disk key-cache entry of an aggregation circuit: its shape, in bytes.
fn entry(key: &CircuitKey) -> [F; 4] {
    let (kind, zk, positions, children) = key;
    let mut bytes = vec![u8::from(*zk)];
    for p in positions {
        bytes.push(u8::from(p.is_some()));
        bytes.extend(
            u64::try_from(p.unwrap_or(0))
                .unwrap_or(u64::MAX)
                .to_le_bytes(),
        );
    }
    bytes.push(0xff);
    for limb in children.iter().flatten() {
        bytes.extend(limb.to_canonical_u64().to_le_bytes());
    }
    keys::entry_key(kind, &bytes)
}

fn leaf_circuit(
    members: &[(Arc<Compiled>, Member)],
    zk: bool,
) -> Result<Arc<AggCircuit>, Plonky2Error> {
    let ms: Vec<Member> = members.iter().map(|(_, m)| m.clone()).collect();
    let shapes: Vec<_> = members
        .iter()
        .map(|(c, m)| (&c.data.common, m.input, m.output))
        .collect();
    circuit(leaf_key(&ms, zk), || {
        build_leaf(&shapes, layer_config(zk, false))
    })
}

fn node_circuit(
    children: &[&AggCircuit],
    zk: bool,
    root: bool,
) -> Result<Arc<AggCircuit>, Plonky2Error> {
    let cds: Vec<&CommonCircuitData<F, D>> = children.iter().map(|c| &c.data.common).collect();
    circuit(node_key(children, zk, root), || {
        build_node(&cds, layer_config(zk, root))
    })
}

/// A proved layer element: its proof, its circuit, what it exposes.
struct Proved {
    proof: ProofWithPublicInputs<F, C, D>,
    circuit: Arc<AggCircuit>,
}

fn prove_circuit(
    circuit: &AggCircuit,
    children: &[(
        &ProofWithPublicInputs<F, C, D>,
        &VerifierOnlyCircuitData<C, D>,
    )],
) -> Result<ProofWithPublicInputs<F, C, D>, Plonky2Error> {
    let mut pw = PartialWitness::new();
    for ((pt, vt), (proof, vd)) in circuit.children.iter().zip(children) {
        pw.set_proof_with_pis_target(pt, proof)
            .map_err(|e| Plonky2Error::Prover(e.to_string()))?;
        pw.set_verifier_data_target(vt, vd)
            .map_err(|e| Plonky2Error::Prover(e.to_string()))?;
    }
    catch_unwind(AssertUnwindSafe(|| circuit.data.prove(pw)))
        .map_err(|_| Plonky2Error::Panicked("aggregation prover"))?
        .map_err(|e| Plonky2Error::Prover(e.to_string()))
}

/// Pair up a layer: `[a, b, c, d, e]` -> `[[a, b], [c, d], [e]]`.
fn pairs<T>(layer: Vec<T>) -> Vec<Vec<T>> {
    let mut out = Vec::with_capacity(layer.len().div_ceil(2));
    let mut it = layer.into_iter();
    while let Some(a) = it.next() {
        out.push(match it.next() {
            Some(b) => vec![a, b],
            None => vec![a],
        });
    }
    out
}

/// Check the members: count, backend, one preset, parameters, links.
fn check_members(
    backend_of: impl Fn(usize) -> zkmlops_proof::BackendId,
    members: &[AggregateMember],
) -> Result<Plonky2Preset, AggregateError> {
    let first = members.first().ok_or(AggregateError::Empty)?;
    if members.len() > MAX_MEMBERS {
        return Err(AggregateError::TooMany {
            backend: BACKEND,
            max: MAX_MEMBERS,
            found: members.len(),
        });
    }
    for (index, m) in members.iter().enumerate() {
        let found = backend_of(index);
        if found != BACKEND {
            return Err(AggregateError::Backend {
                index,
                expected: BACKEND,
                found,
            });
        }
        if m.params.preset != first.params.preset {
            return Err(AggregateError::MixedPresets {
                index,
                expected: first.params.preset.clone(),
                found: m.params.preset.clone(),
            });
        }
    }
    check_links(members)?;
    Plonky2Preset::named(&first.params.preset).ok_or_else(|| AggregateError::UnknownPreset {
        backend: BACKEND,
        preset: first.params.preset.clone(),
    })
}

fn member_of(input: &AggregateInput<'_>) -> AggregateMember {
    AggregateMember {
        params: input.envelope.params.clone(),
        statement: input.envelope.statement.clone(),
        links: input.links,
    }
}

/// Aggregate (see the module docs). `checked = false` skips the native checks of the members
/// and of the links (the cheating prover of the tests): the circuits must still refuse.
pub(crate) fn aggregate(
    inputs: &[AggregateInput<'_>],
    checked: bool,
) -> Result<AggregateEnvelope, ProveError> {
    let members: Vec<AggregateMember> = inputs.iter().map(member_of).collect();
    let preset = if checked {
        let preset = check_members(
            |i| {
                inputs
                    .get(i)
                    .map_or(BACKEND, |x| x.envelope.backend.clone())
            },
            &members,
        )?;
        let lenient = VerifyPolicy {
            min_security_bits: 0,
            ..VerifyPolicy::default()
        };
        for (index, input) in inputs.iter().enumerate() {
            Plonky2Backend
                .verify(input.program, input.envelope, &lenient)
                .map_err(|e| AggregateError::MemberRejected {
                    index,
                    reason: e.to_string(),
                })?;
        }
        preset
    } else {
        let first = members.first().ok_or(AggregateError::Empty)?;
        Plonky2Preset::named(&first.params.preset).ok_or_else(|| AggregateError::UnknownPreset {
            backend: BACKEND,
            preset: first.params.preset.clone(),
        })?
    };
    let zk = preset.zero_knowledge;
    let err = backend_error;
    // Leaves two members at a time: only two members' circuits are held at once.
    let mut layer: Vec<Proved> = Vec::with_capacity(inputs.len().div_ceil(2));
    for (pair, (chunk, ms)) in inputs.chunks(2).zip(members.chunks(2)).enumerate() {
        let mut group = Vec::with_capacity(2);
        let mut proofs = Vec::with_capacity(2);
        for (j, (input, m)) in chunk.iter().zip(ms).enumerate() {
            let index = 2 * pair + j;
            let compiled = compile_cached(input.program, zk, preset.config())?;
            let proof = decode_proof(&input.envelope.proof, &compiled.data.common).map_err(err)?;
            let pis =
                public_inputs(&m.statement, &m.params).ok_or(AggregateError::MemberRejected {
                    index,
                    reason: "a commitment that is not a digest".into(),
                })?;
            let links = link_positions(index, m)?;
            proofs.push(ProofWithPublicInputs {
                proof,
                public_inputs: pis.clone(),
            });
            let member = Member::compiled(&compiled, pis, links);
            group.push((compiled, member));
        }
        let leaf = leaf_circuit(&group, zk).map_err(err)?;
        let children: Vec<_> = proofs
            .iter()
            .zip(&group)
            .map(|(p, (c, _))| (p, &c.data.verifier_only))
            .collect();
        let proof = prove_circuit(&leaf, &children).map_err(err)?;
        layer.push(Proved {
            proof,
            circuit: leaf,
        });
    }
    while layer.len() > 1 {
        let mut next = Vec::with_capacity(layer.len().div_ceil(2));
        for group in pairs(layer) {
            next.push(prove_node(&group, zk, false).map_err(err)?);
        }
        layer = next;
    }
    let top = layer.pop().ok_or(AggregateError::Empty)?;
    let root = prove_node(&[top], zk, true).map_err(err)?;
    let mut proof = Vec::new();
    plonky2::util::serialization::Write::write_proof(&mut proof, &root.proof.proof)
        .map_err(|_| err(Plonky2Error::Prover("proof serialisation".into())))?;
    Ok(AggregateEnvelope {
        version: AGGREGATE_VERSION,
        backend: BACKEND,
        params: aggregate_params(preset),
        members,
        proof,
    })
}

fn prove_node(group: &[Proved], zk: bool, root: bool) -> Result<Proved, Plonky2Error> {
    let kids: Vec<&AggCircuit> = group.iter().map(|p| p.circuit.as_ref()).collect();
    let circuit = node_circuit(&kids, zk, root)?;
    let children: Vec<_> = group
        .iter()
        .map(|p| (&p.proof, &p.circuit.data.verifier_only))
        .collect();
    let proof = prove_circuit(&circuit, &children)?;
    Ok(Proved { proof, circuit })
}

/// Verify an aggregate (see the module docs).
pub(crate) fn verify_aggregate(
    programs: &[&Program],
    agg: &AggregateEnvelope,
    policy: &VerifyPolicy,
) -> Result<Vec<VerifiedStatement>, VerifyError> {
    if agg.version != AGGREGATE_VERSION {
        return Err(EnvelopeError::UnsupportedVersion {
            found: agg.version,
            supported: AGGREGATE_VERSION,
        }
        .into());
    }
    if agg.backend != BACKEND {
        return Err(VerifyError::WrongBackend {
            expected: BACKEND,
            found: agg.backend.clone(),
        });
    }
    if programs.len() != agg.members.len() {
        return Err(AggregateError::Count {
            members: agg.members.len(),
            programs: programs.len(),
        }
        .into());
    }
    let preset = check_members(|_| agg.backend.clone(), &agg.members)?;
    if agg.params != aggregate_params(preset) {
        return Err(VerifyError::Params { backend: BACKEND });
    }
    agg.validate()?;
    let outer = agg.outer_envelope().ok_or(AggregateError::Empty)?;
    policy.check(&outer)?;
    let shape = |e: Plonky2Error| VerifyError::ProofShape {
        backend: BACKEND,
        source: Box::new(e),
    };
    let zk = preset.zero_knowledge;
    let mut verified = Vec::with_capacity(programs.len());
    // Every check that needs no circuit first, then the circuits two members at a time.
    let mut shapes = Vec::with_capacity(programs.len());
    for (index, (program, env)) in programs.iter().zip(agg.member_envelopes()).enumerate() {
        if verify_checks(program, &env, policy)? != preset {
            return Err(VerifyError::Params { backend: BACKEND });
        }
        let m = agg.members.get(index).ok_or(AggregateError::Empty)?;
        let pis = public_inputs(&m.statement, &m.params).ok_or_else(|| {
            shape(Plonky2Error::Rejected(
                "a commitment that is not a digest".into(),
            ))
        })?;
        shapes.push((pis, link_positions(index, m)?));
        verified.push(VerifiedStatement {
            backend: BACKEND,
            params: env.params.clone(),
            statement: env.statement,
        });
    }
    // The circuits' keys: from memory, the key directory, or built (members from their
    // Programs, then every layer from the one below).
    let mut layer: Vec<(Exposed, Arc<VerifierKey>)> = Vec::with_capacity(programs.len());
    for (chunk, shape_chunk) in programs.chunks(2).zip(shapes.chunks(2)) {
        let mut group = Vec::with_capacity(2);
        for (program, (pis, (input, output))) in chunk.iter().zip(shape_chunk) {
            let key = member_key(program, preset, false)?;
            group.push(Member {
                common_key: key.common_key,
                vk_hash: key.vk_hash,
                pis: pis.clone(),
                input: *input,
                output: *output,
            });
        }
        let key = leaf_key(&group, zk);
        let leaf = keys::cached(entry(&key), false, || -> Result<_, VerifyError> {
            let full = chunk
                .iter()
                .map(|p| member_key(p, preset, true))
                .collect::<Result<Vec<_>, _>>()?;
            let mut shapes = Vec::with_capacity(full.len());
            for (k, m) in full.iter().zip(&group) {
                shapes.push((&k.data().map_err(shape)?.common, m.input, m.output));
            }
            let built = circuit(key, || build_leaf(&shapes, layer_config(zk, false)));
            Ok(built.map_err(shape)?.data.verifier_data())
        })?;
        let exposed = leaf_exposed(&group)
            .ok_or_else(|| shape(Plonky2Error::Rejected("link position".into())))?;
        layer.push((exposed, leaf));
    }
    while layer.len() > 1 {
        let mut next = Vec::with_capacity(layer.len().div_ceil(2));
        for group in pairs(layer) {
            next.push(expect_node(&group, zk, false).map_err(shape)?);
        }
        layer = next;
    }
    let top = layer.pop().ok_or(AggregateError::Empty)?;
    let (expected, root) = expect_node(&[top], zk, true).map_err(shape)?;
    let root = root.data().map_err(shape)?;
    let proof = decode_proof(&agg.proof, &root.common).map_err(shape)?;
    let with_inputs = ProofWithPublicInputs {
        proof,
        public_inputs: expected.to_vec(),
    };
    let rejected = |e: Plonky2Error| VerifyError::Rejected {
        backend: BACKEND,
        source: Box::new(e),
    };
    catch_unwind(AssertUnwindSafe(|| root.verify(with_inputs)))
        .map_err(|_| rejected(Plonky2Error::Panicked("verifier")))?
        .map_err(|e| rejected(Plonky2Error::Rejected(e.to_string())))?;
    Ok(verified)
}

/// The key of a node's circuit over `group` and the public inputs its proof must have.
fn expect_node(
    group: &[(Exposed, Arc<VerifierKey>)],
    zk: bool,
    root: bool,
) -> Result<(Exposed, Arc<VerifierKey>), Plonky2Error> {
    let kids: Vec<&VerifierKey> = group.iter().map(|(_, k)| k.as_ref()).collect();
    let key = node_key(&kids, zk, root);
    let circuit_key = keys::cached(entry(&key), root, || -> Result<_, Plonky2Error> {
        let mut cds = Vec::with_capacity(kids.len());
        for k in &kids {
            cds.push(&k.data()?.common);
        }
        let built = circuit(key, || build_node(&cds, layer_config(zk, root)))?;
        Ok(built.data.verifier_data())
    })?;
    let children: Vec<(Exposed, [F; 4])> = group.iter().map(|(e, k)| (*e, k.vk_hash)).collect();
    let exposed = node_exposed(&children)
        .ok_or(Plonky2Error::Rejected("an empty aggregation node".into()))?;
    Ok((exposed, circuit_key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use plonky2::hash::hash_types::HashOut;
    use plonky2::plonk::config::Hasher;

    #[test]
    fn pairs_carry_the_odd_one_up() {
        let p = pairs(vec![1, 2, 3, 4, 5]);
        assert_eq!(p, vec![vec![1, 2], vec![3, 4], vec![5]]);
        assert_eq!(pairs(vec![1]), vec![vec![1]]);
    }

    #[test]
    fn the_root_keeps_the_presets_security() {
        for p in Plonky2Preset::ALL {
            assert_eq!(aggregate_params(p).conjectured_security_bits, 100);
            assert_eq!(aggregate_params(p).zero_knowledge, p.zero_knowledge);
        }
    }

    #[test]
    fn hash_out_is_four_elements() {
        let h: HashOut<F> = PoseidonHash::hash_no_pad(&[F::ONE]);
        assert_eq!(h.elements, hash(&[F::ONE]));
    }
}
