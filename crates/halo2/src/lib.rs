//! The halo2 backend: a Program as a PLONKish circuit over the Pasta field `Fp`, proved with
//! `halo2_proofs` (the zcash line): polynomial commitments by an inner-product argument over
//! the Vesta curve, Blake2b Fiat–Shamir. The comparison point of the three backends.
//!
//! What its proofs are worth, stated in every envelope (`zkmlops backends`):
//! - **transparent**: the commitment key is a list of curve points hashed from a published
//!   domain string (`Params::new(k)`), the circuit and its keys are generated from the Program
//!   alone, nothing is secret and nothing is downloaded;
//! - **not post-quantum**: soundness rests on the discrete logarithm in Vesta (about 126 bits
//!   against Pollard's rho, computed from the group order), which a quantum computer breaks;
//! - **zero knowledge**: halo2 blinds every advice column (there is no non-hiding mode);
//! - **small proofs, linear verifier**: a few KB, but verifying costs a multi-scalar
//!   multiplication of size `2^k` (the IPA's), and the verifier regenerates the keys.
//!
//! The circuit is `zkmlops-plonkish`'s lowering on one five-cell PLONK gate with range-check
//! and table lookups ([`net`]): the same arithmetic, bounds and hints as the plonky2 backend,
//! in a 255-bit field, every op of the Program IR. Committed tensors are hashed in the circuit
//! with Poseidon over Pasta ([`commit`], its own scheme: a halo2 commitment never links to a
//! Goldilocks one); the stable partition's multiset argument draws its challenges in the
//! circuit with the same Poseidon.
//!
//! ```
//! use zkmlops_field::Scale;
//! use zkmlops_halo2::Halo2Backend;
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
//! let envelope = Halo2Backend.prove(&program, &witness, StageTag::Inference, "ipa")?;
//! let verified = Halo2Backend.verify(&program, &envelope, &VerifyPolicy::default())?;
//! assert_eq!(verified.statement.public[0].values, vec![16 - 24, 32 - 32]);
//! assert!(!verified.params.post_quantum);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod circuit;
pub mod commit;
pub mod net;
pub mod params_cache;
#[cfg(feature = "testing")]
pub mod testing;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use ff::{FromUniformBytes, PrimeField};
use halo2_proofs::pasta::{EqAffine, Fp};
use halo2_proofs::plonk::{SingleVerifier, create_proof, verify_proof};
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255};
use rand::SeedableRng;
use rand::rngs::{StdRng, SysRng};
use zkmlops_proof::{
    Backend, BackendId, BackendParams, Capabilities, ENVELOPE_VERSION, FieldId, HashId, IpaParams,
    OpSupport, PresetInfo, ProofEnvelope, ProtocolParams, ProveError, SetupReport, StageTag,
    Statement, VerifiedStatement, VerifyError, VerifyPolicy, check_supported, verify_preamble,
};
use zkmlops_tensor::{Program, Witness};

use circuit::{Compiled, NetCircuit, compile_cached};
use net::fp;

/// This backend's id.
pub const BACKEND: BackendId = BackendId::new_static("halo2");

/// The one preset's name.
pub const PRESET: &str = "ipa";

/// Domain separator of the statement digest.
const STATEMENT_DOMAIN: &[u8] = b"zkmlops/halo2-statement/v1";

/// The halo2 backend. Stateless; one preset, `ipa`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Halo2Backend;

/// Why halo2 refused or failed (carried inside the boundary's errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Halo2Error {
    /// The circuit needs more rows than the largest commitment key.
    #[error("the circuit needs {rows} rows, more than the largest key ({max})")]
    TooLarge {
        /// Rows needed.
        rows: usize,
        /// Rows of the largest key.
        max: usize,
    },
    /// Key generation failed.
    #[error("halo2 key generation: {0}")]
    Keygen(String),
    /// The witness does not satisfy the circuit (the prover checks before proving).
    #[error("the witness does not satisfy the circuit: {0}")]
    Unsatisfied(String),
    /// The prover failed.
    #[error("halo2 prover: {0}")]
    Prover(String),
    /// Bytes follow the proof.
    #[error("{0} trailing bytes after the proof")]
    TrailingBytes(usize),
    /// halo2's verifier rejected the proof.
    #[error("halo2 verifier: {0}")]
    Rejected(String),
    /// halo2 panicked (caught).
    #[error("halo2 panicked in the {0}")]
    Panicked(&'static str),
    /// No entropy for the prover's blinding.
    #[error("the operating system gave no entropy for the prover's blinding")]
    Entropy,
}

pub(crate) fn backend_error(e: Halo2Error) -> ProveError {
    ProveError::Backend {
        backend: BACKEND,
        source: Box::new(e),
    }
}

/// Conjectured security in bits: Pollard's rho against the discrete logarithm in a group of
/// prime order `q ~ 2^(NUM_BITS - 1)` takes `sqrt(pi q / 4)` steps.
#[must_use]
pub fn conjectured_bits() -> u16 {
    let log_q = f64::from(Fp::NUM_BITS - 1);
    let bits = (log_q + (std::f64::consts::PI / 4.0).log2()) / 2.0;
    // 126 for Pasta; the float is small and positive.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let bits = bits.floor() as u16;
    bits
}

/// The parameters of a proof over `2^k` rows.
#[must_use]
pub fn params(k: u32) -> BackendParams {
    BackendParams {
        preset: PRESET.to_string(),
        field: FieldId::VESTA_SCALAR,
        extension_degree: 1,
        hash: HashId::BLAKE2B,
        protocol: ProtocolParams::Ipa(IpaParams {
            k: u8::try_from(k).unwrap_or(u8::MAX),
        }),
        zero_knowledge: true,
        post_quantum: false,
        transparent: true,
        conjectured_security_bits: conjectured_bits(),
        proven_security_bits: None,
    }
}

/// What the preset can do.
#[must_use]
pub fn capabilities() -> Capabilities {
    let ops = zkmlops_plonkish::supported_features();
    Capabilities {
        field: FieldId::VESTA_SCALAR,
        hash: HashId::BLAKE2B,
        commitment_scheme: Some(commit::SCHEME),
        transparent: true,
        post_quantum: false,
        zero_knowledge: true,
        aggregation: false,
        ops: OpSupport::Only(ops),
    }
}

fn info() -> PresetInfo {
    PresetInfo {
        name: PRESET.to_string(),
        description: format!(
            "halo2 PLONK, IPA commitments over Vesta, Blake2b transcript; transparent, zero knowledge, ~{} bits (discrete log), not post-quantum",
            conjectured_bits()
        ),
        capabilities: capabilities(),
    }
}

/// The statement digest as one field element: Blake2b-512 over the domain, the statement and
/// the parameters, reduced from 64 uniform bytes.
pub(crate) fn statement_digest(statement: &Statement, params: &BackendParams) -> Fp {
    let mut state = blake2b_simd::Params::new().hash_length(64).to_state();
    state.update(STATEMENT_DOMAIN);
    state.update(&postcard::to_allocvec(statement).unwrap_or_default());
    state.update(&postcard::to_allocvec(params).unwrap_or_default());
    let mut bytes = [0u8; 64];
    bytes.copy_from_slice(state.finalize().as_bytes());
    Fp::from_uniform_bytes(&bytes)
}

/// The instance column a statement stands for: its digest, every public tensor's values, then
/// every commitment's digest; `None` for a digest that is not a canonical field element.
pub(crate) fn instance(statement: &Statement, params: &BackendParams) -> Option<Vec<Fp>> {
    let mut v = vec![statement_digest(statement, params)];
    for p in &statement.public {
        v.extend(p.values.iter().map(|&x| fp(i128::from(x))));
    }
    for c in &statement.commitments {
        v.push(commit::digest_element(&c.digest)?);
    }
    Some(v)
}

/// The statement of a witness: public tensors and this backend's commitments.
pub(crate) fn statement_of(
    program: &Program,
    witness: &Witness,
    stage: StageTag,
) -> Result<Statement, ProveError> {
    let commitments = commit::program_commitments(program, witness)
        .map_err(|id| ProveError::Statement(zkmlops_proof::StatementError::MissingTensor { id }))?;
    Ok(Statement::from_witness(program, witness, stage)?
        .with_commitments(commit::SCHEME, commitments))
}

/// What preparing a Program's circuit took: its size and key generation time (reported
/// apart from proving: a prover proving many inputs of one model generates keys once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepared {
    /// `log2` of the circuit's rows.
    pub k: u32,
    /// Rows the netlist uses.
    pub rows: usize,
    /// Rows of the lookup table.
    pub table_rows: usize,
    /// Key generation (verifying and proving keys) time, measured when this process compiled
    /// the circuit (a cached circuit reports that first figure).
    pub keygen: Duration,
}

impl Halo2Backend {
    /// Build `program`'s circuit and keys (cached), returning its size and key generation
    /// time: a benchmark calls this before timing `prove`.
    ///
    /// # Errors
    /// An unsupported op, a Program whose bounds could wrap, a circuit too large.
    pub fn prepare(&self, program: &Program) -> Result<Prepared, ProveError> {
        check_supported(&BACKEND, &info(), program)?;
        let c = compile_cached(program)?;
        Ok(Prepared {
            k: c.k,
            rows: c.net.rows.len(),
            table_rows: c.net.table_rows(),
            keygen: c.keygen,
        })
    }

    /// What `check` and `prove` refuse before anything else: an unknown preset (the
    /// boundary's own lookup), an unsupported op, a witness that does not satisfy the Program.
    fn preflight(
        &self,
        program: &Program,
        witness: &Witness,
        preset: &str,
    ) -> Result<(), ProveError> {
        self.preset(preset)?;
        check_supported(&BACKEND, &info(), program)?;
        program.check_witness(witness)?;
        Ok(())
    }
}

/// Prove with the hint values passed through `edit` (the honest prover passes them unchanged;
/// the cheating prover of the tests does not), checking the finished values against the
/// circuit only when `check` is set.
pub(crate) fn prove_inner(
    program: &Program,
    witness: &Witness,
    statement: Statement,
    edit: &mut dyn FnMut(&mut zkmlops_plonkish::HintValues),
    cells: &dyn Fn(&Compiled, &mut Vec<Fp>),
    overrides: &[((usize, usize), Fp)],
    check: bool,
) -> Result<ProofEnvelope, ProveError> {
    let compiled = compile_cached(program)?;
    let params = params(compiled.k);
    let mut hints = compiled.lowered.hint_values(witness);
    edit(&mut hints);
    let mut values = compiled.values(witness, &hints)?;
    cells(&compiled, &mut values);
    if check && let Some(what) = compiled.net.first_violation(&values) {
        return Err(backend_error(Halo2Error::Unsatisfied(what)));
    }
    let instance = instance(&statement, &params).ok_or_else(|| {
        backend_error(Halo2Error::Prover(
            "a commitment that is not a digest".into(),
        ))
    })?;
    let kp = circuit::params(compiled.k);
    let rng = StdRng::try_from_rng(&mut SysRng).map_err(|_| backend_error(Halo2Error::Entropy))?;
    let proved = catch_unwind(AssertUnwindSafe(|| {
        let mut transcript = Blake2bWrite::<_, EqAffine, Challenge255<_>>::init(vec![]);
        let instances: &[&[&[Fp]]] = &[&[&instance]];
        let made = if !compiled.net.hashes() {
            create::<false>(
                &kp,
                &compiled,
                &values,
                overrides,
                instances,
                rng,
                &mut transcript,
            )
        } else {
            create::<true>(
                &kp,
                &compiled,
                &values,
                overrides,
                instances,
                rng,
                &mut transcript,
            )
        };
        made.map(|()| transcript.finalize())
    }))
    .map_err(|_| backend_error(Halo2Error::Panicked("prover")))?
    .map_err(|e| backend_error(Halo2Error::Prover(format!("{e:?}"))))?;
    Ok(ProofEnvelope {
        version: ENVELOPE_VERSION,
        backend: BACKEND,
        params,
        statement,
        proof: proved,
    })
}

/// `create_proof` for the netlist's circuit type (with or without the Poseidon chip).
fn create<const HASH: bool>(
    kp: &halo2_proofs::poly::commitment::Params<EqAffine>,
    compiled: &Compiled,
    values: &[Fp],
    overrides: &[((usize, usize), Fp)],
    instances: &[&[&[Fp]]],
    rng: StdRng,
    transcript: &mut Blake2bWrite<Vec<u8>, EqAffine, Challenge255<EqAffine>>,
) -> Result<(), halo2_proofs::plonk::Error> {
    let circuit = NetCircuit::<HASH> {
        net: &compiled.net,
        values: Some(values),
        overrides,
    };
    create_proof(kp, &compiled.pk, &[circuit], instances, rng, transcript)
}

impl Backend for Halo2Backend {
    fn id(&self) -> BackendId {
        BACKEND
    }

    fn description(&self) -> String {
        "halo2 PLONK over Pasta with IPA commitments (Vesta), Blake2b; transparent, zero knowledge, not post-quantum".into()
    }

    fn presets(&self) -> Vec<PresetInfo> {
        vec![info()]
    }

    fn setup(&self, program: &Program, preset: &str) -> Result<Option<SetupReport>, ProveError> {
        self.preset(preset)?;
        let p = self.prepare(program)?;
        Ok(Some(SetupReport {
            what: format!(
                "halo2 IPA commitment key and proving/verifying keys, 2^{} rows ({} used, {} table)",
                p.k, p.rows, p.table_rows
            ),
            rows: 1u64 << p.k,
        }))
    }

    fn check(&self, program: &Program, witness: &Witness, preset: &str) -> Result<(), ProveError> {
        self.preflight(program, witness, preset)?;
        // The limits need the lowering, not the keys: calibration calls this on every sample.
        circuit::check_limits(program, witness)
    }

    fn prove(
        &self,
        program: &Program,
        witness: &Witness,
        stage: StageTag,
        preset: &str,
    ) -> Result<ProofEnvelope, ProveError> {
        self.preflight(program, witness, preset)?;
        // Compiled first, so the limits come from the cached circuit.
        compile_cached(program)?;
        circuit::check_limits(program, witness)?;
        let statement = statement_of(program, witness, stage)?;
        prove_inner(
            program,
            witness,
            statement,
            &mut |_| {},
            &|_, _| {},
            &[],
            true,
        )
    }

    fn verify(
        &self,
        program: &Program,
        env: &ProofEnvelope,
        policy: &VerifyPolicy,
    ) -> Result<VerifiedStatement, VerifyError> {
        verify_preamble(&BACKEND, program, env, policy)?;
        if !env.statement.commitments.is_empty()
            && env.statement.commitment_scheme != Some(commit::SCHEME)
        {
            return Err(VerifyError::Statement(
                zkmlops_proof::StatementError::Scheme,
            ));
        }
        let shape = |e: ProveError| VerifyError::ProofShape {
            backend: BACKEND,
            source: Box::new(e),
        };
        if env.params.preset != PRESET {
            return Err(VerifyError::Params { backend: BACKEND });
        }
        check_supported(&BACKEND, &info(), program).map_err(shape)?;
        let compiled = circuit::verifier_cached(program).map_err(shape)?;
        if env.params != params(compiled.k) {
            return Err(VerifyError::Params { backend: BACKEND });
        }
        let reject = |e: Halo2Error| VerifyError::Rejected {
            backend: BACKEND,
            source: Box::new(e),
        };
        let instance = instance(&env.statement, &env.params).ok_or_else(|| {
            reject(Halo2Error::Rejected(
                "a commitment that is not a digest".into(),
            ))
        })?;
        let kp = circuit::params(compiled.k);
        let mut reader: &[u8] = &env.proof;
        let verified = catch_unwind(AssertUnwindSafe(|| {
            let mut transcript = Blake2bRead::<_, EqAffine, Challenge255<_>>::init(&mut reader);
            let strategy = SingleVerifier::new(&kp);
            verify_proof(
                &kp,
                &compiled.vk,
                strategy,
                &[&[&instance]],
                &mut transcript,
            )
        }))
        .map_err(|_| reject(Halo2Error::Panicked("verifier")))?;
        verified.map_err(|e| reject(Halo2Error::Rejected(format!("{e:?}"))))?;
        if !reader.is_empty() {
            return Err(VerifyError::ProofShape {
                backend: BACKEND,
                source: Box::new(Halo2Error::TrailingBytes(reader.len())),
            });
        }
        Ok(VerifiedStatement {
            backend: BACKEND,
            params: env.params.clone(),
            statement: env.statement.clone(),
        })
    }
}
