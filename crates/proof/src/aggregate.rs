//! Aggregated proofs: many proofs of one backend folded into one, by recursion.
//!
//! An [`AggregateEnvelope`] carries the statements of its members (never their proofs) and one
//! proof that every member's proof verified and that consecutive members link: member `i`'s
//! `link_in` commitment equals member `i - 1`'s `link_out` commitment (a training segment starts
//! where the previous one ended; a stage reads what the previous stage wrote). The verifier
//! supplies one Program per member, exactly as it would verify the members one by one.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use zkmlops_tensor::Program;

use crate::{BackendId, BackendParams, EnvelopeError, ProofEnvelope, Statement};

/// Magic bytes that open a binary aggregate envelope.
pub const AGGREGATE_MAGIC: [u8; 4] = *b"ZKMA";
/// The aggregate format version this crate writes and reads.
pub const AGGREGATE_VERSION: u16 = 1;

/// How a member links to its neighbours: indices into its statement's commitments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberLinks {
    /// This commitment equals the previous member's `link_out` commitment.
    #[serde(default)]
    pub link_in: Option<u16>,
    /// The commitment the next member's `link_in` must equal.
    #[serde(default)]
    pub link_out: Option<u16>,
}

/// One member of an aggregate: what its proof claimed and how it links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregateMember {
    /// The member proof's parameters (its preset).
    pub params: BackendParams,
    /// The member proof's statement.
    pub statement: Statement,
    /// Its links.
    #[serde(default)]
    pub links: MemberLinks,
}

/// What a prover aggregates: a member proof, the Program it proves, its links.
#[derive(Debug, Clone, Copy)]
pub struct AggregateInput<'a> {
    /// The Program the member proves.
    pub program: &'a Program,
    /// The member's proof.
    pub envelope: &'a ProofEnvelope,
    /// Its links.
    pub links: MemberLinks,
}

/// An aggregated proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregateEnvelope {
    /// Format version ([`AGGREGATE_VERSION`]).
    pub version: u16,
    /// The backend that aggregated (and proved every member).
    pub backend: BackendId,
    /// The parameters of the aggregated proof itself (its final, compressed layer).
    pub params: BackendParams,
    /// The members, in order.
    pub members: Vec<AggregateMember>,
    /// The backend's proof bytes.
    #[serde(with = "crate::hexbytes::vec")]
    pub proof: Vec<u8>,
}

/// Why an aggregation was refused, or an aggregate does not verify before any cryptography.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AggregateError {
    /// The backend cannot aggregate.
    #[error("the {backend} backend cannot aggregate proofs")]
    Unsupported {
        /// The backend.
        backend: BackendId,
    },
    /// Nothing to aggregate.
    #[error("an aggregate needs at least one member")]
    Empty,
    /// A proof checked against an aggregate is none of its members (its statement, parameters
    /// or Program differ from every member's).
    #[error(
        "this {stage:?} proof is not a member of the aggregate (no member has its statement, parameters and Program)"
    )]
    NotAMember {
        /// The proof's stage.
        stage: crate::StageTag,
    },
    /// More members than the backend aggregates.
    #[error("{found} members; the {backend} backend aggregates at most {max}")]
    TooMany {
        /// The backend.
        backend: BackendId,
        /// Its limit.
        max: usize,
        /// Members given.
        found: usize,
    },
    /// Not one Program per member.
    #[error("the aggregate has {members} members; {programs} programs were given")]
    Count {
        /// Members.
        members: usize,
        /// Programs.
        programs: usize,
    },
    /// A member proved by another backend.
    #[error("member {index} was proved by the {found} backend, not {expected}")]
    Backend {
        /// Member index.
        index: usize,
        /// The aggregating backend.
        expected: BackendId,
        /// The member's.
        found: BackendId,
    },
    /// Members proved with different presets.
    #[error("member {index} uses preset {found}; member 0 uses {expected}")]
    MixedPresets {
        /// Member index.
        index: usize,
        /// Member 0's preset.
        expected: String,
        /// This member's.
        found: String,
    },
    /// The members' preset is not one of the backend's.
    #[error("the members use preset {preset}, which the {backend} backend does not have")]
    UnknownPreset {
        /// The backend.
        backend: BackendId,
        /// The preset named.
        preset: String,
    },
    /// A member's own proof does not verify (checked before aggregating).
    #[error("member {index} does not verify: {reason}")]
    MemberRejected {
        /// Member index.
        index: usize,
        /// The verifier's error.
        reason: String,
    },
    /// A link index beyond the member's commitments.
    #[error("member {index} links commitment {link}, but its statement has {commitments}")]
    LinkIndex {
        /// Member index.
        index: usize,
        /// The index.
        link: u16,
        /// Commitments in the statement.
        commitments: usize,
    },
    /// A member links in but the previous member links nothing out (or the first member links
    /// in to nothing).
    #[error("member {index} links in, but {}", if *index == 0 { "it is the first member".to_string() } else { format!("member {} links nothing out", index - 1) })]
    DanglingLink {
        /// Member index.
        index: usize,
    },
    /// Member `index`'s `link_in` commitment differs from the previous member's `link_out`.
    #[error("member {index} starts from {found}, but member {} ended at {expected}", index - 1)]
    Link {
        /// Member index.
        index: usize,
        /// The previous member's out commitment (hex).
        expected: String,
        /// This member's in commitment (hex).
        found: String,
    },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl AggregateMember {
    fn link_digest(
        &self,
        index: usize,
        link: Option<u16>,
    ) -> Result<Option<&[u8]>, AggregateError> {
        let Some(k) = link else { return Ok(None) };
        self.statement
            .commitments
            .get(usize::from(k))
            .map(|c| Some(c.digest.as_slice()))
            .ok_or(AggregateError::LinkIndex {
                index,
                link: k,
                commitments: self.statement.commitments.len(),
            })
    }
}

/// Check the links of a member list: indices in range, every `link_in` preceded by a
/// `link_out`, equal digests. Backends call it before aggregating and before verifying (the
/// aggregated proof enforces the same equalities; this gives the typed error first).
///
/// # Errors
/// The first [`AggregateError`] about links.
pub fn check_links(members: &[AggregateMember]) -> Result<(), AggregateError> {
    let mut previous: Option<&[u8]> = None;
    for (index, m) in members.iter().enumerate() {
        let input = m.link_digest(index, m.links.link_in)?;
        if let Some(found) = input {
            let Some(expected) = previous else {
                return Err(AggregateError::DanglingLink { index });
            };
            if expected != found {
                return Err(AggregateError::Link {
                    index,
                    expected: hex(expected),
                    found: hex(found),
                });
            }
        }
        previous = m.link_digest(index, m.links.link_out)?;
    }
    Ok(())
}

impl AggregateEnvelope {
    /// The member envelopes as a verifier sees them (statement and parameters, no proof):
    /// what [`crate::verify_preamble`] checks against each Program.
    #[must_use]
    pub fn member_envelopes(&self) -> Vec<ProofEnvelope> {
        self.members
            .iter()
            .map(|m| ProofEnvelope {
                version: crate::ENVELOPE_VERSION,
                backend: self.backend.clone(),
                params: m.params.clone(),
                statement: m.statement.clone(),
                proof: Vec::new(),
            })
            .collect()
    }

    /// The envelope of the aggregated proof itself (its parameters, the first member's
    /// statement), for policy checks.
    #[must_use]
    pub fn outer_envelope(&self) -> Option<ProofEnvelope> {
        self.members.first().map(|m| ProofEnvelope {
            version: crate::ENVELOPE_VERSION,
            backend: self.backend.clone(),
            params: self.params.clone(),
            statement: m.statement.clone(),
            proof: Vec::new(),
        })
    }

    /// Canonical binary encoding: magic, version, then the postcard body.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = AGGREGATE_MAGIC.to_vec();
        out.extend(AGGREGATE_VERSION.to_le_bytes());
        out.extend(postcard::to_allocvec(self).unwrap_or_default());
        out
    }

    /// Decode [`AggregateEnvelope::to_bytes`]: magic, version, body, no trailing bytes,
    /// [`AggregateEnvelope::validate`], canonical encoding. Never panics.
    ///
    /// # Errors
    /// The [`EnvelopeError`] of the first failing check.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let rest = bytes
            .strip_prefix(AGGREGATE_MAGIC.as_slice())
            .ok_or(EnvelopeError::Magic)?;
        let (version, body) = rest.split_at_checked(2).ok_or(EnvelopeError::Truncated)?;
        let found = u16::from_le_bytes(version.try_into().map_err(|_| EnvelopeError::Truncated)?);
        if found != AGGREGATE_VERSION {
            return Err(EnvelopeError::UnsupportedVersion {
                found,
                supported: AGGREGATE_VERSION,
            });
        }
        let (env, trailing): (AggregateEnvelope, &[u8]) =
            postcard::take_from_bytes(body).map_err(|e| match e {
                postcard::Error::DeserializeUnexpectedEnd => EnvelopeError::Truncated,
                _ => EnvelopeError::Body,
            })?;
        if !trailing.is_empty() {
            return Err(EnvelopeError::TrailingBytes {
                count: trailing.len(),
            });
        }
        if env.version != AGGREGATE_VERSION {
            return Err(EnvelopeError::Invalid { what: "version" });
        }
        env.validate()?;
        if env.to_bytes() != bytes {
            return Err(EnvelopeError::NonCanonical);
        }
        Ok(env)
    }

    /// The checks of [`ProofEnvelope::validate`] on the aggregate's own parameters and on
    /// every member (identifiers, claims, statements).
    ///
    /// # Errors
    /// The first [`EnvelopeError`].
    pub fn validate(&self) -> Result<(), EnvelopeError> {
        if let Some(outer) = self.outer_envelope() {
            outer.validate()?;
        }
        self.member_envelopes()
            .iter()
            .try_for_each(ProofEnvelope::validate)
    }
}
