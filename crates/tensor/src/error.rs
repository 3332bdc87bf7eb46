use thiserror::Error;

use crate::TensorId;

/// An error of one op's reference semantics, before it is placed in a Program.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum OpError {
    /// Data length does not match the product of the shape.
    #[error("a tensor of shape {shape:?} needs {expected} values, got {got}")]
    DataLength {
        /// Declared shape.
        shape: Vec<usize>,
        /// Product of the shape.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// An input's rank is not what the op needs.
    #[error("{op}: input {input} must have rank {expected}, got shape {got:?}")]
    Rank {
        /// Op name.
        op: &'static str,
        /// Position of the input.
        input: usize,
        /// Required rank.
        expected: usize,
        /// Shape given.
        got: Vec<usize>,
    },
    /// Two shapes that the op needs to agree do not.
    #[error("{op}: shapes {lhs:?} and {rhs:?} are incompatible")]
    Incompatible {
        /// Op name.
        op: &'static str,
        /// First shape.
        lhs: Vec<usize>,
        /// Second shape.
        rhs: Vec<usize>,
    },
    /// The op got the wrong number of inputs.
    #[error("{op}: expected {expected} inputs, got {got}")]
    Arity {
        /// Op name.
        op: &'static str,
        /// Accepted input counts, as "n" or "n..m".
        expected: &'static str,
        /// Inputs given.
        got: usize,
    },
    /// A parameter with a value the op cannot use.
    #[error("{op}: parameter {param} = {value} is invalid")]
    Param {
        /// Op name.
        op: &'static str,
        /// Parameter name.
        param: &'static str,
        /// Value given.
        value: i64,
    },
    /// A value left the fixed-point range (see `zkmlops_field::MAX_ABS`).
    #[error("{op}: output element {index} overflows the fixed-point range")]
    Overflow {
        /// Op name.
        op: &'static str,
        /// Flat (row-major) index of the output element.
        index: usize,
    },
    /// An input value outside the op's domain (a negative square root, a mask that is not
    /// 0/1).
    #[error("{op}: input element {index} = {value} is outside the domain ({allowed})")]
    Domain {
        /// Op name.
        op: &'static str,
        /// Flat index of the input element.
        index: usize,
        /// The value.
        value: i64,
        /// The domain.
        allowed: &'static str,
    },
    /// A lookup table that cannot be built.
    #[error("{op}: {source}")]
    Table {
        /// Op name.
        op: &'static str,
        /// Why.
        source: Box<zkmlops_lookup::LookupError>,
    },
    /// Input scales that break the op's scale rule.
    #[error("{op}: input scales 2^{lhs} and 2^{rhs} do not satisfy the op's scale rule")]
    ScaleMismatch {
        /// Op name.
        op: &'static str,
        /// Scale exponent of the first input concerned.
        lhs: u32,
        /// Scale exponent of the second input concerned (or the required one).
        rhs: u32,
    },
}

/// An error in building, decoding or evaluating a [`crate::Program`].
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ProgramError {
    /// An op failed; the node, op and tensor are named.
    #[error("node {node} ({op}) producing tensor `{tensor}`: {source}")]
    Op {
        /// Index of the node.
        node: usize,
        /// Op name.
        op: &'static str,
        /// Name of the output tensor.
        tensor: String,
        /// What went wrong.
        source: OpError,
    },
    /// A tensor id that is not declared.
    #[error("tensor id {id} is not declared ({count} tensors)")]
    UnknownTensor {
        /// The id.
        id: u32,
        /// Number of declared tensors.
        count: usize,
    },
    /// A node reads a tensor before it is produced (the node list must be topological).
    #[error("node {node} reads tensor `{tensor}` before it is produced")]
    NotYetDefined {
        /// Index of the node.
        node: usize,
        /// Name of the tensor.
        tensor: String,
    },
    /// A computed tensor with no producing node, or with more than one.
    #[error("tensor `{tensor}` must be produced by exactly one node, found {producers}")]
    Producers {
        /// Name of the tensor.
        tensor: String,
        /// Number of producing nodes.
        producers: usize,
    },
    /// A declared shape or scale that differs from what the producing op infers.
    #[error(
        "tensor `{tensor}` is declared {declared_shape:?} at 2^{declared_scale}, its op gives {inferred_shape:?} at 2^{inferred_scale}"
    )]
    DeclarationMismatch {
        /// Name of the tensor.
        tensor: String,
        /// Declared shape.
        declared_shape: Vec<usize>,
        /// Declared scale exponent.
        declared_scale: u32,
        /// Inferred shape.
        inferred_shape: Vec<usize>,
        /// Inferred scale exponent.
        inferred_scale: u32,
    },
    /// A constant's values do not fit its declaration.
    #[error("constant `{tensor}`: {source}")]
    Constant {
        /// Name of the tensor.
        tensor: String,
        /// What went wrong.
        source: OpError,
    },
    /// Two tensors share a name.
    #[error("tensor name `{name}` is used twice")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// Wrong number of input tensors given to `evaluate`.
    #[error("the program has {expected} inputs, {got} were given")]
    InputCount {
        /// Declared inputs.
        expected: usize,
        /// Inputs given.
        got: usize,
    },
    /// An input tensor with the wrong shape.
    #[error("input `{tensor}` must have shape {expected:?}, got {got:?}")]
    InputShape {
        /// Name of the input.
        tensor: String,
        /// Declared shape.
        expected: Vec<usize>,
        /// Given shape.
        got: Vec<usize>,
    },
    /// An input value outside the fixed-point range.
    #[error("input `{tensor}` element {index} = {value} is outside the fixed-point range")]
    InputOutOfRange {
        /// Name of the input.
        tensor: String,
        /// Flat index.
        index: usize,
        /// The value.
        value: i64,
    },
    /// An input value outside the bound its declaration gives ([`crate::TensorDecl::bits`]).
    #[error(
        "input `{tensor}` element {index} = {value} is outside its declared bound [-2^{}, 2^{})",
        u32::from(*bits).saturating_sub(1),
        u32::from(*bits).saturating_sub(1)
    )]
    InputOutOfBound {
        /// Name of the input.
        tensor: String,
        /// Flat index.
        index: usize,
        /// The value.
        value: i64,
        /// The declared width.
        bits: u8,
    },
    /// A packed computed tensor's value outside its declared bound ([`crate::TensorDecl::packed`]).
    #[error(
        "`{tensor}` element {index} = {value} is outside the bound its packed commitment declares [-2^{}, 2^{})",
        u32::from(*bits).saturating_sub(1),
        u32::from(*bits).saturating_sub(1)
    )]
    OutputOutOfBound {
        /// Name of the tensor.
        tensor: String,
        /// Flat index.
        index: usize,
        /// The value.
        value: i64,
        /// The declared width.
        bits: u8,
    },
    /// A packed commitment that is not allowed: only a committed input or computed tensor,
    /// declared with 1 to 31 bits.
    #[error(
        "tensor `{tensor}` cannot be packed with {bits} bits (only committed inputs and computed tensors, 1..=31 bits)"
    )]
    Pack {
        /// The tensor.
        tensor: String,
        /// The width given.
        bits: u8,
    },
    /// A declared bound that is not allowed: inputs declare 1 to 64 bits, other tensors none.
    #[error(
        "tensor `{tensor}` cannot declare a {bits}-bit bound (inputs take 1..=64 bits, constants and computed tensors none)"
    )]
    Bits {
        /// The tensor.
        tensor: String,
        /// The width given.
        bits: u8,
    },
    /// A program output that is not a declared tensor, or declared twice.
    #[error("output {id:?} is listed twice or not declared")]
    BadOutput {
        /// The id.
        id: TensorId,
    },
    /// The encoding of a Program could not be decoded.
    #[error("malformed program encoding: {reason}")]
    Decode {
        /// Which check failed.
        reason: DecodeReason,
    },
    /// A witness that does not match the Program's declarations.
    #[error("witness does not match the program: tensor `{tensor}`")]
    WitnessMismatch {
        /// Name of the first mismatching tensor.
        tensor: String,
    },
}

/// Why a Program encoding was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeReason {
    /// The format magic is missing.
    #[error("missing magic bytes")]
    Magic,
    /// The format version is not supported.
    #[error(
        "unsupported Program format version {0} (this build reads version {v}; version 1 lacks the declared input bounds: rebuild the Program or recompile the model)",
        v = crate::PROGRAM_FORMAT_VERSION
    )]
    Version(u16),
    /// The body is not a valid encoding.
    #[error("invalid body")]
    Body,
    /// Bytes follow the encoding.
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
    /// The bytes decode but are not the canonical encoding of the value.
    #[error("non-canonical encoding")]
    NonCanonical,
}
