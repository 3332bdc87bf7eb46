//! What a benchmark cell proves: an ONNX model with an input, or a built-in workload (an MLP or
//! a single gemm of a given size, a lookup table, a training epoch, the preprocessing case, an
//! aggregation of training segments).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zkmlops_tensor::{Op, Program, Visibility};

use crate::BenchError;

/// One workload of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Workload {
    /// An ONNX model compiled with default settings (and the cell's weight visibility), proved
    /// on one sample of an EZKL-style input file.
    Onnx {
        /// The model's name (its file stem).
        name: String,
        /// The `.onnx` file.
        model: PathBuf,
        /// The input file (`{"input_data": [[...]]}`).
        input: PathBuf,
    },
    /// An MLP of the given widths (`mlp:64-256-256-10`: the 84K-MAC MLP), or one dense layer
    /// (`gemm:KxN`): `zkmlops_conformance::cases::mlp`, weights of the cell's visibility.
    Mlp {
        /// Layer widths, input first.
        dims: Vec<usize>,
    },
    /// `n` sigmoid lookups into a 2^12-row table (`lookup:N`).
    Lookup {
        /// How many values are looked up.
        n: usize,
    },
    /// One epoch of logistic-regression training (batch 8) on a synthetic dataset of `rows`
    /// rows and `features` features, proved as one segment (`train:ROWSxFEATURES`).
    Train {
        /// Rows of the dataset (a multiple of the batch, 8).
        rows: usize,
        /// Features per row.
        features: usize,
    },
    /// The bundled preprocessing case: `examples/preprocess/pipeline.toml` on the 569 x 30
    /// breast-cancer table (`preprocess`).
    Preprocess,
    /// `members` one-step training segments (8 features) folded into one aggregated proof
    /// (`aggregate:N`; backends whose presets declare aggregation).
    Aggregate {
        /// Inner proofs.
        members: usize,
    },
}

/// The bundled preprocessing pipeline and raw table.
const PIPELINE: &str = include_str!("../../../examples/preprocess/pipeline.toml");
const RAW_CSV: &str = include_str!("../../../examples/preprocess/breast_cancer_raw.csv");

/// The batch of the training workloads.
pub const TRAIN_BATCH: usize = 8;

impl Workload {
    /// Parse a built-in workload: `mlp:64-256-256-10`, `gemm:256x1024`, `lookup:4096`,
    /// `train:64x8`, `preprocess`, `aggregate:8`.
    ///
    /// # Errors
    /// [`BenchError::Workload`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Self, BenchError> {
        let bad = |what: &str| BenchError::Workload {
            given: text.to_string(),
            what: what.to_string(),
        };
        let num = |s: &str, what: &str| -> Result<usize, BenchError> {
            s.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(what))
        };
        let (kind, arg) = text.split_once(':').unwrap_or((text, ""));
        match kind.trim() {
            "mlp" => {
                let dims = arg
                    .split('-')
                    .map(|d| num(d, "mlp:W0-W1-...: positive widths"))
                    .collect::<Result<Vec<_>, _>>()?;
                if dims.len() < 2 {
                    return Err(bad("mlp:W0-W1-...: at least two widths"));
                }
                Ok(Workload::Mlp { dims })
            }
            "gemm" => {
                let (k, n) = arg
                    .split_once('x')
                    .ok_or_else(|| bad("gemm:KxN: input width K, output width N"))?;
                Ok(Workload::Mlp {
                    dims: vec![num(k, "gemm:KxN")?, num(n, "gemm:KxN")?],
                })
            }
            "lookup" => Ok(Workload::Lookup {
                n: num(arg, "lookup:N: how many values")?,
            }),
            "train" => {
                let (r, f) = if arg.is_empty() {
                    ("64", "8")
                } else {
                    arg.split_once('x')
                        .ok_or_else(|| bad("train:ROWSxFEATURES"))?
                };
                let rows = num(r, "train:ROWSxFEATURES")?;
                if !rows.is_multiple_of(TRAIN_BATCH) {
                    return Err(bad("train: rows a multiple of the batch (8)"));
                }
                Ok(Workload::Train {
                    rows,
                    features: num(f, "train:ROWSxFEATURES")?,
                })
            }
            "preprocess" if arg.is_empty() => Ok(Workload::Preprocess),
            "aggregate" => Ok(Workload::Aggregate {
                members: num(arg, "aggregate:N: at least one member")?,
            }),
            _ => Err(bad(
                "one of mlp:W0-W1-..., gemm:KxN, lookup:N, train:ROWSxFEATURES, preprocess, aggregate:N",
            )),
        }
    }

    /// Every `.onnx` file of `path` (a directory; each with a sibling `NAME.input.json`) or
    /// `path` itself (a model file; `input` or its sibling input file), sorted by name.
    ///
    /// # Errors
    /// [`BenchError::Models`] for an unreadable directory or a model without an input file.
    pub fn models(path: &Path, input: Option<&Path>) -> Result<Vec<Self>, BenchError> {
        let files = if path.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| BenchError::Models {
                    path: path.to_path_buf(),
                    what: e.to_string(),
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
                .collect();
            v.sort();
            if v.is_empty() {
                return Err(BenchError::Models {
                    path: path.to_path_buf(),
                    what: "no .onnx file".into(),
                });
            }
            v
        } else {
            vec![path.to_path_buf()]
        };
        files
            .into_iter()
            .map(|model| {
                let name = model
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let input = match input {
                    Some(i) if !path.is_dir() => i.to_path_buf(),
                    _ => model.with_file_name(format!("{name}.input.json")),
                };
                if !input.is_file() {
                    return Err(BenchError::Models {
                        path: model.clone(),
                        what: format!("no input file {} (give --input)", input.display()),
                    });
                }
                Ok(Workload::Onnx { name, model, input })
            })
            .collect()
    }

    /// The workload's label in tables (`mlp:64-256-256-10`, the model name, ...).
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Workload::Onnx { name, .. } => name.clone(),
            Workload::Mlp { dims } if dims.len() == 2 => {
                format!("gemm:{}x{}", dims[0], dims[1])
            }
            Workload::Mlp { dims } => format!(
                "mlp:{}",
                dims.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("-")
            ),
            Workload::Lookup { n } => format!("lookup:{n}"),
            Workload::Train { rows, features } => format!("train:{rows}x{features}"),
            Workload::Preprocess => "preprocess".into(),
            Workload::Aggregate { members } => format!("aggregate:{members}"),
        }
    }

    /// Whether the weights' visibility is a dimension of this workload (models and MLPs).
    #[must_use]
    pub fn has_weights(&self) -> bool {
        matches!(self, Workload::Onnx { .. } | Workload::Mlp { .. })
    }

    /// Whether the workload is a stage whose proofs link by `zkmlops-commit` lineage
    /// commitments (training, preprocessing, aggregation of training segments).
    #[must_use]
    pub fn needs_lineage(&self) -> bool {
        matches!(
            self,
            Workload::Train { .. } | Workload::Preprocess | Workload::Aggregate { .. }
        )
    }

    /// The Program and witness of a single-Program workload (models, MLPs, lookups) with
    /// weights of `weights` visibility; `None` for the stage workloads.
    ///
    /// # Errors
    /// [`BenchError::Workload`] for a model that does not load or compile.
    pub fn program(
        &self,
        weights: Visibility,
    ) -> Result<Option<(Program, zkmlops_tensor::Witness)>, BenchError> {
        let fail = |e: String| BenchError::Workload {
            given: self.label(),
            what: e,
        };
        match self {
            Workload::Onnx { model, input, .. } => {
                let compiled = compile_onnx(model, weights).map_err(fail)?;
                let text = std::fs::read(input).map_err(|e| fail(e.to_string()))?;
                let data = zkmlops_onnx::InputData::from_json(&text)
                    .map_err(|e| fail(e.to_string()))?
                    .input_data;
                let sample = compiled
                    .samples(&data)
                    .map_err(|e| fail(e.to_string()))?
                    .into_iter()
                    .next()
                    .ok_or_else(|| fail("the input file has no sample".into()))?;
                let witness = compiled
                    .witness(0, &sample)
                    .map_err(|e| fail(e.to_string()))?;
                Ok(Some((compiled.program, witness)))
            }
            Workload::Mlp { dims } => {
                let (case, _) = zkmlops_conformance::cases::mlp(dims, None, weights)
                    .map_err(|e| fail(e.to_string()))?;
                let witness = case
                    .program
                    .evaluate(&case.inputs)
                    .map_err(|e| fail(e.to_string()))?;
                Ok(Some((case.program, witness)))
            }
            Workload::Lookup { n } => lookup(*n).map(Some).map_err(fail),
            _ => Ok(None),
        }
    }

    /// The verifier's Program (the same compilation, no witness).
    ///
    /// # Errors
    /// As [`Workload::program`].
    pub fn verifier_program(&self, weights: Visibility) -> Result<Option<Program>, BenchError> {
        match self {
            Workload::Onnx { model, .. } => compile_onnx(model, weights)
                .map(|c| Some(c.program))
                .map_err(|e| BenchError::Workload {
                    given: self.label(),
                    what: e,
                }),
            _ => Ok(self.program(weights)?.map(|(p, _)| p)),
        }
    }

    /// The pipeline and raw table of [`Workload::Preprocess`].
    ///
    /// # Errors
    /// [`BenchError::Workload`] if the bundled files do not parse.
    pub fn preprocess_case()
    -> Result<(zkmlops_preprocess::Pipeline, zkmlops_preprocess::RawTable), BenchError> {
        let fail = |e: String| BenchError::Workload {
            given: "preprocess".into(),
            what: e,
        };
        let pipeline: zkmlops_preprocess::Pipeline =
            toml::from_str(PIPELINE).map_err(|e| fail(e.to_string()))?;
        let table = zkmlops_preprocess::RawTable::from_csv(&pipeline, RAW_CSV)
            .map_err(|e| fail(e.to_string()))?;
        Ok((pipeline, table))
    }
}

/// Compile an ONNX model with default settings and weights of `weights` visibility.
fn compile_onnx(model: &Path, weights: Visibility) -> Result<zkmlops_onnx::CompiledModel, String> {
    let bytes = std::fs::read(model).map_err(|e| format!("{}: {e}", model.display()))?;
    let name = model
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let onnx = zkmlops_onnx::OnnxModel::from_bytes(&bytes, &name).map_err(|e| e.to_string())?;
    let settings = zkmlops_onnx::Settings {
        param_visibility: weights,
        ..zkmlops_onnx::Settings::default()
    };
    zkmlops_onnx::compile(&onnx, &settings).map_err(|e| e.to_string())
}

/// `n` private values in `[-8, 8)` at scale 2^8 through a sigmoid table, outputs public.
fn lookup(n: usize) -> Result<(Program, zkmlops_tensor::Witness), String> {
    let scale = zkmlops_tensor::Scale::new(8).map_err(|e| e.to_string())?;
    let table = zkmlops_lookup::TableSpec::new(
        zkmlops_lookup::Function::Sigmoid,
        scale,
        scale,
        -8 * 256,
        8 * 256,
    )
    .map_err(|e| e.to_string())?;
    let mut b = zkmlops_tensor::ProgramBuilder::new();
    let x = b.input("x", &[n], scale, Visibility::Private);
    let y = b
        .op("sigmoid", Op::Lookup(table), &[x])
        .map_err(|e| e.to_string())?;
    b.output(y, Visibility::Public).map_err(|e| e.to_string())?;
    let program = b.build().map_err(|e| e.to_string())?;
    // A fixed spread of values over the table's domain.
    let data = (0..n)
        .map(|i| i64::try_from(i % 4096).map_or(0, |v| v - 2048))
        .collect();
    let input = zkmlops_tensor::Tensor::new(vec![n], data).map_err(|e| e.to_string())?;
    let witness = program.evaluate(&[input]).map_err(|e| e.to_string())?;
    Ok((program, witness))
}

/// A synthetic logistic-regression dataset: `rows` rows of `features` values in `[-1, 1]`
/// (three decimals, from a fixed linear congruential sequence) labelled by the sign of a fixed
/// linear function.
#[must_use]
pub fn synthetic_csv(rows: usize, features: usize) -> String {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // 0..=2000 -> -1.000..=1.000
        #[allow(clippy::cast_precision_loss)]
        let v = ((state >> 33) % 2001) as f64;
        v / 1000.0 - 1.0
    };
    let mut out = (0..features)
        .map(|f| format!("x{f}"))
        .chain(std::iter::once("label".to_string()))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for _ in 0..rows {
        let xs: Vec<f64> = (0..features).map(|_| next()).collect();
        #[allow(clippy::cast_precision_loss)]
        let score: f64 = xs
            .iter()
            .enumerate()
            .map(|(i, x)| x * (if i % 2 == 0 { 1.0 } else { -0.5 }) / (1.0 + i as f64))
            .sum();
        for x in &xs {
            out.push_str(&format!("{x:.3},"));
        }
        out.push_str(if score > 0.0 { "1\n" } else { "0\n" });
    }
    out
}

/// The MACs of a Program (gemm, matmul and convolution), plus one per output element of every
/// other op: the x axis of the harness's plots.
#[must_use]
pub fn work(program: &Program) -> u64 {
    let tensors = program.tensors();
    let elems = |id: zkmlops_tensor::TensorId| -> u64 {
        tensors
            .get(id.index())
            .map_or(0, |t| t.shape.iter().product::<usize>() as u64)
    };
    let dim = |id: zkmlops_tensor::TensorId, from_end: usize| -> u64 {
        tensors
            .get(id.index())
            .and_then(|t| t.shape.iter().rev().nth(from_end))
            .map_or(1, |d| *d as u64)
    };
    program
        .nodes()
        .iter()
        .map(|n| {
            let out = elems(n.output);
            match (&n.op, n.inputs.first(), n.inputs.get(1)) {
                // Each output element sums the shared (inner) dimension of the first input.
                (Op::Gemm { trans_a, .. }, Some(a), _) => out * dim(*a, usize::from(*trans_a)),
                (Op::MatMul, Some(a), _) => out * dim(*a, 0),
                // Each output element sums in_channels/groups x kernel elements: the weight's
                // elements divided by the output channels.
                (Op::Conv2d(_), _, Some(w)) => {
                    let oc = tensors
                        .get(w.index())
                        .and_then(|t| t.shape.first())
                        .map_or(1, |c| (*c as u64).max(1));
                    out * (elems(*w) / oc)
                }
                _ => out,
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_builtin_and_refuses_nonsense() {
        assert_eq!(
            Workload::parse("mlp:64-256-256-10").ok(),
            Some(Workload::Mlp {
                dims: vec![64, 256, 256, 10]
            })
        );
        assert_eq!(
            Workload::parse("gemm:256x1024").ok().map(|w| w.label()),
            Some("gemm:256x1024".into())
        );
        assert_eq!(
            Workload::parse("train").ok(),
            Some(Workload::Train {
                rows: 64,
                features: 8
            })
        );
        assert_eq!(
            Workload::parse("aggregate:8").ok(),
            Some(Workload::Aggregate { members: 8 })
        );
        for bad in [
            "mlp:64",
            "mlp:0-3",
            "gemm:3",
            "lookup:",
            "train:7x3",
            "aggregate:0",
            "cnn",
            "preprocess:3",
        ] {
            assert!(
                matches!(Workload::parse(bad), Err(BenchError::Workload { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn work_counts_macs() {
        let w = Workload::parse("mlp:64-256-256-10").unwrap_or(Workload::Preprocess);
        let (p, _) = w
            .program(Visibility::Private)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("the MLP builds"));
        let macs = 64 * 256 + 256 * 256 + 256 * 10;
        let w = work(&p);
        // MACs plus the element-wise ops' elements (rescale, ReLU).
        assert!(w >= macs && w < macs + 4 * (256 + 256 + 10), "{w}");
    }

    #[test]
    fn synthetic_data_parses_as_a_training_set() {
        let csv = synthetic_csv(16, 3);
        let d = zkmlops_train::Dataset::from_csv(&csv);
        assert!(d.is_ok(), "{d:?}");
    }
}
