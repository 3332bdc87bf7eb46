//! What a proof claims: the Statement.

use serde::{Deserialize, Serialize};
use zkmlops_field::Scale;
use zkmlops_tensor::{Program, ProgramDigest, TensorId, TensorKind, Visibility, Witness};

use crate::{SchemeId, StatementError};

/// Which lifecycle stage a statement belongs to; bound into every proof so that a proof made
/// for one stage is never accepted as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StageTag {
    /// A Program proved on its own, outside any lifecycle stage.
    Generic,
    /// Inference: `output = f_W(input)`.
    Inference,
    /// Preprocessing: `processed = pipeline(raw)`.
    Preprocessing,
    /// Training: `final = SGD^T(initial, data)`.
    Training,
    /// Offline metrics over a committed test set.
    Metrics,
    /// Online metrics (monitoring) over a committed production log.
    Monitoring,
}

impl StageTag {
    /// A stable numeric code, for transcripts and public values.
    #[must_use]
    pub fn code(self) -> u32 {
        match self {
            StageTag::Generic => 0,
            StageTag::Inference => 1,
            StageTag::Preprocessing => 2,
            StageTag::Training => 3,
            StageTag::Metrics => 4,
            StageTag::Monitoring => 5,
        }
    }
}

/// The values of one public tensor, as the statement claims them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PublicTensor {
    /// The tensor's id in the Program.
    pub id: TensorId,
    /// Its shape (must equal the Program's declaration).
    pub shape: Vec<usize>,
    /// Its scale (must equal the Program's declaration).
    pub scale: Scale,
    /// The values, row-major.
    pub values: Vec<i64>,
}

impl PublicTensor {
    /// The values decoded to real numbers at the tensor's scale.
    #[must_use]
    pub fn decoded(&self) -> Vec<f64> {
        self.values.iter().map(|&v| self.scale.decode(v)).collect()
    }
}

/// A commitment to a hidden tensor, published with the statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Commitment {
    /// The committed tensor's id in the Program.
    pub id: TensorId,
    /// The digest (hex in JSON).
    #[serde(with = "crate::hexbytes::array32")]
    pub digest: [u8; 32],
}

/// The public claim of a proof: which Program, which stage, the values of its public tensors
/// and the commitments to its committed ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Statement {
    /// The lifecycle stage.
    pub stage: StageTag,
    /// Digest of the Program the proof is for.
    pub program_digest: ProgramDigest,
    /// Public tensors (inputs and computed tensors marked `Public`), in increasing id order.
    /// Constants are not listed: the Program digest already binds them.
    pub public: Vec<PublicTensor>,
    /// The scheme of the commitments: present exactly when there are commitments.
    pub commitment_scheme: Option<SchemeId>,
    /// Commitments to `Committed` tensors, in increasing id order.
    pub commitments: Vec<Commitment>,
}

/// The ids of the tensors a statement for `program` must list as public: every non-constant
/// tensor whose visibility is `Public`, in id order.
pub fn public_tensor_ids(program: &Program) -> impl Iterator<Item = TensorId> + '_ {
    program.tensors().iter().enumerate().filter_map(|(i, d)| {
        let public =
            d.visibility == Visibility::Public && !matches!(d.kind, TensorKind::Constant(_));
        public.then(|| TensorId(u32::try_from(i).unwrap_or(u32::MAX)))
    })
}

impl Statement {
    /// The statement a witness of `program` supports (no commitments).
    ///
    /// # Errors
    /// [`StatementError::MissingTensor`] when the witness lacks a public tensor.
    pub fn from_witness(
        program: &Program,
        witness: &Witness,
        stage: StageTag,
    ) -> Result<Self, StatementError> {
        let public = public_tensor_ids(program)
            .map(|id| {
                let d = &program.tensors()[id.index()];
                let t = witness
                    .get(id)
                    .ok_or(StatementError::MissingTensor { id })?;
                Ok(PublicTensor {
                    id,
                    shape: d.shape.clone(),
                    scale: d.scale,
                    values: t.data().to_vec(),
                })
            })
            .collect::<Result<_, StatementError>>()?;
        Ok(Statement {
            stage,
            program_digest: program.digest(),
            public,
            commitment_scheme: None,
            commitments: Vec::new(),
        })
    }

    /// This statement with the commitments `(first tensor id, digest)` of `scheme`, in the
    /// order given (a Program's commitment groups); no commitments leave it without a scheme.
    #[must_use]
    pub fn with_commitments(
        mut self,
        scheme: SchemeId,
        commitments: impl IntoIterator<Item = (TensorId, [u8; 32])>,
    ) -> Self {
        self.commitments = commitments
            .into_iter()
            .map(|(id, digest)| Commitment { id, digest })
            .collect();
        self.commitment_scheme = (!self.commitments.is_empty()).then_some(scheme);
        self
    }

    /// Check that this statement is well-formed for `program`: same digest, exactly the
    /// Program's public tensors with their declared shapes and scales, values of the right
    /// length inside the fixed-point range. Every verifier runs this before any cryptography.
    ///
    /// # Errors
    /// The first [`StatementError`] found.
    pub fn check_against(&self, program: &Program) -> Result<(), StatementError> {
        let digest = program.digest();
        if self.program_digest != digest {
            return Err(StatementError::ProgramDigest {
                expected: digest,
                found: self.program_digest,
            });
        }
        let ids: Vec<TensorId> = public_tensor_ids(program).collect();
        if ids.len() != self.public.len() {
            return Err(StatementError::PublicCount {
                expected: ids.len(),
                found: self.public.len(),
            });
        }
        for (id, p) in ids.iter().zip(&self.public) {
            let d = &program.tensors()[id.index()];
            if p.id != *id || p.shape != d.shape || p.scale != d.scale {
                return Err(StatementError::PublicDeclaration { id: p.id });
            }
            self.check_values(p)?;
            // A public input's declared bound is checked here, by the verifier itself: the
            // proof's arithmetic relies on it as it relies on a hidden input's range check.
            if let Some((lo, hi)) = d.input_bound()
                && let Some(index) = p.values.iter().position(|v| !(lo..=hi).contains(v))
            {
                return Err(StatementError::PublicOutOfBound {
                    id: p.id,
                    index,
                    bits: d.bits,
                });
            }
        }
        // One commitment per commitment group, listed under the group's first tensor, in
        // increasing order of that id.
        let mut firsts: std::collections::BTreeMap<u16, TensorId> =
            std::collections::BTreeMap::new();
        for (i, d) in program.tensors().iter().enumerate() {
            if let Some(g) = d.visibility.commitment_group() {
                firsts
                    .entry(g)
                    .or_insert(TensorId(u32::try_from(i).unwrap_or(u32::MAX)));
            }
        }
        let mut expected: Vec<TensorId> = firsts.into_values().collect();
        expected.sort();
        let found: Vec<TensorId> = self.commitments.iter().map(|c| c.id).collect();
        if expected != found {
            return Err(StatementError::Commitments {
                expected: expected.len(),
                first: expected.first().copied(),
                found: found.len(),
            });
        }
        Ok(())
    }

    fn check_values(&self, p: &PublicTensor) -> Result<(), StatementError> {
        if zkmlops_tensor::numel(&p.shape) != Some(p.values.len()) {
            return Err(StatementError::PublicLength {
                id: p.id,
                expected: zkmlops_tensor::numel(&p.shape).unwrap_or(usize::MAX),
                found: p.values.len(),
            });
        }
        if let Some(i) = p
            .values
            .iter()
            .position(|v| v.unsigned_abs() > zkmlops_field::MAX_ABS.unsigned_abs())
        {
            return Err(StatementError::PublicOutOfRange { id: p.id, index: i });
        }
        Ok(())
    }

    /// Structural checks that need no Program: public tensors in strictly increasing id order
    /// with consistent lengths and in-range values, commitments in strictly increasing id order,
    /// a well-formed commitment scheme present exactly when there are commitments.
    ///
    /// # Errors
    /// The first [`StatementError`] found.
    pub fn validate(&self) -> Result<(), StatementError> {
        for w in self.public.windows(2) {
            if w[0].id >= w[1].id {
                return Err(StatementError::Order { id: w[1].id });
            }
        }
        for p in &self.public {
            self.check_values(p)?;
        }
        for w in self.commitments.windows(2) {
            if w[0].id >= w[1].id {
                return Err(StatementError::Order { id: w[1].id });
            }
        }
        match &self.commitment_scheme {
            None if !self.commitments.is_empty() => Err(StatementError::Scheme),
            Some(_) if self.commitments.is_empty() => Err(StatementError::Scheme),
            Some(s) if !s.is_valid() => Err(StatementError::Scheme),
            _ => Ok(()),
        }
    }

    /// The commitment listed under tensor `id`, with its scheme: what links between stages
    /// compare (a digest alone is never compared across schemes).
    #[must_use]
    pub fn commitment(&self, id: TensorId) -> Option<(&SchemeId, &[u8; 32])> {
        let scheme = self.commitment_scheme.as_ref()?;
        self.commitments
            .iter()
            .find(|c| c.id == id)
            .map(|c| (scheme, &c.digest))
    }

    /// The public tensor with this id.
    #[must_use]
    pub fn public_tensor(&self, id: TensorId) -> Option<&PublicTensor> {
        self.public.iter().find(|p| p.id == id)
    }
}
