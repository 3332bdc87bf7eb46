//! The Program IR: a DAG of ops over declared tensors.

use serde::{Deserialize, Serialize};
use zkmlops_field::Scale;

use crate::{DecodeReason, Op, OpError, ProgramDigest, ProgramError, Tensor, Witness};

/// Index of a tensor in its Program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TensorId(pub u32);

impl TensorId {
    /// The index as `usize`.
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Who may see a tensor's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Visibility {
    /// The values are part of the statement: the verifier sees them.
    Public,
    /// Hidden from the verifier and bound to nothing outside the proof.
    Private,
    /// Hidden from the verifier but bound to a published commitment: commitment group 0, the
    /// model commitment, which also binds the Program digest.
    Committed,
    /// Hidden and bound to commitment group `g >= 1`: a *lineage* commitment, independent of
    /// the Program, so different Programs (stages, segments) can commit to the same values and
    /// link their proofs through it. (Appended after `Committed`: encodings made before it
    /// decode unchanged.)
    CommittedTo(u16),
}

impl Visibility {
    /// The commitment group of a committed tensor (`Committed` is group 0).
    #[must_use]
    pub fn commitment_group(self) -> Option<u16> {
        match self {
            Visibility::Committed => Some(0),
            Visibility::CommittedTo(g) => Some(g),
            Visibility::Public | Visibility::Private => None,
        }
    }

    /// Whether the values are hidden from the verifier (private or committed).
    #[must_use]
    pub fn is_hidden(self) -> bool {
        self != Visibility::Public
    }
}

/// Where a tensor's values come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TensorKind {
    /// Supplied to [`Program::evaluate`] (an input, or weights kept out of the Program).
    Input,
    /// Fixed in the Program, so covered by its digest (always public).
    Constant(Vec<i64>),
    /// Produced by exactly one node.
    Computed,
}

/// The declaration of one tensor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "TensorDeclWire", into = "TensorDeclWire")]
pub struct TensorDecl {
    /// Unique name (errors and reports use it).
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Fixed-point scale of its values.
    pub scale: Scale,
    /// Who may see its values.
    pub visibility: Visibility,
    /// Where its values come from.
    pub kind: TensorKind,
    /// The declared bound of an input's values: each lies in `[-2^(bits-1), 2^(bits-1))`
    /// (64: anywhere in the fixed-point range, see [`MAX_INPUT_BITS`]).
    /// [`Program::evaluate`] rejects inputs outside it and every backend enforces it inside the
    /// proof (a range check of each hidden element; the verifier checks public ones), so the
    /// bounds of every computed tensor follow from the Program alone. Between 1 and
    /// [`MAX_INPUT_BITS`] for inputs ([`DEFAULT_INPUT_BITS`] unless
    /// [`ProgramBuilder::set_bits`] says otherwise); 0 for constants and computed tensors,
    /// whose bounds follow from their values or their ops, unless packed (below).
    pub bits: u8,
    /// Whether its commitment group absorbs it *packed*: several values to a field element
    /// (`zkmlops-commit`'s `Packing`), which is injective only within `bits`. Set by
    /// [`ProgramBuilder::pack`] on committed tensors of lineage groups, so that the stage that
    /// computes a dataset and the stage that reads it absorb it alike (group 0 packs its narrow
    /// inputs without it). A packed computed tensor declares `bits` (1 to
    /// [`MAX_PACKED_BITS`]): [`Program::evaluate`] refuses values outside them and every
    /// backend proves them inside, as for an input's bound.
    pub packed: bool,
}

/// How a [`TensorDecl`] is encoded: `packed` is bit 7 of the `bits` byte (widths take 7
/// bits). Added within Program format 2: no earlier encoding sets the bit, so every earlier
/// Program keeps its bytes and its digest, and an earlier decoder refuses a packed Program
/// (a width above 64 fails validation) rather than misreading it.
#[derive(Serialize, Deserialize)]
struct TensorDeclWire {
    name: String,
    shape: Vec<usize>,
    scale: Scale,
    visibility: Visibility,
    kind: TensorKind,
    bits: u8,
}

/// The `bits` byte's packed flag.
const PACKED_FLAG: u8 = 0x80;

impl From<TensorDecl> for TensorDeclWire {
    fn from(d: TensorDecl) -> Self {
        TensorDeclWire {
            name: d.name,
            shape: d.shape,
            scale: d.scale,
            visibility: d.visibility,
            kind: d.kind,
            bits: if d.packed {
                d.bits | PACKED_FLAG
            } else {
                d.bits
            },
        }
    }
}

impl From<TensorDeclWire> for TensorDecl {
    fn from(w: TensorDeclWire) -> Self {
        TensorDecl {
            name: w.name,
            shape: w.shape,
            scale: w.scale,
            visibility: w.visibility,
            kind: w.kind,
            bits: w.bits & !PACKED_FLAG,
            packed: w.bits & PACKED_FLAG != 0,
        }
    }
}

impl TensorDecl {
    /// The inclusive range `[lo, hi]` an input's values must lie in, `None` for constants and
    /// computed tensors.
    #[must_use]
    pub fn input_bound(&self) -> Option<(i64, i64)> {
        (self.kind == TensorKind::Input && (1..=MAX_INPUT_BITS).contains(&self.bits)).then(|| {
            if self.bits == MAX_INPUT_BITS {
                (-zkmlops_field::MAX_ABS, zkmlops_field::MAX_ABS)
            } else {
                let half = 1i64 << (self.bits - 1);
                (-half, half - 1)
            }
        })
    }

    /// The inclusive range a packed computed tensor's values are declared in (every backend
    /// proves it), `None` for every other tensor.
    #[must_use]
    pub fn output_bound(&self) -> Option<(i64, i64)> {
        (self.kind == TensorKind::Computed
            && self.packed
            && (1..=MAX_PACKED_BITS).contains(&self.bits))
        .then(|| {
            let half = 1i64 << (self.bits - 1);
            (-half, half - 1)
        })
    }
}

/// Bits an input is declared to fit unless its builder says otherwise: values in
/// `[-2^23, 2^23)`, e.g. reals up to +-32768 at scale 2^8.
pub const DEFAULT_INPUT_BITS: u8 = 24;
/// The widest declarable input bound, with a meaning of its own: any value of the fixed-point
/// range (`|v| <= zkmlops_field::MAX_ABS`), i.e. any field element, so the bound itself needs no check.
/// Meant for salts and other values that only feed commitments: arithmetic on such a tensor
/// could wrap mod p, so a backend must range-check what that arithmetic needs, or refuse it.
pub const MAX_INPUT_BITS: u8 = 64;
/// The widest bound a packed tensor declares ([`TensorDecl::packed`]): two 31-bit values make
/// 62 bits, below the Goldilocks modulus.
pub const MAX_PACKED_BITS: u8 = 31;

/// One node of the DAG: `output = op(inputs)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Node {
    /// The op.
    pub op: Op,
    /// Input tensors, in the op's order.
    pub inputs: Vec<TensorId>,
    /// The tensor it produces.
    pub output: TensorId,
}

/// A Program: declared tensors, nodes in topological order, and the designated outputs.
///
/// Build one with [`ProgramBuilder`]; a decoded or deserialised Program is validated the same
/// way ([`Program::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Program {
    tensors: Vec<TensorDecl>,
    nodes: Vec<Node>,
    outputs: Vec<TensorId>,
}

/// Magic bytes that open a canonical Program encoding.
pub const PROGRAM_MAGIC: [u8; 4] = *b"ZKMP";
/// Version of the Program encoding.
/// Version 2 added each input's declared bound ([`TensorDecl::bits`]); version-1 encodings
/// are refused with [`crate::DecodeReason::Version`]. Packed commitments
/// ([`TensorDecl::packed`]) are bit 7 of that bound's byte, which no earlier encoding sets.
pub const PROGRAM_FORMAT_VERSION: u16 = 2;

impl Program {
    /// Assemble and validate a Program from its parts.
    ///
    /// # Errors
    /// Any [`ProgramError`] found by [`Program::validate`].
    pub fn from_parts(
        tensors: Vec<TensorDecl>,
        nodes: Vec<Node>,
        outputs: Vec<TensorId>,
    ) -> Result<Self, ProgramError> {
        let p = Program {
            tensors,
            nodes,
            outputs,
        };
        p.validate()?;
        Ok(p)
    }

    /// All tensor declarations, indexed by [`TensorId`].
    #[must_use]
    pub fn tensors(&self) -> &[TensorDecl] {
        &self.tensors
    }

    /// The commitment groups ([`Visibility::commitment_group`]): each group number with its
    /// tensors in id order, groups in increasing order of their first tensor's id (the order
    /// of a statement's commitments, one per group, whatever the scheme).
    #[must_use]
    pub fn commitment_groups(&self) -> Vec<(u16, Vec<TensorId>)> {
        let mut groups: std::collections::BTreeMap<u16, Vec<TensorId>> =
            std::collections::BTreeMap::new();
        for (i, d) in self.tensors.iter().enumerate() {
            if let Some(g) = d.visibility.commitment_group() {
                groups
                    .entry(g)
                    .or_default()
                    .push(TensorId(u32::try_from(i).unwrap_or(u32::MAX)));
            }
        }
        let mut groups: Vec<(u16, Vec<TensorId>)> = groups.into_iter().collect();
        groups.sort_by_key(|(_, ids)| ids.first().copied());
        groups
    }

    /// The declaration of one tensor.
    #[must_use]
    pub fn tensor(&self, id: TensorId) -> Option<&TensorDecl> {
        self.tensors.get(id.index())
    }

    /// The nodes in evaluation order.
    #[must_use]
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The designated outputs.
    #[must_use]
    pub fn outputs(&self) -> &[TensorId] {
        &self.outputs
    }

    /// The input tensors, in declaration order: what [`Program::evaluate`] takes.
    pub fn input_ids(&self) -> impl Iterator<Item = TensorId> + '_ {
        self.ids()
            .filter(|id| self.tensors[id.index()].kind == TensorKind::Input)
    }

    fn ids(&self) -> impl Iterator<Item = TensorId> + '_ {
        (0..self.tensors.len()).map(|i| TensorId(u32::try_from(i).unwrap_or(u32::MAX)))
    }

    fn decl(&self, id: TensorId) -> Result<&TensorDecl, ProgramError> {
        self.tensors
            .get(id.index())
            .ok_or(ProgramError::UnknownTensor {
                id: id.0,
                count: self.tensors.len(),
            })
    }

    /// Check every structural rule: unique names, one producer per computed tensor and none for
    /// inputs and constants, topological node order, declarations equal to what each op infers,
    /// constants of the right length inside the fixed-point range, declared and distinct outputs.
    ///
    /// # Errors
    /// The first rule broken, as a [`ProgramError`].
    pub fn validate(&self) -> Result<(), ProgramError> {
        let mut names = std::collections::BTreeSet::new();
        for t in &self.tensors {
            if !names.insert(t.name.as_str()) {
                return Err(ProgramError::DuplicateName {
                    name: t.name.clone(),
                });
            }
            let bits_ok = match t.kind {
                TensorKind::Input => (1..=MAX_INPUT_BITS).contains(&t.bits),
                TensorKind::Computed if t.packed => true,
                _ => t.bits == 0,
            };
            if !bits_ok {
                return Err(ProgramError::Bits {
                    tensor: t.name.clone(),
                    bits: t.bits,
                });
            }
            let pack_ok = !t.packed
                || (!matches!(t.kind, TensorKind::Constant(_))
                    && t.visibility.commitment_group().is_some()
                    && (1..=MAX_PACKED_BITS).contains(&t.bits));
            if !pack_ok {
                return Err(ProgramError::Pack {
                    tensor: t.name.clone(),
                    bits: t.bits,
                });
            }
            if let TensorKind::Constant(data) = &t.kind {
                let c = Tensor::new(t.shape.clone(), data.clone()).map_err(|source| {
                    ProgramError::Constant {
                        tensor: t.name.clone(),
                        source,
                    }
                })?;
                if let Some(index) = c.first_out_of_range() {
                    return Err(ProgramError::Constant {
                        tensor: t.name.clone(),
                        source: OpError::Overflow {
                            op: "constant",
                            index,
                        },
                    });
                }
            }
        }
        let mut producers = vec![0usize; self.tensors.len()];
        let mut defined: Vec<bool> = self
            .tensors
            .iter()
            .map(|t| t.kind != TensorKind::Computed)
            .collect();
        for (i, node) in self.nodes.iter().enumerate() {
            let out = self.decl(node.output)?;
            let mut shapes = Vec::with_capacity(node.inputs.len());
            let mut scales = Vec::with_capacity(node.inputs.len());
            for &inp in &node.inputs {
                let d = self.decl(inp)?;
                if !defined[inp.index()] {
                    return Err(ProgramError::NotYetDefined {
                        node: i,
                        tensor: d.name.clone(),
                    });
                }
                shapes.push(d.shape.as_slice());
                scales.push(d.scale);
            }
            let (shape, scale) =
                node.op
                    .infer(&shapes, &scales)
                    .map_err(|source| ProgramError::Op {
                        node: i,
                        op: node.op.name(),
                        tensor: out.name.clone(),
                        source,
                    })?;
            if shape != out.shape || scale != out.scale {
                return Err(ProgramError::DeclarationMismatch {
                    tensor: out.name.clone(),
                    declared_shape: out.shape.clone(),
                    declared_scale: out.scale.bits(),
                    inferred_shape: shape,
                    inferred_scale: scale.bits(),
                });
            }
            producers[node.output.index()] += 1;
            if out.kind != TensorKind::Computed || producers[node.output.index()] > 1 {
                return Err(ProgramError::Producers {
                    tensor: out.name.clone(),
                    producers: producers[node.output.index()],
                });
            }
            defined[node.output.index()] = true;
        }
        for (t, &n) in self.tensors.iter().zip(&producers) {
            if t.kind == TensorKind::Computed && n != 1 {
                return Err(ProgramError::Producers {
                    tensor: t.name.clone(),
                    producers: n,
                });
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for &o in &self.outputs {
            if o.index() >= self.tensors.len() || !seen.insert(o) {
                return Err(ProgramError::BadOutput { id: o });
            }
        }
        Ok(())
    }

    /// Run the reference semantics: `inputs` are the values of [`Program::input_ids`] in order.
    /// Returns every tensor's values.
    ///
    /// # Errors
    /// [`ProgramError::InputCount`], [`ProgramError::InputShape`],
    /// [`ProgramError::InputOutOfRange`], or [`ProgramError::Op`] naming the first node whose op
    /// fails (overflow included), its op and its output tensor.
    pub fn evaluate(&self, inputs: &[Tensor]) -> Result<Witness, ProgramError> {
        let input_ids: Vec<TensorId> = self.input_ids().collect();
        if input_ids.len() != inputs.len() {
            return Err(ProgramError::InputCount {
                expected: input_ids.len(),
                got: inputs.len(),
            });
        }
        let mut values: Vec<Option<Tensor>> = vec![None; self.tensors.len()];
        for (&id, t) in input_ids.iter().zip(inputs) {
            let d = &self.tensors[id.index()];
            if t.shape() != d.shape.as_slice() {
                return Err(ProgramError::InputShape {
                    tensor: d.name.clone(),
                    expected: d.shape.clone(),
                    got: t.shape().to_vec(),
                });
            }
            if let Some(index) = t.first_out_of_range() {
                return Err(ProgramError::InputOutOfRange {
                    tensor: d.name.clone(),
                    index,
                    value: t.data()[index],
                });
            }
            check_bound(d, t)?;
            values[id.index()] = Some(t.clone());
        }
        for (id, d) in self.ids().zip(&self.tensors) {
            if let TensorKind::Constant(data) = &d.kind {
                values[id.index()] = Some(Tensor::new(d.shape.clone(), data.clone()).map_err(
                    |source| ProgramError::Constant {
                        tensor: d.name.clone(),
                        source,
                    },
                )?);
            }
        }
        for (i, node) in self.nodes.iter().enumerate() {
            let out = self.run_node(i, node, &values)?;
            check_bound(&self.tensors[node.output.index()], &out)?;
            values[node.output.index()] = Some(out);
        }
        let values = values
            .into_iter()
            .zip(&self.tensors)
            .map(|(v, d)| {
                v.ok_or_else(|| ProgramError::Producers {
                    tensor: d.name.clone(),
                    producers: 0,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Witness::new(values))
    }

    fn run_node(
        &self,
        i: usize,
        node: &Node,
        values: &[Option<Tensor>],
    ) -> Result<Tensor, ProgramError> {
        let out_name = || self.tensors[node.output.index()].name.clone();
        let args = node
            .inputs
            .iter()
            .map(|id| {
                values[id.index()]
                    .as_ref()
                    .ok_or_else(|| ProgramError::NotYetDefined {
                        node: i,
                        tensor: self.tensors[id.index()].name.clone(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        node.op.apply(&args).map_err(|source| ProgramError::Op {
            node: i,
            op: node.op.name(),
            tensor: out_name(),
            source,
        })
    }

    /// Check a witness against the Program: every tensor has its declared shape and lies in the
    /// fixed-point range, constants hold their values, and every node's output equals its op
    /// applied to the witness's inputs. Backends call this before proving.
    ///
    /// # Errors
    /// [`ProgramError::WitnessMismatch`] naming the first tensor that is wrong, or the error of a
    /// node that fails on the witness's values.
    pub fn check_witness(&self, witness: &Witness) -> Result<(), ProgramError> {
        let vals = witness.values();
        if vals.len() != self.tensors.len() {
            return Err(ProgramError::InputCount {
                expected: self.tensors.len(),
                got: vals.len(),
            });
        }
        for (d, v) in self.tensors.iter().zip(vals) {
            let bad_const = matches!(&d.kind, TensorKind::Constant(c) if c.as_slice() != v.data());
            if v.shape() != d.shape.as_slice() || v.first_out_of_range().is_some() || bad_const {
                return Err(ProgramError::WitnessMismatch {
                    tensor: d.name.clone(),
                });
            }
            check_bound(d, v)?;
        }
        let opt: Vec<Option<Tensor>> = vals.iter().cloned().map(Some).collect();
        for (i, node) in self.nodes.iter().enumerate() {
            if self.run_node(i, node, &opt)? != vals[node.output.index()] {
                return Err(ProgramError::WitnessMismatch {
                    tensor: self.tensors[node.output.index()].name.clone(),
                });
            }
        }
        Ok(())
    }

    /// The canonical binary encoding: [`PROGRAM_MAGIC`], the format version (u16 LE), then the
    /// postcard encoding of the Program. Deterministic: equal Programs give equal bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = PROGRAM_MAGIC.to_vec();
        out.extend_from_slice(&PROGRAM_FORMAT_VERSION.to_le_bytes());
        // Serialising plain data into a Vec cannot fail.
        out.extend(postcard::to_allocvec(self).unwrap_or_default());
        out
    }

    /// Decode and validate a canonical encoding; trailing bytes and non-canonical encodings are
    /// rejected.
    ///
    /// # Errors
    /// [`ProgramError::Decode`] for malformed bytes, or the validation error of a well-formed
    /// but invalid Program.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProgramError> {
        let dec = |reason| ProgramError::Decode { reason };
        let rest = bytes
            .strip_prefix(&PROGRAM_MAGIC)
            .ok_or(dec(DecodeReason::Magic))?;
        let (ver, body) = rest
            .split_first_chunk::<2>()
            .ok_or(dec(DecodeReason::Body))?;
        let ver = u16::from_le_bytes(*ver);
        if ver != PROGRAM_FORMAT_VERSION {
            return Err(dec(DecodeReason::Version(ver)));
        }
        let (p, tail): (Program, &[u8]) =
            postcard::take_from_bytes(body).map_err(|_| dec(DecodeReason::Body))?;
        if !tail.is_empty() {
            return Err(dec(DecodeReason::TrailingBytes(tail.len())));
        }
        p.validate()?;
        if p.to_bytes() != bytes {
            return Err(dec(DecodeReason::NonCanonical));
        }
        Ok(p)
    }

    /// The Keccak-256 digest of the canonical encoding, domain-separated; statements bind it.
    #[must_use]
    pub fn digest(&self) -> ProgramDigest {
        ProgramDigest::of_encoding(&self.to_bytes())
    }
}

/// An input's (or a packed computed tensor's) values against its declared bound.
fn check_bound(d: &TensorDecl, t: &Tensor) -> Result<(), ProgramError> {
    let (bound, input) = match (d.input_bound(), d.output_bound()) {
        (Some(b), _) => (b, true),
        (None, Some(b)) => (b, false),
        (None, None) => return Ok(()),
    };
    let (lo, hi) = bound;
    let Some(index) = t.data().iter().position(|v| !(lo..=hi).contains(v)) else {
        return Ok(());
    };
    let (tensor, value, bits) = (d.name.clone(), t.data()[index], d.bits);
    Err(if input {
        ProgramError::InputOutOfBound {
            tensor,
            index,
            value,
            bits,
        }
    } else {
        ProgramError::OutputOutOfBound {
            tensor,
            index,
            value,
            bits,
        }
    })
}

/// Builds a [`Program`], inferring each computed tensor's shape and scale from its op.
///
/// ```
/// use zkmlops_tensor::{Op, ProgramBuilder, Tensor, Visibility};
/// use zkmlops_field::Scale;
///
/// let s = Scale::new(4)?;
/// let mut b = ProgramBuilder::new();
/// let x = b.input("x", &[1, 2], s, Visibility::Private);
/// let w = b.constant("w", Tensor::matrix(&[[16, 0], [8, -16]])?, s)?;
/// let y = b.op("y", Op::MatMul, &[x, w])?;
/// b.output(y, Visibility::Public)?;
/// let program = b.build()?;
/// let witness = program.evaluate(&[Tensor::matrix(&[[32, 16]])?])?;
/// assert_eq!(witness.get(y).unwrap().data(), &[32 * 16 + 16 * 8, -16 * 16]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct ProgramBuilder {
    tensors: Vec<TensorDecl>,
    nodes: Vec<Node>,
    outputs: Vec<TensorId>,
}

impl ProgramBuilder {
    /// An empty builder.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, decl: TensorDecl) -> TensorId {
        self.tensors.push(decl);
        TensorId(u32::try_from(self.tensors.len() - 1).unwrap_or(u32::MAX))
    }

    /// Declare an input tensor (its values are given to [`Program::evaluate`]).
    pub fn input(
        &mut self,
        name: &str,
        shape: &[usize],
        scale: Scale,
        visibility: Visibility,
    ) -> TensorId {
        self.push_input(name, shape, scale, visibility, DEFAULT_INPUT_BITS)
    }

    fn push_input(
        &mut self,
        name: &str,
        shape: &[usize],
        scale: Scale,
        visibility: Visibility,
        bits: u8,
    ) -> TensorId {
        self.push(TensorDecl {
            name: name.into(),
            shape: shape.to_vec(),
            scale,
            visibility,
            kind: TensorKind::Input,
            bits,
            packed: false,
        })
    }

    fn decl_mut(&mut self, id: TensorId) -> Result<&mut TensorDecl, ProgramError> {
        let count = self.tensors.len();
        self.tensors
            .get_mut(id.index())
            .ok_or(ProgramError::UnknownTensor { id: id.0, count })
    }

    /// Declare an input whose values may be anywhere in the fixed-point range
    /// ([`MAX_INPUT_BITS`]): for salts and other values that only commitments read. Backends
    /// spend no range check on it unless arithmetic reads it, and then check what that
    /// arithmetic needs (or refuse the Program).
    pub fn unbounded_input(
        &mut self,
        name: &str,
        shape: &[usize],
        scale: Scale,
        visibility: Visibility,
    ) -> TensorId {
        self.push_input(name, shape, scale, visibility, MAX_INPUT_BITS)
    }

    /// Declare the bound of an input's values: `[-2^(bits-1), 2^(bits-1))`, `bits` in
    /// `1..=MAX_INPUT_BITS`. Narrow bounds are cheaper to prove (fewer range-check limbs) and
    /// let more arithmetic be proved without wrap-around; the bound is part of the Program, so
    /// its digest binds it and a verifier learns it from the statement.
    ///
    /// # Errors
    /// [`ProgramError::UnknownTensor`], or [`ProgramError::Bits`] for a tensor that is not an
    /// input or a width outside `1..=MAX_INPUT_BITS`.
    pub fn set_bits(&mut self, id: TensorId, bits: u8) -> Result<(), ProgramError> {
        let d = self.decl_mut(id)?;
        if d.kind != TensorKind::Input || !(1..=MAX_INPUT_BITS).contains(&bits) {
            return Err(ProgramError::Bits {
                tensor: d.name.clone(),
                bits,
            });
        }
        d.bits = bits;
        Ok(())
    }

    /// Absorb a committed tensor *packed* in its commitment group ([`TensorDecl::packed`]):
    /// `pack_width(bits)` values to a field element, each declared in `[-2^(bits-1),
    /// 2^(bits-1))`, `bits` in `1..=MAX_PACKED_BITS`. For an input this is its declared bound
    /// (as [`ProgramBuilder::set_bits`]); for a computed tensor a bound the evaluation checks and
    /// every backend proves. Two stages that share a committed tensor (a dataset computed by
    /// one and read by the next) must declare it alike for their digests to agree. The tensor
    /// must be committed by the time [`ProgramBuilder::build`] runs.
    ///
    /// # Errors
    /// [`ProgramError::UnknownTensor`], or [`ProgramError::Pack`] for a constant or a width
    /// outside `1..=MAX_PACKED_BITS`.
    pub fn pack(&mut self, id: TensorId, bits: u8) -> Result<(), ProgramError> {
        let d = self.decl_mut(id)?;
        if matches!(d.kind, TensorKind::Constant(_)) || !(1..=MAX_PACKED_BITS).contains(&bits) {
            return Err(ProgramError::Pack {
                tensor: d.name.clone(),
                bits,
            });
        }
        d.bits = bits;
        d.packed = true;
        Ok(())
    }

    /// Declare a public constant, fixed in the Program.
    ///
    /// # Errors
    /// [`ProgramError::Constant`] when a value is outside the fixed-point range.
    pub fn constant(
        &mut self,
        name: &str,
        value: Tensor,
        scale: Scale,
    ) -> Result<TensorId, ProgramError> {
        if let Some(index) = value.first_out_of_range() {
            return Err(ProgramError::Constant {
                tensor: name.into(),
                source: OpError::Overflow {
                    op: "constant",
                    index,
                },
            });
        }
        let shape = value.shape().to_vec();
        Ok(self.push(TensorDecl {
            name: name.into(),
            shape,
            scale,
            visibility: Visibility::Public,
            kind: TensorKind::Constant(value.into_data()),
            bits: 0,
            packed: false,
        }))
    }

    /// Add a node; its output (private until [`ProgramBuilder::output`] says otherwise) gets
    /// the shape and scale the op infers.
    ///
    /// # Errors
    /// [`ProgramError::UnknownTensor`] or [`ProgramError::Op`] when the op rejects its inputs.
    pub fn op(
        &mut self,
        name: &str,
        op: Op,
        inputs: &[TensorId],
    ) -> Result<TensorId, ProgramError> {
        let count = self.tensors.len();
        let decls = inputs
            .iter()
            .map(|id| {
                self.tensors
                    .get(id.index())
                    .ok_or(ProgramError::UnknownTensor { id: id.0, count })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let shapes: Vec<&[usize]> = decls.iter().map(|d| d.shape.as_slice()).collect();
        let scales: Vec<Scale> = decls.iter().map(|d| d.scale).collect();
        let (shape, scale) = op
            .infer(&shapes, &scales)
            .map_err(|source| ProgramError::Op {
                node: self.nodes.len(),
                op: op.name(),
                tensor: name.into(),
                source,
            })?;
        let output = self.push(TensorDecl {
            name: name.into(),
            shape,
            scale,
            visibility: Visibility::Private,
            kind: TensorKind::Computed,
            bits: 0,
            packed: false,
        });
        self.nodes.push(Node {
            op,
            inputs: inputs.to_vec(),
            output,
        });
        Ok(output)
    }

    /// The shape of a declared tensor.
    ///
    /// # Errors
    /// [`ProgramError::UnknownTensor`].
    pub fn shape(&self, id: TensorId) -> Result<&[usize], ProgramError> {
        let count = self.tensors.len();
        self.tensors
            .get(id.index())
            .map(|d| d.shape.as_slice())
            .ok_or(ProgramError::UnknownTensor { id: id.0, count })
    }

    /// Whether `id` is already an output.
    #[must_use]
    pub fn is_output(&self, id: TensorId) -> bool {
        self.outputs.contains(&id)
    }

    /// The name of a declared tensor.
    ///
    /// # Errors
    /// [`ProgramError::UnknownTensor`].
    pub fn name(&self, id: TensorId) -> Result<&str, ProgramError> {
        let count = self.tensors.len();
        self.tensors
            .get(id.index())
            .map(|d| d.name.as_str())
            .ok_or(ProgramError::UnknownTensor { id: id.0, count })
    }

    /// The scale of a declared tensor.
    ///
    /// # Errors
    /// [`ProgramError::UnknownTensor`].
    pub fn scale(&self, id: TensorId) -> Result<Scale, ProgramError> {
        let count = self.tensors.len();
        self.tensors
            .get(id.index())
            .map(|d| d.scale)
            .ok_or(ProgramError::UnknownTensor { id: id.0, count })
    }

    /// Mark a tensor as a Program output with the given visibility.
    ///
    /// # Errors
    /// [`ProgramError::UnknownTensor`].
    pub fn output(&mut self, id: TensorId, visibility: Visibility) -> Result<(), ProgramError> {
        let d = self.decl_mut(id)?;
        d.visibility = visibility;
        self.outputs.push(id);
        Ok(())
    }

    /// Change a tensor's visibility (constants stay public).
    ///
    /// # Errors
    /// [`ProgramError::UnknownTensor`].
    pub fn set_visibility(
        &mut self,
        id: TensorId,
        visibility: Visibility,
    ) -> Result<(), ProgramError> {
        let d = self.decl_mut(id)?;
        if !matches!(d.kind, TensorKind::Constant(_)) {
            d.visibility = visibility;
        }
        Ok(())
    }

    /// Validate and return the Program.
    ///
    /// # Errors
    /// Any [`ProgramError`] of [`Program::validate`].
    pub fn build(self) -> Result<Program, ProgramError> {
        Program::from_parts(self.tensors, self.nodes, self.outputs)
    }
}
