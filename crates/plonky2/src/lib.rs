//! The plonky2 backend: a Program as a PLONK circuit over Goldilocks, proved with plonky2's FRI
//! (Poseidon hash), transparent and post-quantum, zero knowledge with the `-zk` preset.
//!
//! Each tensor element is a circuit target; the circuit is built from the Program alone, so the
//! verifier rebuilds it (no setup, no key from the prover) and keeps what it needs of it, its
//! verifier key, in memory and optionally in a key directory ([`keys`]): a later verification
//! reads the key instead of rebuilding the circuit. The statement (Program digest, stage, public
//! tensors, parameters) is hashed with plonky2's Poseidon into four field elements that open
//! the public inputs, followed by every public tensor's values: plonky2 hashes all public
//! inputs into its Fiat–Shamir transcript, and the verifier supplies them from the statement,
//! never from the proof.
//!
//! What it proves (declared in every preset's capabilities, `zkmlops backends`): every op of the
//! Program IR — matmul, gemm, conv2d (grouped too), add, sub, mul, division by a constant or a
//! tensor, rescale, ReLU, sum, mean, average and max pooling, reduce_max, argmax, square roots,
//! stable partition, every table lookup, data movement — and committed tensors
//! (`zkmlops-commit`'s Poseidon2 sponge in the circuit: the same digests as the FRI backend).
//! [`aggregate`]: many proofs of one preset folded into one by recursion, with the links between
//! consecutive members (a segment's end commitment is the next one's start) proved inside
//! ([`Backend::aggregate`], [`Backend::verify_aggregate`]).
//!
//! ```
//! use zkmlops_field::Scale;
//! use zkmlops_plonky2::Plonky2Backend;
//! use zkmlops_proof::{Backend, StageTag, VerifyPolicy};
//! use zkmlops_tensor::{Op, ProgramBuilder, Tensor, Visibility};
//!
//! let s = Scale::new(4)?;
//! let mut b = ProgramBuilder::new();
//! let x = b.input("x", &[1, 2], s, Visibility::Private);
//! let w = b.input("w", &[2, 2], s, Visibility::Private);
//! let y = b.op("y", Op::MatMul, &[x, w])?;
//! b.output(y, Visibility::Public)?;
//! let program = b.build()?;
//! let witness = program.evaluate(&[Tensor::matrix(&[[16, -8]])?, Tensor::matrix(&[[1, 2], [3, 4]])?])?;
//!
//! let envelope = Plonky2Backend.prove(&program, &witness, StageTag::Inference, "poseidon")?;
//! let verified = Plonky2Backend.verify(&program, &envelope, &VerifyPolicy::default())?;
//! assert_eq!(verified.statement.public[0].values, vec![16 - 24, 32 - 32]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod aggregate;
mod alg;
mod circuit;
mod dot_gate;
pub mod keys;
mod poseidon2;
mod poseidon2_gate;
mod range;

use std::panic::{AssertUnwindSafe, catch_unwind};

use plonky2::field::types::Field;
use plonky2::fri::reduction_strategies::FriReductionStrategy;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::plonk::circuit_data::CircuitConfig;
use plonky2::plonk::config::Hasher;
use plonky2::plonk::proof::ProofWithPublicInputs;
use plonky2::util::serialization::{Buffer, Read, Write};
use zkmlops_proof::{
    AggregateEnvelope, AggregateInput, Backend, BackendId, BackendParams, Capabilities,
    ENVELOPE_VERSION, FieldId, FriParams, HashId, OpSupport, PresetInfo, ProofEnvelope,
    ProtocolParams, ProveError, SetupReport, StageTag, Statement, VerifiedStatement, VerifyError,
    VerifyPolicy, check_supported, verify_preamble,
};
use zkmlops_tensor::{Program, Witness};

use circuit::{F, compile_cached, felt};

/// This backend's id.
pub const BACKEND: BackendId = BackendId::new_static("plonky2");

/// Domain separator of the statement digest.
const STATEMENT_DOMAIN: &[u8] = b"zkmlops/plonky2-statement/v1";

/// The plonky2 backend. Stateless; presets `poseidon` and `poseidon-zk`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plonky2Backend;

/// A preset: plonky2's standard recursion configuration, hiding or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plonky2Preset {
    /// Zero knowledge (blinded polynomials).
    pub zero_knowledge: bool,
}

impl Plonky2Preset {
    /// `poseidon`: transparent, not hiding.
    pub const POSEIDON: Plonky2Preset = Plonky2Preset {
        zero_knowledge: false,
    };
    /// `poseidon-zk`: zero knowledge.
    pub const POSEIDON_ZK: Plonky2Preset = Plonky2Preset {
        zero_knowledge: true,
    };
    /// Every preset.
    pub const ALL: [Plonky2Preset; 2] = [Plonky2Preset::POSEIDON, Plonky2Preset::POSEIDON_ZK];

    /// Its name.
    #[must_use]
    pub fn name(self) -> &'static str {
        if self.zero_knowledge {
            "poseidon-zk"
        } else {
            "poseidon"
        }
    }

    /// The circuit configuration.
    #[must_use]
    pub fn config(self) -> CircuitConfig {
        if self.zero_knowledge {
            // FRI folds by 4 down to a 4-coefficient final polynomial (plonky2's default: by 16
            // down to 32). plonky2 blinds a hiding circuit with one random row per value a
            // query opens, so fewer folding points and a shorter final polynomial mean far
            // fewer blinding rows: 4.97 s -> 1.29 s and 618 -> 190 MB for a 2.4K-MAC MLP, 10.1
            // s -> 5.1 s for the 84K-MAC one, proofs within 3% (docs/benchmarks.md). Rate,
            // queries and proof of work, hence the conjectured bits, are unchanged.
            let mut c = CircuitConfig::standard_recursion_zk_config();
            c.fri_config.reduction_strategy = FriReductionStrategy::ConstantArityBits(2, 2);
            c
        } else {
            CircuitConfig::standard_recursion_config()
        }
    }

    /// Conjectured security in bits: `rate_bits * queries + proof-of-work bits` (the usual
    /// FRI conjecture), capped by the extension field (128 bits) and the hash's collision
    /// resistance (Poseidon's 256-bit digest: 128 bits).
    #[must_use]
    pub fn conjectured_bits(self) -> u16 {
        conjectured_bits(&self.config())
    }

    /// The parameters every envelope of this preset carries.
    #[must_use]
    pub fn params(self) -> BackendParams {
        params_of(&self.config(), self.name(), self.zero_knowledge)
    }

    /// What the preset can do.
    #[must_use]
    pub fn capabilities(self) -> Capabilities {
        Capabilities {
            field: FieldId::GOLDILOCKS,
            hash: HashId::POSEIDON_GOLDILOCKS,
            commitment_scheme: Some(zkmlops_commit::SCHEME),
            transparent: true,
            post_quantum: true,
            zero_knowledge: self.zero_knowledge,
            aggregation: true,
            ops: OpSupport::Only(circuit::supported_features()),
        }
    }

    /// The preset as the boundary lists it.
    #[must_use]
    pub fn info(self) -> PresetInfo {
        let f = self.config().fri_config;
        PresetInfo {
            name: self.name().to_string(),
            description: format!(
                "plonky2 standard recursion config: Poseidon, blowup 2^{}, {} queries, {} pow bits; {}",
                f.rate_bits,
                f.num_query_rounds,
                f.proof_of_work_bits,
                if self.zero_knowledge {
                    "hiding (zero knowledge)"
                } else {
                    "transparent, not hiding"
                }
            ),
            capabilities: self.capabilities(),
        }
    }

    pub(crate) fn named(name: &str) -> Option<Self> {
        Plonky2Preset::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// `rate_bits * queries + proof-of-work bits`, capped at 128 (extension field, Poseidon
/// collisions).
pub(crate) fn conjectured_bits(config: &CircuitConfig) -> u16 {
    let f = &config.fri_config;
    let bits = f.rate_bits * f.num_query_rounds + f.proof_of_work_bits as usize;
    u16::try_from(bits.min(128)).unwrap_or(128)
}

/// The envelope parameters of a proof made with `config` under preset `name`.
pub(crate) fn params_of(config: &CircuitConfig, name: &str, zero_knowledge: bool) -> BackendParams {
    let f = &config.fri_config;
    let (arity, final_bits) = match f.reduction_strategy {
        plonky2::fri::reduction_strategies::FriReductionStrategy::ConstantArityBits(a, b) => (a, b),
        _ => (0, 0),
    };
    let small = |v: usize| u8::try_from(v).unwrap_or(u8::MAX);
    BackendParams {
        preset: name.to_string(),
        field: FieldId::GOLDILOCKS,
        extension_degree: 2,
        hash: HashId::POSEIDON_GOLDILOCKS,
        protocol: ProtocolParams::Fri(FriParams {
            log_blowup: small(f.rate_bits),
            num_queries: u16::try_from(f.num_query_rounds).unwrap_or(u16::MAX),
            query_pow_bits: small(f.proof_of_work_bits as usize),
            commit_pow_bits: 0,
            log_final_poly_len: small(final_bits),
            max_log_arity: small(arity),
        }),
        zero_knowledge,
        post_quantum: true,
        transparent: true,
        conjectured_security_bits: conjectured_bits(config),
        proven_security_bits: None,
    }
}

/// Why plonky2 refused or failed (carried inside the boundary's errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Plonky2Error {
    /// The prover failed (an inconsistent witness, or plonky2's own error).
    #[error("plonky2 prover: {0}")]
    Prover(String),
    /// The proof bytes do not decode for this circuit.
    #[error("the proof bytes do not decode for this circuit")]
    Decode,
    /// Bytes follow the proof.
    #[error("{0} trailing bytes after the proof")]
    TrailingBytes(usize),
    /// plonky2's verifier rejected the proof.
    #[error("plonky2 verifier: {0}")]
    Rejected(String),
    /// plonky2 panicked (caught).
    #[error("plonky2 panicked in the {0}")]
    Panicked(&'static str),
}

/// The statement digest as four field elements: plonky2's Poseidon over the domain, the
/// statement and the parameters, seven bytes per element.
pub(crate) fn statement_limbs(statement: &Statement, params: &BackendParams) -> Vec<F> {
    let mut bytes = STATEMENT_DOMAIN.to_vec();
    bytes.extend(postcard::to_allocvec(statement).unwrap_or_default());
    bytes.extend(postcard::to_allocvec(params).unwrap_or_default());
    let elements: Vec<F> = bytes
        .chunks(7)
        .map(|c| {
            let mut v = [0u8; 8];
            v[..c.len()].copy_from_slice(c);
            felt(i64::from_le_bytes(v))
        })
        .collect();
    PoseidonHash::hash_no_pad(&elements).elements.to_vec()
}

/// The public inputs a statement stands for: the digest, every public tensor's values, then
/// every commitment's four limbs; `None` for a digest that is not four canonical elements.
pub(crate) fn public_inputs(statement: &Statement, params: &BackendParams) -> Option<Vec<F>> {
    let mut v = statement_limbs(statement, params);
    for p in &statement.public {
        v.extend(p.values.iter().map(|&x| felt(x)));
    }
    for c in &statement.commitments {
        let d = zkmlops_commit::Digest::from_bytes(&c.digest).ok()?;
        v.extend(d.0.iter().map(|&l| F::from_canonical_u64(l)));
    }
    Some(v)
}

/// The statement of a witness: public tensors and the commitments `zkmlops-commit` computes
/// (the circuit proves the same sponge).
pub(crate) fn statement_of(
    program: &Program,
    witness: &Witness,
    stage: StageTag,
) -> Result<Statement, ProveError> {
    let commitments = zkmlops_commit::program_commitments(program, witness)
        .map_err(|id| ProveError::Statement(zkmlops_proof::StatementError::MissingTensor { id }))?;
    Ok(
        Statement::from_witness(program, witness, stage)?.with_commitments(
            zkmlops_commit::SCHEME,
            commitments.into_iter().map(|(id, d)| (id, d.to_bytes())),
        ),
    )
}

pub(crate) fn backend_error(e: Plonky2Error) -> ProveError {
    ProveError::Backend {
        backend: BACKEND,
        source: Box::new(e),
    }
}

impl Plonky2Backend {
    fn preset_named(name: &str) -> Result<Plonky2Preset, ProveError> {
        Plonky2Preset::named(name).ok_or_else(|| ProveError::UnknownPreset {
            backend: BACKEND,
            preset: name.to_string(),
            known: Plonky2Preset::ALL
                .iter()
                .map(|p| p.name().to_string())
                .collect(),
        })
    }

    /// Prove with a typed preset.
    ///
    /// # Errors
    /// As [`Backend::prove`].
    pub fn prove_with(
        &self,
        program: &Program,
        witness: &Witness,
        stage: StageTag,
        preset: Plonky2Preset,
    ) -> Result<ProofEnvelope, ProveError> {
        check_supported(&BACKEND, &preset.info(), program)?;
        program.check_witness(witness)?;
        let compiled = compile_cached(program, preset.zero_knowledge, preset.config())?;
        compiled.check_limits(program, witness)?;
        prove_inner(program, witness, stage, preset, &mut |_| {})
    }
}

/// Prove without checking the witness, with the hint values passed through `edit` (the
/// honest prover passes them unchanged; the cheating prover of the tests does not).
pub(crate) fn prove_inner(
    program: &Program,
    witness: &Witness,
    stage: StageTag,
    preset: Plonky2Preset,
    edit: &mut dyn FnMut(&mut circuit::HintValues),
) -> Result<ProofEnvelope, ProveError> {
    {
        let compiled = compile_cached(program, preset.zero_knowledge, preset.config())?;
        let params = preset.params();
        let statement = statement_of(program, witness, stage)?;
        let mut hints = compiled.hint_values(witness);
        edit(&mut hints);
        let pw = compiled.assign(witness, &statement_limbs(&statement, &params), &hints)?;
        let proved = catch_unwind(AssertUnwindSafe(|| compiled.data.prove(pw)));
        envelope(proved, params, statement)
    }
}

/// The envelope of a plonky2 proving result (caught panic, plonky2 error, or proof).
pub(crate) fn envelope<E: std::fmt::Display>(
    proved: std::thread::Result<Result<ProofWithPublicInputs<F, circuit::C, { circuit::D }>, E>>,
    params: BackendParams,
    statement: Statement,
) -> Result<ProofEnvelope, ProveError> {
    let proved = proved
        .map_err(|_| backend_error(Plonky2Error::Panicked("prover")))?
        .map_err(|e| backend_error(Plonky2Error::Prover(e.to_string())))?;
    let mut proof = Vec::new();
    proof
        .write_proof(&proved.proof)
        .map_err(|_| backend_error(Plonky2Error::Prover("proof serialisation".into())))?;
    Ok(ProofEnvelope {
        version: ENVELOPE_VERSION,
        backend: BACKEND,
        params,
        statement,
        proof,
    })
}

/// Every check of [`Backend::verify`] before any circuit is built: the boundary's preamble,
/// the commitment scheme, parameters exactly those of a preset, the preset's supported ops.
/// Returns the preset. Shared by single and aggregated verification.
pub(crate) fn verify_checks(
    program: &Program,
    env: &ProofEnvelope,
    policy: &VerifyPolicy,
) -> Result<Plonky2Preset, VerifyError> {
    verify_preamble(&BACKEND, program, env, policy)?;
    if !env.statement.commitments.is_empty()
        && env.statement.commitment_scheme != Some(zkmlops_commit::SCHEME)
    {
        return Err(VerifyError::Statement(
            zkmlops_proof::StatementError::Scheme,
        ));
    }
    let preset =
        Plonky2Preset::named(&env.params.preset).ok_or(VerifyError::Params { backend: BACKEND })?;
    if env.params != preset.params() {
        return Err(VerifyError::Params { backend: BACKEND });
    }
    check_supported(&BACKEND, &preset.info(), program).map_err(|e| VerifyError::ProofShape {
        backend: BACKEND,
        source: Box::new(e),
    })?;
    Ok(preset)
}

/// A Program's verifier key (see [`keys`]): kept in memory or in the key directory, or built
/// from the Program (a build failure is a malformed proof). `need_data`: the verifier data
/// must decode (not only the key's hashes).
pub(crate) fn member_key(
    program: &Program,
    preset: Plonky2Preset,
    need_data: bool,
) -> Result<std::sync::Arc<keys::VerifierKey>, VerifyError> {
    let mut parts = program.digest().as_bytes().to_vec();
    parts.push(u8::from(preset.zero_knowledge));
    keys::cached(keys::entry_key("member", &parts), need_data, || {
        compile_cached(program, preset.zero_knowledge, preset.config())
            .map(|c| c.data.verifier_data())
            .map_err(|e| VerifyError::ProofShape {
                backend: BACKEND,
                source: Box::new(e),
            })
    })
}

/// Decode proof bytes for a circuit: exactly one proof, no trailing bytes, never a panic.
pub(crate) fn decode_proof(
    bytes: &[u8],
    common: &plonky2::plonk::circuit_data::CommonCircuitData<F, { circuit::D }>,
) -> Result<plonky2::plonk::proof::Proof<F, circuit::C, { circuit::D }>, Plonky2Error> {
    let decoded = catch_unwind(AssertUnwindSafe(|| {
        let mut buf = Buffer::new(bytes);
        let proof = buf.read_proof::<F, circuit::C, { circuit::D }>(common);
        (proof, buf.unread_bytes().len())
    }))
    .map_err(|_| Plonky2Error::Panicked("proof decoder"))?;
    match decoded {
        (Ok(p), 0) => Ok(p),
        (Ok(_), n) => Err(Plonky2Error::TrailingBytes(n)),
        (Err(_), _) => Err(Plonky2Error::Decode),
    }
}

#[cfg(feature = "testing")]
pub mod testing;

impl Backend for Plonky2Backend {
    fn id(&self) -> BackendId {
        BACKEND
    }

    fn description(&self) -> String {
        "plonky2 PLONK with FRI over Goldilocks (Poseidon); transparent, post-quantum".into()
    }

    fn presets(&self) -> Vec<PresetInfo> {
        Plonky2Preset::ALL.iter().map(|p| p.info()).collect()
    }

    fn setup(&self, program: &Program, preset: &str) -> Result<Option<SetupReport>, ProveError> {
        let preset = Self::preset_named(preset)?;
        check_supported(&BACKEND, &preset.info(), program)?;
        let compiled = compile_cached(program, preset.zero_knowledge, preset.config())?;
        let bits = compiled.data.common.degree_bits();
        Ok(Some(SetupReport {
            what: format!("plonky2 circuit, prover and verifier data, 2^{bits} rows"),
            rows: 1u64 << bits,
        }))
    }

    fn check(&self, program: &Program, witness: &Witness, preset: &str) -> Result<(), ProveError> {
        let preset = Self::preset_named(preset)?;
        check_supported(&BACKEND, &preset.info(), program)?;
        program.check_witness(witness)?;
        let compiled = compile_cached(program, preset.zero_knowledge, preset.config())?;
        compiled.check_limits(program, witness)
    }

    fn prove(
        &self,
        program: &Program,
        witness: &Witness,
        stage: StageTag,
        preset: &str,
    ) -> Result<ProofEnvelope, ProveError> {
        self.prove_with(program, witness, stage, Self::preset_named(preset)?)
    }

    fn verify(
        &self,
        program: &Program,
        env: &ProofEnvelope,
        policy: &VerifyPolicy,
    ) -> Result<VerifiedStatement, VerifyError> {
        let preset = verify_checks(program, env, policy)?;
        let shape = |e: Plonky2Error| VerifyError::ProofShape {
            backend: BACKEND,
            source: Box::new(e),
        };
        let key = member_key(program, preset, true)?;
        let data = key.data().map_err(shape)?;
        let proof = decode_proof(&env.proof, &data.common).map_err(shape)?;
        let with_inputs = ProofWithPublicInputs {
            proof,
            public_inputs: public_inputs(&env.statement, &env.params).ok_or_else(|| {
                shape(Plonky2Error::Rejected(
                    "a commitment that is not a digest".into(),
                ))
            })?,
        };
        let verified =
            catch_unwind(AssertUnwindSafe(|| data.verify(with_inputs))).map_err(|_| {
                VerifyError::Rejected {
                    backend: BACKEND,
                    source: Box::new(Plonky2Error::Panicked("verifier")),
                }
            })?;
        verified.map_err(|e| VerifyError::Rejected {
            backend: BACKEND,
            source: Box::new(Plonky2Error::Rejected(e.to_string())),
        })?;
        Ok(VerifiedStatement {
            backend: BACKEND,
            params: env.params.clone(),
            statement: env.statement.clone(),
        })
    }

    fn aggregate(&self, members: &[AggregateInput<'_>]) -> Result<AggregateEnvelope, ProveError> {
        aggregate::aggregate(members, true)
    }

    fn verify_aggregate(
        &self,
        programs: &[&Program],
        aggregate: &AggregateEnvelope,
        policy: &VerifyPolicy,
    ) -> Result<Vec<VerifiedStatement>, VerifyError> {
        aggregate::verify_aggregate(programs, aggregate, policy)
    }
}
