//! Import settings: scales, visibilities and calibrated ranges (a documented JSON file, see
//! `docs/onnx.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zkmlops_tensor::Visibility;

use crate::OnnxError;

/// Version of the settings format.
pub const SETTINGS_VERSION: u32 = 1;
/// Largest scale calibration tries (and the largest accepted): `2^16`.
pub const MAX_SCALE_BITS: u32 = 16;

/// How an ONNX model becomes a Program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Settings format version ([`SETTINGS_VERSION`]).
    pub version: u32,
    /// The input shape; the model's declared shape (symbolic dimensions as 1) when absent. For
    /// a model with several graph inputs, the flat shape `[total]` of all of them concatenated.
    pub input_shape: Option<Vec<usize>>,
    /// For a model with several graph inputs: each one's shape, in graph order (declared
    /// shapes when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_shapes: Option<Vec<Vec<usize>>>,
    /// Graph inputs fixed at compile time, by name: their values are constants of the Program
    /// (a shape an `Expand` or `Reshape` reads, indices, axes, or weights a node needs as
    /// constants, such as `Resize` scales or `ConvTranspose` kernels), so a circuit can be
    /// built. Proofs are for these values, which the verifier knows as part of the Program: a
    /// prove input must carry exactly them in its slice of the sample
    /// ([`crate::CompiledModel::witness`] refuses another, then drops the slice: the
    /// Program's input is the other graph inputs). Calibration fixes a graph input from its
    /// first sample when a node needs it constant.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fixed_inputs: BTreeMap<String, Vec<f64>>,
    /// Fixed-point scale of the input and every activation, in bits (`2^scale_bits`).
    pub scale_bits: u32,
    /// Scale of weights and other constants, in bits (`scale_bits` when absent).
    pub param_scale_bits: Option<u32>,
    /// Who sees the input.
    #[serde(with = "vis")]
    pub input_visibility: Visibility,
    /// Who sees the weights.
    #[serde(with = "vis")]
    pub param_visibility: Visibility,
    /// Who sees the outputs.
    #[serde(with = "vis")]
    pub output_visibility: Visibility,
    /// Float range `[min, max]` of each ONNX tensor seen during calibration. Import uses them
    /// for table domains that depend on the data (the variance bound of LayerNormalization).
    pub ranges: BTreeMap<String, [f64; 2]>,
}

impl Default for Settings {
    /// Scale `2^10`, input private, weights committed, outputs public, no calibrated ranges.
    fn default() -> Self {
        Settings {
            version: SETTINGS_VERSION,
            input_shape: None,
            input_shapes: None,
            fixed_inputs: BTreeMap::new(),
            scale_bits: 10,
            param_scale_bits: None,
            input_visibility: Visibility::Private,
            param_visibility: Visibility::Committed,
            output_visibility: Visibility::Public,
            ranges: BTreeMap::new(),
        }
    }
}

impl Settings {
    /// Set the graph inputs' shapes, one per input in graph order: a model with one input
    /// takes it as `input_shape`, a model with several as `input_shapes`.
    ///
    /// ```
    /// let mut s = zkmlops_onnx::Settings::default();
    /// s.set_input_shapes(vec![vec![8, 4]]);
    /// assert_eq!((s.input_shape.clone(), s.input_shapes.clone()), (Some(vec![8, 4]), None));
    /// s.set_input_shapes(vec![vec![2, 3], vec![2]]);
    /// assert_eq!(s.input_shape, None);
    /// assert_eq!(s.input_shapes, Some(vec![vec![2, 3], vec![2]]));
    /// ```
    pub fn set_input_shapes(&mut self, mut shapes: Vec<Vec<usize>>) {
        if let [_] = shapes.as_slice() {
            self.input_shape = shapes.pop();
            self.input_shapes = None;
        } else {
            self.input_shape = None;
            self.input_shapes = Some(shapes);
        }
    }

    /// Parse settings from JSON (unknown fields are errors).
    ///
    /// # Errors
    /// [`OnnxError::Settings`], or [`OnnxError::SettingRange`] for a value out of range.
    pub fn from_json(text: &str) -> Result<Self, OnnxError> {
        let s: Settings =
            serde_json::from_str(text).map_err(|source| OnnxError::Settings { source })?;
        s.validate()?;
        Ok(s)
    }

    /// The settings as pretty JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The weights' scale in bits.
    #[must_use]
    pub fn param_bits(&self) -> u32 {
        self.param_scale_bits.unwrap_or(self.scale_bits)
    }

    /// Check every value's range.
    ///
    /// # Errors
    /// [`OnnxError::SettingRange`].
    pub fn validate(&self) -> Result<(), OnnxError> {
        let range = |name, v: u32| {
            if (1..=MAX_SCALE_BITS).contains(&v) {
                Ok(())
            } else {
                Err(OnnxError::SettingRange {
                    name,
                    value: v.to_string(),
                    allowed: "1..=16",
                })
            }
        };
        if self.version != SETTINGS_VERSION {
            return Err(OnnxError::SettingRange {
                name: "version",
                value: self.version.to_string(),
                allowed: "1",
            });
        }
        range("scale_bits", self.scale_bits)?;
        range("param_scale_bits", self.param_bits())?;
        // A scalar input (`[]`) is a shape like any other; an empty tensor is not an input.
        if let Some(shape) = &self.input_shape
            && shape.contains(&0)
        {
            return Err(OnnxError::SettingRange {
                name: "input_shape",
                value: format!("{shape:?}"),
                allowed: "no zero dimension",
            });
        }
        Ok(())
    }
}

/// `"public" | "private" | "committed"` in JSON.
mod vis {
    use serde::{Deserialize, Deserializer, Serializer};
    use zkmlops_tensor::Visibility;

    pub(super) fn serialize<S: Serializer>(v: &Visibility, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::visibility_name(*v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Visibility, D::Error> {
        let name = String::deserialize(d)?;
        super::parse_visibility(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown visibility `{name}` (public, private or committed)"
            ))
        })
    }
}

/// The lowercase name of a visibility: `public`, `private`, `committed` (the model
/// commitment, group 0) or `committed:G` (lineage commitment group `G`).
#[must_use]
pub fn visibility_name(v: Visibility) -> String {
    match v {
        Visibility::Public => "public".into(),
        Visibility::Private => "private".into(),
        Visibility::Committed => "committed".into(),
        Visibility::CommittedTo(g) => format!("committed:{g}"),
    }
}

/// Parse a [`visibility_name`].
#[must_use]
pub fn parse_visibility(name: &str) -> Option<Visibility> {
    match name {
        "public" => Some(Visibility::Public),
        "private" => Some(Visibility::Private),
        "committed" => Some(Visibility::Committed),
        other => other
            .strip_prefix("committed:")
            .and_then(|g| g.parse::<u16>().ok())
            .map(|g| {
                if g == 0 {
                    Visibility::Committed
                } else {
                    Visibility::CommittedTo(g)
                }
            }),
    }
}

/// An input file in EZKL's layout: `{"input_data": [[...], ...]}`, one flattened sample per
/// row (the CLI's `--input` and `--data` files). A row may also be nested as the tensor's
/// shape (`[[1, 2], [3, 4]]`, read row-major) and hold booleans (`true` is 1).
///
/// ```
/// let f = zkmlops_onnx::InputData::from_json(br#"{"input_data": [[0.5, -1.0]]}"#)?;
/// assert_eq!(f.input_data, vec![vec![0.5, -1.0]]);
/// let nested = zkmlops_onnx::InputData::from_json(br#"{"input_data": [[[1, 2], [3, true]]]}"#)?;
/// assert_eq!(nested.input_data, vec![vec![1.0, 2.0, 3.0, 1.0]]);
/// // Numbers JSON cannot hold as an f64 are a parse error, not an infinity.
/// assert!(zkmlops_onnx::InputData::from_json(br#"{"input_data": [[1e999]]}"#).is_err());
/// assert!(zkmlops_onnx::InputData::from_json(br#"{"input_data": [["1"]]}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InputData {
    /// The samples, each flattened in row-major order.
    #[serde(deserialize_with = "flattened_rows")]
    pub input_data: Vec<Vec<f64>>,
}

/// One value of an input row: a number, a boolean or a nested list of them.
enum Nested {
    Number(f64),
    Bool(bool),
    List(Vec<Nested>),
}

impl<'de> serde::Deserialize<'de> for Nested {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Nested;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number, a boolean or a list of them")
            }
            fn visit_f64<E>(self, v: f64) -> Result<Nested, E> {
                Ok(Nested::Number(v))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_i64<E>(self, v: i64) -> Result<Nested, E> {
                Ok(Nested::Number(v as f64))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<E>(self, v: u64) -> Result<Nested, E> {
                Ok(Nested::Number(v as f64))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Nested, E> {
                Ok(Nested::Bool(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Nested, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Nested::List(items))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Nested {
    fn flatten_into(self, out: &mut Vec<f64>) {
        match self {
            Nested::Number(v) => out.push(v),
            Nested::Bool(b) => out.push(if b { 1.0 } else { 0.0 }),
            Nested::List(items) => items.into_iter().for_each(|i| i.flatten_into(out)),
        }
    }
}

fn flattened_rows<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Vec<f64>>, D::Error> {
    let rows: Vec<Vec<Nested>> = serde::Deserialize::deserialize(d)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut out = Vec::with_capacity(row.len());
            row.into_iter().for_each(|v| v.flatten_into(&mut out));
            out
        })
        .collect())
}

impl InputData {
    /// Parse the JSON bytes of an input file.
    ///
    /// # Errors
    /// The parser's error (position included) for malformed JSON or a wrong layout.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
