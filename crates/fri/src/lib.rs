//! The default zkmlops backend: a Plonky3 batch-STARK with FRI over Goldilocks that proves
//! tensor Programs.
//!
//! Every Program is compiled to a set of chips (AIRs): sources for private inputs, public
//! chips for public tensors and constants, a gemm chip per matrix product, map chips for
//! elementwise ops, rescales, ReLU and data movement, sum chips for reductions, and a range
//! table. Tensors flow between chips over a LogUp bus (`p3-lookup`) of `(wire, index, value)`
//! messages. Plonky3's `p3-batch-stark` proves all chips together; FRI (`p3-fri`), Merkle
//! trees (`p3-merkle-tree`) and Keccak-256 or Poseidon2 do the cryptography. Nothing of it is
//! reimplemented here.
//!
//! The statement (Program digest, stage, public tensors, parameters) is hashed into the public
//! values of the first instance, so the Fiat–Shamir transcript binds all of it.
//!
//! ```
//! use zkmlops_field::Scale;
//! use zkmlops_fri::FriBackend;
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
//! // Any backend through the object-safe boundary; presets are named by string.
//! let backend: &dyn Backend = &FriBackend;
//! let envelope = backend.prove(&program, &witness, StageTag::Inference, "keccak")?;
//! let verified = backend.verify(&program, &envelope, &VerifyPolicy::default())?;
//! assert_eq!(verified.statement.public[0].values, vec![16 - 24, 32 - 32]);
//! assert!(verified.params.conjectured_security_bits >= 100);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bounds;
mod chips;
mod circuit;
mod config;
mod error;
mod security;
mod witness;

use std::panic::{AssertUnwindSafe, catch_unwind};

use p3_batch_stark::{
    BatchProof, BatchVerificationError, ProverData, StarkInstance, VerificationError, prove_batch,
    verify_batch,
};
use p3_field::PrimeCharacteristicRing;
use p3_keccak::Keccak256Hash;
use p3_matrix::dense::RowMajorMatrix;
use p3_symmetric::CryptographicHasher;
use p3_uni_stark::StarkGenericConfig;
use zkmlops_proof::{
    Backend, BackendId, BackendParams, ENVELOPE_VERSION, PresetInfo, ProofEnvelope, ProveError,
    SchemeId, StageTag, Statement, VerifiedStatement, VerifyError, VerifyPolicy, check_supported,
    verify_preamble,
};
use zkmlops_tensor::{Program, Witness};

pub use config::{
    BATCH_POW_BITS, COMMIT_POW_BITS, FriConfig, Hash, KeccakConfig, KeccakZkConfig, LOG_BLOWUP,
    LOG_BLOWUP_ZK, LOG_FINAL_POLY_LEN, MAX_LOG_ARITY, NUM_QUERIES, NUM_QUERIES_ZK,
    NUM_RANDOM_CODEWORDS, PoseidonConfig, PoseidonZkConfig, QUERY_POW_BITS, UNSUPPORTED_OPS,
};
pub use error::{FriError, Rejection};

use chips::{ChipAir, ChipKind};
use circuit::{Circuit, compile};
use config::{Val, keccak_config, keccak_zk_config, poseidon_config, poseidon_zk_config};

/// This backend's id.
pub const BACKEND: BackendId = BackendId::FRI;

/// The first bytes of every proof this backend writes: the arithmetization's version (the AIRs
/// a Program compiles to). Version 2 shares one instance among the ops of one chip kind
/// (wires as structure columns); proofs of version 1 (one instance per op, no tag) are refused
/// by [`FriError::Format`] rather than rejected as invalid. Format 3 (arithmetization 3): gemm
/// and max rows under degree-2 constraints, gemms of one tile sharing an instance, and the
/// hiding presets' PCS with 2 random codewords and 2-element Merkle salts (format 2 had 4 of
/// each); proofs of format 2 are refused the same way.
pub const PROOF_FORMAT: [u8; 4] = *b"zkA3";

/// The Plonky3 bytes after this build's format tag, or [`FriError::Format`].
fn strip_format(bytes: &[u8]) -> Result<&[u8], FriError> {
    bytes
        .strip_prefix(&PROOF_FORMAT)
        .ok_or_else(|| FriError::Format {
            found: bytes.iter().take(PROOF_FORMAT.len()).copied().collect(),
            expected: PROOF_FORMAT,
        })
}

/// Domain separator of the statement digest bound into the transcript.
const STATEMENT_DOMAIN: &[u8] = b"zkmlops/fri-statement/v2";

/// The Plonky3 FRI STARK backend. Stateless; every preset is a [`FriConfig`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FriBackend;

/// Run `$body` with `$c` bound to the Plonky3 config of `$preset`.
macro_rules! with_config {
    ($preset:expr, |$c:ident| $body:expr) => {
        match ($preset.hash, $preset.zero_knowledge) {
            (Hash::Keccak256, false) => {
                let $c: KeccakConfig = keccak_config();
                $body
            }
            (Hash::Keccak256, true) => {
                let $c: KeccakZkConfig = keccak_zk_config()?;
                $body
            }
            (Hash::Poseidon2, false) => {
                let $c: PoseidonConfig = poseidon_config();
                $body
            }
            (Hash::Poseidon2, true) => {
                let $c: PoseidonZkConfig = poseidon_zk_config()?;
                $body
            }
        }
    };
}

/// The statement digest as 8 field elements (u32 limbs), carried as public values.
fn statement_limbs(statement: &Statement, params: &BackendParams) -> Vec<Val> {
    let s = postcard::to_allocvec(statement).unwrap_or_default();
    let p = postcard::to_allocvec(params).unwrap_or_default();
    let digest = Keccak256Hash.hash_iter_slices([STATEMENT_DOMAIN, &s[..], &p[..]]);
    digest
        .chunks_exact(4)
        .map(|c| Val::from_u32(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect()
}

/// Each instance's public values: the statement digest on the first, the commitment digest
/// on the commitment chip.
fn public_values(
    circuit: &Circuit,
    limbs: &[Val],
    statement: &Statement,
) -> Result<Vec<Vec<Val>>, FriError> {
    // The commitment chip proves every commitment of the statement, in order (its groups'
    // order = `commitment_groups` order = the statement's order).
    let mut digests = statement.commitments.iter().map(|c| {
        zkmlops_commit::Digest::from_bytes(&c.digest)
            .map(|d| d.elements())
            .map_err(|_| FriError::Commitment)
    });
    circuit
        .airs
        .iter()
        .map(|a| {
            let mut v = Vec::new();
            if a.statement_values > 0 {
                v.extend_from_slice(limbs);
            }
            for _ in 0..a.commitment_values() / zkmlops_commit::RATE {
                v.extend(digests.next().ok_or(FriError::Commitment)??);
            }
            Ok(v)
        })
        .collect()
}

fn classify<E: std::fmt::Debug>(e: &BatchVerificationError<E>) -> (bool, Rejection) {
    match e {
        BatchVerificationError::Verification(v) => match v {
            VerificationError::InvalidProofShape(_) | VerificationError::PeriodicColumn(_) => {
                (true, Rejection::Shape)
            }
            VerificationError::InvalidOpeningArgument(_) => (false, Rejection::Opening),
            VerificationError::OodEvaluationMismatch { .. } => (false, Rejection::OutOfDomain),
            _ => (false, Rejection::Other),
        },
        BatchVerificationError::Lookup(_) => (false, Rejection::Lookup),
        BatchVerificationError::Transcript(_) => (false, Rejection::Transcript),
    }
}

#[cfg(feature = "testing")]
pub mod testing;

/// Size of one AIR instance of a compiled Program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStats {
    /// Chip kind (`gemm`, `relu`, `source`, ...).
    pub kind: &'static str,
    /// The tensor (or internal wire) it produces; for a bound chip, the first it checks; for
    /// an instance shared by several ops, the first op's.
    pub tensor: Option<String>,
    /// How many tensors it produces (or checks): the ops of one kind share an instance.
    pub tensors: usize,
    /// Main-trace width (the chip's own columns plus its structure columns).
    pub width: usize,
    /// log2 of the trace height.
    pub log_height: usize,
}

/// The instances a Program compiles to under `config`, with their sizes (before the LogUp
/// columns Plonky3 adds). Public tensors are sized from their declarations.
///
/// # Errors
/// The compile errors of proving: unsupported ops, committed tensors, limits.
pub fn circuit_stats(
    program: &Program,
    config: FriConfig,
) -> Result<Vec<InstanceStats>, ProveError> {
    let circuit = compile(
        program,
        &placeholder_public(program),
        config.min_log_height(),
    )
    .map_err(into_prove_error)?;
    Ok(circuit
        .airs
        .iter()
        .map(|a| InstanceStats {
            kind: a.chip.kind_name(),
            tensor: a
                .chip
                .output_wire()
                .and_then(|w| circuit.wires.get(w as usize))
                .map(|w| w.name.clone()),
            tensors: a.chip.outputs().len(),
            width: <ChipAir as p3_air::BaseAir<Val>>::width(a),
            log_height: a.log_height(),
        })
        .collect())
}

/// Zero values for every public tensor: the circuit's shape never depends on them.
pub(crate) fn placeholder_public(program: &Program) -> Vec<zkmlops_proof::PublicTensor> {
    zkmlops_proof::public_tensor_ids(program)
        .map(|id| {
            let d = &program.tensors()[id.index()];
            zkmlops_proof::PublicTensor {
                id,
                shape: d.shape.clone(),
                scale: d.scale,
                values: vec![0; zkmlops_tensor::numel(&d.shape).unwrap_or(0)],
            }
        })
        .collect()
}

pub(crate) fn into_prove_error(e: FriError) -> ProveError {
    match e {
        FriError::Prove(p) => p,
        other => ProveError::Backend {
            backend: BACKEND,
            source: Box::new(other),
        },
    }
}

/// The statement of a witness: public tensors and, when the Program commits tensors, the one
/// commitment covering them (computed natively by `zkmlops-commit`, proved by the commitment
/// chip).
fn statement_of(
    program: &Program,
    witness: &Witness,
    stage: StageTag,
) -> Result<Statement, FriError> {
    let mut statement =
        Statement::from_witness(program, witness, stage).map_err(|e| FriError::Prove(e.into()))?;
    let commitments = zkmlops_commit::program_commitments(program, witness).map_err(|id| {
        FriError::Prove(ProveError::Statement(
            zkmlops_proof::StatementError::MissingTensor { id },
        ))
    })?;
    if !commitments.is_empty() {
        statement.commitment_scheme = Some(SchemeId::POSEIDON2_GOLDILOCKS_SPONGE);
    }
    statement.commitments = commitments
        .into_iter()
        .map(|(id, d)| zkmlops_proof::Commitment {
            id,
            digest: d.to_bytes(),
        })
        .collect();
    Ok(statement)
}

/// The checks of [`prove_inner`] before any trace is built: witness, statement, compile,
/// limits.
fn precheck(
    program: &Program,
    witness: &Witness,
    stage: StageTag,
    config: FriConfig,
) -> Result<(), FriError> {
    program
        .check_witness(witness)
        .map_err(|e| FriError::Prove(ProveError::Witness(e)))?;
    let statement = statement_of(program, witness, stage)?;
    let circuit = compile(program, &statement.public, config.min_log_height())?;
    let values = witness::wire_values(program, witness, &circuit)?;
    witness::check_limits(&circuit, &values)
}

/// What a cheating prover (the `testing` feature) does differently; the default is honest.
#[derive(Default)]
pub(crate) struct Cheat<'a> {
    /// Skip `check_witness` and `check_limits`.
    pub(crate) skip_checks: bool,
    /// Add 1 to a source chip's multiplicity in the prover's (not the verifier's) circuit.
    pub(crate) producer_multiplicity: Option<(usize, usize)>,
    /// Rewrite the traces (range and table multiplicities are then recounted).
    #[allow(clippy::type_complexity)]
    pub(crate) edit: Option<&'a mut dyn FnMut(&Circuit, &mut [RowMajorMatrix<Val>], &[Vec<Val>])>,
}

/// Everything a proof is made from.
pub(crate) struct Prepared {
    circuit: Circuit,
    traces: Vec<RowMajorMatrix<Val>>,
    pvs: Vec<Vec<Val>>,
    params: BackendParams,
    statement: Statement,
}

/// Statement, circuit, checks and traces (a cheat may skip the checks and edit the traces).
pub(crate) fn prepare(
    program: &Program,
    witness: &Witness,
    stage: StageTag,
    config: FriConfig,
    mut cheat: Cheat<'_>,
) -> Result<Prepared, FriError> {
    if !cheat.skip_checks {
        program
            .check_witness(witness)
            .map_err(|e| FriError::Prove(ProveError::Witness(e)))?;
    }
    let statement = statement_of(program, witness, stage)?;
    let mut circuit = compile(program, &statement.public, config.min_log_height())?;
    if circuit.airs.is_empty() {
        return Err(FriError::EmptyProgram);
    }
    let values = witness::wire_values(program, witness, &circuit)?;
    if !cheat.skip_checks {
        witness::check_limits(&circuit, &values)?;
    }
    if let Some((instance, index)) = cheat.producer_multiplicity
        && let Some(chips::Chip::Source(s)) = circuit.airs.get_mut(instance).map(|a| &mut a.chip)
        && let Some(m) = s.mult_mut(index)
    {
        *m += 1;
    }
    let mut traces = witness::traces(&circuit, &values);
    let (conjectured, proven) = security::security_bits(&circuit, config);
    let params = config.backend_params(conjectured, proven);
    let pvs = public_values(&circuit, &statement_limbs(&statement, &params), &statement)?;
    if let Some(edit) = cheat.edit.as_mut() {
        edit(&circuit, &mut traces, &pvs);
    }
    Ok(Prepared {
        circuit,
        traces,
        pvs,
        params,
        statement,
    })
}

pub(crate) fn prove_inner(
    program: &Program,
    witness: &Witness,
    stage: StageTag,
    config: FriConfig,
    cheat: Cheat<'_>,
) -> Result<ProofEnvelope, FriError> {
    let Prepared {
        circuit,
        traces,
        pvs,
        params,
        statement,
    } = prepare(program, witness, stage, config, cheat)?;
    let proof = with_config!(config, |c| c.prove_airs(&circuit.airs, &traces, &pvs)?);
    Ok(ProofEnvelope {
        version: ENVELOPE_VERSION,
        backend: BACKEND,
        params,
        statement,
        proof,
    })
}

macro_rules! prove_body {
    ($c:expr, $airs:expr, $traces:expr, $pvs:expr) => {{
        let is_zk = $c.is_zk();
        let degrees: Vec<usize> = $airs
            .iter()
            .map(|a: &ChipAir| a.log_height() + is_zk)
            .collect();
        let run = || -> Result<Vec<u8>, FriError> {
            let data = ProverData::from_airs_and_degrees($c, $airs, &degrees).map_err(|_| {
                FriError::Prover {
                    phase: "preprocessed commitment",
                }
            })?;
            let instances: Vec<StarkInstance<'_, _, ChipAir>> = $airs
                .iter()
                .zip($traces)
                .zip($pvs)
                .map(|((air, trace), pv)| StarkInstance {
                    air,
                    trace,
                    public_values: pv.clone(),
                })
                .collect();
            let proof = prove_batch($c, &instances, &data).map_err(|_| FriError::Prover {
                phase: "prove_batch",
            })?;
            let mut bytes = PROOF_FORMAT.to_vec();
            bytes.extend(postcard::to_allocvec(&proof).unwrap_or_default());
            Ok(bytes)
        };
        catch_unwind(AssertUnwindSafe(run)).unwrap_or(Err(FriError::Panicked { side: "prover" }))
    }};
}

/// The four concrete configurations, each proving and verifying with its own types.
trait ProveWith {
    fn prove_airs(
        &self,
        airs: &[ChipAir],
        traces: &[RowMajorMatrix<Val>],
        pvs: &[Vec<Val>],
    ) -> Result<Vec<u8>, FriError>;
    fn verify_airs(&self, airs: &[ChipAir], bytes: &[u8], pvs: &[Vec<Val>])
    -> Result<(), FriError>;
}

macro_rules! impl_prove_with {
    ($sc:ty) => {
        impl ProveWith for $sc {
            fn prove_airs(
                &self,
                airs: &[ChipAir],
                traces: &[RowMajorMatrix<Val>],
                pvs: &[Vec<Val>],
            ) -> Result<Vec<u8>, FriError> {
                prove_body!(self, airs, traces, pvs)
            }

            fn verify_airs(
                &self,
                airs: &[ChipAir],
                bytes: &[u8],
                pvs: &[Vec<Val>],
            ) -> Result<(), FriError> {
                let bytes = strip_format(bytes)?;
                let (proof, rest): (BatchProof<$sc>, &[u8]) =
                    postcard::take_from_bytes(bytes).map_err(|_| FriError::Decode)?;
                if !rest.is_empty() {
                    return Err(FriError::TrailingBytes { count: rest.len() });
                }
                let is_zk = self.is_zk();
                if proof.degree_bits.len() != airs.len() {
                    return Err(FriError::InstanceCount {
                        expected: airs.len(),
                        found: proof.degree_bits.len(),
                    });
                }
                let degrees: Vec<usize> = airs.iter().map(|a| a.log_height() + is_zk).collect();
                for (instance, (&found, &expected)) in
                    proof.degree_bits.iter().zip(&degrees).enumerate()
                {
                    if found != expected {
                        return Err(FriError::Height {
                            instance,
                            expected,
                            found,
                        });
                    }
                }
                let run =
                    || -> Result<(), FriError> {
                        let data = ProverData::from_airs_and_degrees(self, airs, &degrees)
                            .map_err(|_| FriError::Prover {
                                phase: "preprocessed commitment",
                            })?;
                        verify_batch(self, airs, &proof, pvs, &data.common)
                            .map_err(|e| FriError::Rejected(classify(&e).1))
                    };
                catch_unwind(AssertUnwindSafe(run))
                    .unwrap_or(Err(FriError::Panicked { side: "verifier" }))
            }
        }
    };
}

impl_prove_with!(KeccakConfig);
impl_prove_with!(KeccakZkConfig);
impl_prove_with!(PoseidonConfig);
impl_prove_with!(PoseidonZkConfig);

impl FriBackend {
    /// Prove with a typed preset (what [`Backend::prove`] does after looking the name up).
    ///
    /// # Errors
    /// As [`Backend::prove`].
    pub fn prove_with(
        &self,
        program: &Program,
        witness: &Witness,
        stage: StageTag,
        config: FriConfig,
    ) -> Result<ProofEnvelope, ProveError> {
        check_supported(&BACKEND, &config.info(), program)?;
        prove_inner(program, witness, stage, config, Cheat::default()).map_err(into_prove_error)
    }

    /// Check with a typed preset (what [`Backend::check`] does after looking the name up).
    ///
    /// # Errors
    /// As [`Backend::check`].
    pub fn check_with(
        &self,
        program: &Program,
        witness: &Witness,
        config: FriConfig,
    ) -> Result<(), ProveError> {
        check_supported(&BACKEND, &config.info(), program)?;
        // The stage only tags the statement; it changes no check.
        precheck(program, witness, StageTag::Inference, config).map_err(into_prove_error)
    }
}

fn preset_named(name: &str) -> Result<FriConfig, ProveError> {
    FriConfig::from_name(name).map_err(|_| ProveError::UnknownPreset {
        backend: BACKEND,
        preset: name.to_string(),
        known: FriConfig::ALL
            .iter()
            .map(|c| c.name().to_string())
            .collect(),
    })
}

impl Backend for FriBackend {
    fn id(&self) -> BackendId {
        BACKEND
    }

    fn description(&self) -> String {
        "Plonky3 batch-STARK (AIR + LogUp) with FRI over Goldilocks; transparent, post-quantum"
            .to_string()
    }

    fn presets(&self) -> Vec<PresetInfo> {
        FriConfig::ALL.iter().map(|c| c.info()).collect()
    }

    fn check(&self, program: &Program, witness: &Witness, preset: &str) -> Result<(), ProveError> {
        self.check_with(program, witness, preset_named(preset)?)
    }

    fn prove(
        &self,
        program: &Program,
        witness: &Witness,
        stage: StageTag,
        preset: &str,
    ) -> Result<ProofEnvelope, ProveError> {
        self.prove_with(program, witness, stage, preset_named(preset)?)
    }

    fn verify(
        &self,
        program: &Program,
        env: &ProofEnvelope,
        policy: &VerifyPolicy,
    ) -> Result<VerifiedStatement, VerifyError> {
        verify_preamble(&BACKEND, program, env, policy)?;
        let config = FriConfig::from_name(&env.params.preset)
            .map_err(|_| VerifyError::Params { backend: BACKEND })?;
        let shape_err = |e: FriError| VerifyError::ProofShape {
            backend: BACKEND,
            source: Box::new(e),
        };
        if !env.statement.commitments.is_empty()
            && env.statement.commitment_scheme != Some(SchemeId::POSEIDON2_GOLDILOCKS_SPONGE)
        {
            return Err(VerifyError::Statement(
                zkmlops_proof::StatementError::Scheme,
            ));
        }
        let circuit =
            compile(program, &env.statement.public, config.min_log_height()).map_err(shape_err)?;
        let (conjectured, proven) = security::security_bits(&circuit, config);
        if env.params != config.backend_params(conjectured, proven) {
            return Err(VerifyError::Params { backend: BACKEND });
        }
        let pvs = public_values(
            &circuit,
            &statement_limbs(&env.statement, &env.params),
            &env.statement,
        )
        .map_err(shape_err)?;
        let result =
            (|| with_config!(config, |c| c.verify_airs(&circuit.airs, &env.proof, &pvs)))();
        match result {
            Ok(()) => Ok(VerifiedStatement {
                backend: BACKEND,
                params: env.params.clone(),
                statement: env.statement.clone(),
            }),
            Err(
                e @ (FriError::Rejected(Rejection::Shape)
                | FriError::Decode
                | FriError::Format { .. }
                | FriError::TrailingBytes { .. }
                | FriError::Height { .. }
                | FriError::InstanceCount { .. }),
            ) => Err(shape_err(e)),
            Err(e) => Err(VerifyError::Rejected {
                backend: BACKEND,
                source: Box::new(e),
            }),
        }
    }
}

/// Where a Keccak-preset proof's bytes go (a diagnostic for benchmarks: `preprocess_bench
/// --sizes`): `(part, bytes)` for the values opened at the out-of-domain point, hiding FRI's
/// random openings, each committed round's opened rows and Merkle proofs (salts included) over
/// all queries, the FRI folding steps and the final polynomial. Rows that describe rather
/// than count carry 0 bytes: a round's total opened width and matrix count, and (hiding) each
/// instance's columns, lookup columns and quotient chunks.
///
/// # Errors
/// [`FriError::Format`] / [`FriError::Decode`] for bytes that are not such a proof, and
/// [`FriError::UnknownPreset`] for a Poseidon2 preset (not broken down).
#[doc(hidden)]
pub fn size_breakdown(config: FriConfig, bytes: &[u8]) -> Result<Vec<(String, usize)>, FriError> {
    fn sz<T: serde::Serialize>(t: &T) -> usize {
        postcard::to_allocvec(t).map_or(0, |v| v.len())
    }
    let mut out = vec![("total".to_string(), bytes.len())];
    let bytes = strip_format(bytes)?;
    macro_rules! fri {
        ($fp:expr) => {{
            let fp = $fp;
            for (i, o) in fp.input_openings.iter().enumerate() {
                let widths: Vec<usize> = o
                    .opened_values
                    .first()
                    .map(|q| q.iter().map(Vec::len).collect())
                    .unwrap_or_default();
                out.push((format!("round {i} opened rows"), sz(&o.opened_values)));
                out.push((format!("round {i} merkle"), sz(&o.opening_proof)));
                out.push((
                    format!(
                        "round {i} widths: {} columns in {} matrices",
                        widths.iter().sum::<usize>(),
                        widths.len()
                    ),
                    0,
                ));
            }
            let fold: usize = fp
                .commit_phase_openings
                .iter()
                .map(|o| sz(&o.sibling_values) + sz(&o.opening_proof))
                .sum();
            out.push((
                format!("fri {} folding steps", fp.commit_phase_openings.len()),
                fold + sz(&fp.commit_phase_commits),
            ));
            out.push(("fri final polynomial".to_string(), sz(&fp.final_poly)));
        }};
    }
    match (config.hash, config.zero_knowledge) {
        (Hash::Keccak256, true) => {
            let (p, _): (BatchProof<KeccakZkConfig>, _) =
                postcard::take_from_bytes(bytes).map_err(|_| FriError::Decode)?;
            out.push(("opened at zeta".to_string(), sz(&p.opened_values)));
            out.push(("hiding random openings".to_string(), sz(&p.opening_proof.0)));
            for (i, inst) in p.opened_values.instances.iter().enumerate() {
                let v = &inst.base_opened_values;
                out.push((
                    format!(
                        "instance {i}: {} columns, {} lookup columns, {} quotient chunks",
                        v.trace_local.len(),
                        inst.permutation_local.len(),
                        v.quotient_chunks.len()
                    ),
                    0,
                ));
            }
            fri!(&p.opening_proof.1);
        }
        (Hash::Keccak256, false) => {
            let (p, _): (BatchProof<KeccakConfig>, _) =
                postcard::take_from_bytes(bytes).map_err(|_| FriError::Decode)?;
            out.push(("opened at zeta".to_string(), sz(&p.opened_values)));
            fri!(&p.opening_proof);
        }
        (Hash::Poseidon2, _) => return Err(FriError::UnknownPreset),
    }
    Ok(out)
}
