//! `zkmlops train` and `zkmlops eval`: prove and verify training runs and accuracy claims
//! (logistic, linear and softmax regression, one-hidden-layer MLP; see docs/training.md).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde::{Deserialize, Serialize};
use zkmlops_proof::{Registry, VerifyPolicy};
use zkmlops_train::{
    Dataset, LogRegSpec, MetricsProof, MlpModel, MlpSpec, Model, ModelSpec, RunSalts, SALT_LEN,
    TrainingTranscript, prove_metrics, prove_mlp_metrics, prove_mlp_run, prove_run,
};

use crate::backend::BackendArgs;
use crate::error::CliError;
use crate::io;

/// `train.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrainSpec {
    /// `logistic`, `linear`, `softmax` or `mlp`.
    model: String,
    features: usize,
    /// Hidden units (`mlp`).
    hidden: Option<usize>,
    /// Classes (`softmax`, `mlp`).
    classes: Option<usize>,
    /// Seed of the initial parameters (`softmax`, `mlp`; 0 when absent).
    seed: Option<u64>,
    batch: usize,
    learning_rate: f64,
    scale_bits: u32,
    /// Bits of every dataset value: the dataset commitment packs the values with them, so it
    /// must be the preprocessing output's `value_bits` (taken from `--prep` when absent; 24
    /// without either).
    value_bits: Option<u8>,
    /// Epochs (each `rows / batch` steps).
    #[serde(default = "one")]
    epochs: usize,
    /// Steps per segment (a divisor of the total; one epoch when absent).
    steps_per_segment: Option<usize>,
}

fn one() -> usize {
    1
}

impl TrainSpec {
    /// The model spec; `value_bits` the dataset's ([`TrainSpec::value_bits`]).
    fn model(&self, path: &Path, value_bits: u8) -> Result<ModelSpec, CliError> {
        let bad = |what: String| CliError::TrainSpec {
            path: path.into(),
            what,
        };
        let linear = |link| {
            ModelSpec::Linear(LogRegSpec {
                features: self.features,
                batch: self.batch,
                learning_rate: self.learning_rate,
                scale_bits: self.scale_bits,
                value_bits,
                link,
            })
        };
        let mlp = |hidden| {
            let classes = self
                .classes
                .ok_or_else(|| bad(format!("model `{}` needs `classes`", self.model)))?;
            Ok(ModelSpec::Mlp(MlpSpec {
                inputs: self.features,
                hidden,
                classes,
                batch: self.batch,
                learning_rate: self.learning_rate,
                scale_bits: self.scale_bits,
                value_bits,
            }))
        };
        match self.model.as_str() {
            "logistic" => Ok(linear(zkmlops_train::Link::Logistic)),
            "linear" => Ok(linear(zkmlops_train::Link::Identity)),
            "softmax" => mlp(0),
            "mlp" => match self.hidden {
                Some(h) if h > 0 => mlp(h),
                _ => Err(bad("model `mlp` needs `hidden` >= 1".into())),
            },
            other => Err(bad(format!(
                "model `{other}` (supported: logistic, linear, softmax, mlp)"
            ))),
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum TrainCommand {
    /// Train from the initial weights and prove every segment; writes `transcript.json`
    /// (public), `model.json` and `secrets.json` (the owner's) into the output directory.
    Prove {
        /// Hyperparameters (TOML).
        #[arg(long, value_name = "train.toml")]
        spec: PathBuf,
        /// Training data: CSV with a header, features then a 0/1 label.
        #[arg(long, value_name = "train.csv")]
        data: PathBuf,
        /// Initial weights `{"w": [...], "b": x}` (zeros when absent).
        #[arg(long, value_name = "init.json")]
        init: Option<PathBuf>,
        /// The output directory of `zkmlops preprocess prove` whose training split `--data`
        /// is: its salt is reused, so the run's data commitment is the processed commitment.
        #[arg(long, value_name = "prep/")]
        prep: Option<PathBuf>,
        /// Zero knowledge (a hiding preset).
        #[arg(long)]
        zk: bool,
        /// Fold every segment proof into one aggregated proof (a backend whose preset declares
        /// aggregation: `--backend plonky2`); the links between segments are proved inside it.
        #[arg(long)]
        aggregate: bool,
        #[command(flatten)]
        backend: BackendArgs,
        /// Output directory.
        #[arg(short, long, value_name = "run/")]
        output: PathBuf,
        /// The proof file's form: `auto` or `binary` (`transcript.zkp`), or `json`
        /// (`transcript.json`: the proofs in hex, twice the bytes). Verifiers read either.
        #[arg(long, value_enum, default_value = "auto")]
        format: io::ProofFormat,
    },
    /// Export a run's final model to ONNX (MatMul/Add layers, ReLU between, sigmoid or
    /// softmax head), with `*.settings.json` (its scale; weights committed as `committed:1`,
    /// the run's checkpoint layout) and `*.commitment.json` (the run's final commitment and
    /// salt): `zkmlops prove model.onnx --settings ... --commitment ...` then proves inferences
    /// under the run's final commitment.
    Export {
        /// The run directory (its transcript, final model and salt).
        #[arg(long, value_name = "run/")]
        run: PathBuf,
        /// The ONNX file to write.
        #[arg(short, long, value_name = "model.onnx")]
        output: PathBuf,
    },
    /// Verify a run's transcript: every segment (or the aggregated proof) and the chain of
    /// commitments.
    Verify {
        /// The run directory (or its `transcript.json`).
        run: PathBuf,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum EvalCommand {
    /// Prove a trained linear model's predictions (inference) on private rows, under the run's
    /// final commitment; writes the predictions and the proof.
    Predict {
        /// The run directory (its final model and salt).
        #[arg(long, value_name = "run/")]
        run: PathBuf,
        /// Input rows: CSV with a header, the model's features (a trailing label column, as
        /// in a test CSV, is ignored).
        #[arg(long, value_name = "rows.csv")]
        data: PathBuf,
        /// A transparent preset (the default hides the rows: zero knowledge).
        #[arg(long)]
        transparent: bool,
        #[command(flatten)]
        backend: BackendArgs,
        /// The prediction proof (binary; JSON when the name ends in `.json`).
        #[arg(short, long, value_name = "prediction.zkp")]
        output: PathBuf,
        /// The proof file's form: `auto` (JSON for a `.json` name, binary otherwise), `binary`
        /// or `json` (the proofs in hex, twice the bytes). Verifiers read either.
        #[arg(long, value_enum, default_value = "auto")]
        format: io::ProofFormat,
    },
    /// Verify a prediction proof; with `--run`, that the model is the run's final model.
    VerifyPrediction {
        /// The prediction proof.
        prediction: PathBuf,
        /// A run directory whose final commitment the model must be.
        #[arg(long, value_name = "run/")]
        run: Option<PathBuf>,
    },
    /// Prove the accuracy of a trained model (a run directory) on a test CSV.
    Prove {
        /// The run directory (its final model and salt).
        #[arg(long, value_name = "run/")]
        run: PathBuf,
        /// Test data CSV.
        #[arg(long, value_name = "test.csv")]
        data: PathBuf,
        /// The `zkmlops preprocess prove` directory whose test split `--data` is (its salt is
        /// reused, so the test-set commitment is the processed one).
        #[arg(long, value_name = "prep/")]
        prep: Option<PathBuf>,
        /// A protected attribute (CSV: a header, then one 0/1 per test row): also prove the
        /// positive counts in and out of the group, under a fresh attribute commitment.
        #[arg(long, value_name = "attribute.csv")]
        attribute: Option<PathBuf>,
        /// Zero knowledge (a hiding preset).
        #[arg(long)]
        zk: bool,
        #[command(flatten)]
        backend: BackendArgs,
        /// The metrics proof (binary; JSON when the name ends in `.json`).
        #[arg(short, long, value_name = "metrics.zkp")]
        output: PathBuf,
        /// The proof file's form: `auto` (JSON for a `.json` name, binary otherwise), `binary`
        /// or `json` (the proofs in hex, twice the bytes). Verifiers read either.
        #[arg(long, value_enum, default_value = "auto")]
        format: io::ProofFormat,
    },
    /// Verify a metrics proof; with `--run`, that it measures the run's final model.
    Verify {
        /// The metrics proof.
        metrics: PathBuf,
        /// A run directory whose final commitment the model must be.
        #[arg(long, value_name = "run/")]
        run: Option<PathBuf>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

/// `model.json`: the final weights (private to the owner): `w`, `b` of a linear model, or
/// `params` of an MLP / softmax regression.
#[derive(Serialize, Deserialize)]
pub(crate) struct ModelFile {
    pub(crate) scale_bits: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) w: Vec<i64>,
    #[serde(default)]
    pub(crate) b: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) params: Vec<Vec<i64>>,
}

/// `init.json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InitFile {
    w: Vec<f64>,
    b: f64,
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, CliError> {
    serde_json::from_slice(&io::read(path)?).map_err(|source| CliError::Json {
        path: path.into(),
        source,
    })
}

pub(crate) fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<(), CliError> {
    io::write(path, crate::report::json(v).as_bytes())
}

pub(crate) fn dataset(path: &Path) -> Result<Dataset, CliError> {
    let text = String::from_utf8_lossy(&io::read(path)?).into_owned();
    Dataset::from_csv(&text).map_err(|e| CliError::Train {
        path: path.into(),
        source: Box::new(e),
    })
}

fn regression_dataset(path: &Path) -> Result<Dataset, CliError> {
    let text = String::from_utf8_lossy(&io::read(path)?).into_owned();
    Dataset::regression_from_csv(&text).map_err(|e| CliError::Train {
        path: path.into(),
        source: Box::new(e),
    })
}

pub(crate) fn salt() -> Result<[i64; SALT_LEN], CliError> {
    zkmlops_onnx::fresh_salt().map_err(CliError::Onnx)
}

/// A run's transcript file (the run directory's `transcript.zkp` or `transcript.json`).
fn transcript_path(run: &Path) -> PathBuf {
    zkmlops_proof::stage_path(run, zkmlops_proof::StageFileKind::TrainingTranscript)
}

/// The salt of a run's final checkpoint (`secrets.json`).
pub(crate) fn final_salt(run: &Path) -> Result<[i64; SALT_LEN], CliError> {
    let secrets: serde_json::Value = read_json(&run.join("secrets.json"))?;
    serde_json::from_value(
        secrets
            .get("checkpoint_salts")
            .and_then(serde_json::Value::as_array)
            .and_then(|a| a.last())
            .cloned()
            .unwrap_or_default(),
    )
    .map_err(|source| CliError::Json {
        path: run.join("secrets.json"),
        source,
    })
}

/// Feature rows of a CSV (a header, then `features` numbers per row, or `features + 1` with a
/// trailing label that is ignored).
fn feature_rows(path: &Path, features: usize) -> Result<Vec<Vec<f64>>, CliError> {
    let text = String::from_utf8_lossy(&io::read(path)?).into_owned();
    Dataset::features_from_csv(&text, features).map_err(|e| CliError::Train {
        path: path.into(),
        source: Box::new(e),
    })
}

/// A protected-attribute column: a header line, then one 0/1 per row.
fn read_attribute(path: &Path) -> Result<Vec<i64>, CliError> {
    let text = String::from_utf8_lossy(&io::read(path)?).into_owned();
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| match l.trim() {
            "0" => Ok(0),
            "1" => Ok(1),
            _ => Err(CliError::Attribute {
                path: path.into(),
                line: i + 1,
            }),
        })
        .collect()
}

/// The bits of the dataset's values: the spec's `value_bits`, which must equal the
/// preprocessing output's when training on a `--prep` split (taken from it when the spec says
/// nothing), else [`zkmlops_train::DATA_VALUE_BITS`].
fn dataset_value_bits(ts: &TrainSpec, spec: &Path, prep: Option<&Path>) -> Result<u8, CliError> {
    let Some(dir) = prep else {
        return Ok(ts.value_bits.unwrap_or(zkmlops_train::DATA_VALUE_BITS));
    };
    let p: zkmlops_preprocess::PreprocessProof = io::read_stage(dir)?;
    let produced = p.pipeline.output.value_bits;
    match ts.value_bits {
        Some(bits) if bits != produced => Err(CliError::TrainSpec {
            path: spec.into(),
            what: format!(
                "value_bits = {bits}, but the preprocessing output in {} declares {produced} (the dataset commitments would differ)",
                dir.display()
            ),
        }),
        _ => Ok(produced),
    }
}

/// A fresh salt, or the `split` salt of a preprocessing run's `secrets.json`.
pub(crate) fn data_salt(prep: Option<&Path>, split: &str) -> Result<[i64; SALT_LEN], CliError> {
    let Some(dir) = prep else {
        return salt();
    };
    let path = dir.join("secrets.json");
    let salts: zkmlops_preprocess::Salts = read_json(&path)?;
    Ok(if split == "train" {
        salts.train
    } else {
        salts.test
    })
}

/// The backend that made `env` (the default backend when there is no envelope: the stage's
/// own checks then reject the empty proof).
pub(crate) fn verifier<'r>(
    registry: &'r Registry,
    env: Option<&zkmlops_proof::ProofEnvelope>,
) -> Result<&'r dyn zkmlops_proof::Backend, CliError> {
    match env {
        Some(env) => crate::backend_of(registry, env),
        None => registry.get("fri").map_err(CliError::Registry),
    }
}

pub(crate) fn train(
    cmd: TrainCommand,
    registry: &Registry,
    quiet: bool,
) -> Result<std::process::ExitCode, CliError> {
    match cmd {
        TrainCommand::Prove {
            spec,
            data,
            init,
            prep,
            zk,
            aggregate,
            backend,
            output,
            format,
        } => {
            let chosen = backend.choose(registry, zk, zk)?;
            if aggregate && !chosen.preset.capabilities.aggregation {
                return Err(CliError::NoAggregation {
                    backend: chosen.backend.id().to_string(),
                    preset: chosen.preset.name.clone(),
                });
            }
            let text = String::from_utf8_lossy(&io::read(&spec)?).into_owned();
            let ts: TrainSpec = toml::from_str(&text).map_err(|e| CliError::TrainSpec {
                path: spec.clone(),
                what: e.message().to_string(),
            })?;
            let value_bits = dataset_value_bits(&ts, &spec, prep.as_deref())?;
            let kind = ts.model(&spec, value_bits)?;
            let train_set = match kind {
                ModelSpec::Linear(s) if s.link == zkmlops_train::Link::Identity => {
                    regression_dataset(&data)?
                }
                _ => dataset(&data)?,
            };
            let per_epoch = train_set.len() / ts.batch.max(1);
            let total = per_epoch * ts.epochs;
            let per = ts.steps_per_segment.unwrap_or(per_epoch).max(1);
            if total == 0 || !total.is_multiple_of(per) {
                return Err(CliError::TrainSpec {
                    path: spec,
                    what: format!("steps_per_segment {per} does not divide the {total} steps"),
                });
            }
            let segments = total / per;
            let salts = RunSalts {
                data: data_salt(prep.as_deref(), "train")?,
                checkpoints: (0..=segments).map(|_| salt()).collect::<Result<_, _>>()?,
            };
            let pb = crate::spinner(
                quiet,
                &format!("proving {total} SGD steps in {segments} segments"),
            );
            let t = std::time::Instant::now();
            let run_err = |e| CliError::Run {
                source: Box::new(e),
            };
            let (transcript, model_file, fit) = match kind {
                ModelSpec::Linear(lr) => {
                    let initial = match &init {
                        None => Model::zeros(&lr),
                        Some(p) => {
                            let f: InitFile = read_json(p)?;
                            let s = f64::from(1u32 << lr.scale_bits.min(30));
                            #[allow(clippy::cast_possible_truncation)]
                            Model {
                                scale_bits: lr.scale_bits,
                                w: f.w.iter().map(|v| (v * s).round() as i64).collect(),
                                b: (f.b * s).round() as i64,
                            }
                        }
                    };
                    let (transcript, model) = prove_run(
                        &lr,
                        &train_set,
                        &initial,
                        &salts,
                        per,
                        segments,
                        chosen.backend,
                        &chosen.preset.name,
                    )
                    .map_err(run_err)?;
                    let fit = match lr.link {
                        zkmlops_train::Link::Logistic => {
                            format!("train accuracy {:.3}", model.accuracy(&train_set))
                        }
                        zkmlops_train::Link::Identity => {
                            format!("train mean squared error {:.4}", model.mse(&train_set))
                        }
                    };
                    let file = ModelFile {
                        scale_bits: model.scale_bits,
                        w: model.w,
                        b: model.b,
                        params: Vec::new(),
                    };
                    (transcript, file, fit)
                }
                ModelSpec::Mlp(ms) => {
                    if init.is_some() {
                        return Err(CliError::TrainSpec {
                            path: spec,
                            what: "--init is for linear models; an MLP starts from `seed`".into(),
                        });
                    }
                    let initial = MlpModel::init(&ms, ts.seed.unwrap_or(0));
                    let (transcript, model) = prove_mlp_run(
                        &ms,
                        &train_set,
                        &initial,
                        &salts,
                        per,
                        segments,
                        chosen.backend,
                        &chosen.preset.name,
                    )
                    .map_err(run_err)?;
                    let fit = format!("train accuracy {:.3}", model.accuracy(&ms, &train_set));
                    let file = ModelFile {
                        scale_bits: model.scale_bits,
                        w: Vec::new(),
                        b: 0,
                        params: model.params,
                    };
                    (transcript, file, fit)
                }
            };
            pb.finish_and_clear();
            let transcript = if aggregate {
                let pb = crate::spinner(
                    quiet,
                    &format!("aggregating {segments} segment proofs into one"),
                );
                let t = transcript.aggregated(chosen.backend).map_err(run_err)?;
                pb.finish_and_clear();
                t
            } else {
                transcript
            };
            std::fs::create_dir_all(&output).map_err(|source| CliError::Write {
                path: output.clone(),
                source,
            })?;
            let transcript_file = io::write_stage(&output, &transcript, format)?;
            write_json(&output.join("model.json"), &model_file)?;
            write_json(
                &output.join("secrets.json"),
                &serde_json::json!({"data_salt": salts.data, "checkpoint_salts": salts.checkpoints}),
            )?;
            outln!(
                "proved {total} steps in {segments} segments{} in {:.1} s; {fit}; final commitment {}; wrote {} (publish {}; keep model.json and secrets.json)",
                transcript
                    .aggregate
                    .as_ref()
                    .map_or_else(String::new, |a| format!(
                        " (one aggregated proof of {} bytes)",
                        a.proof.len()
                    )),
                t.elapsed().as_secs_f64(),
                transcript.final_commitment,
                output.display(),
                io::file_name(&transcript_file)
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        TrainCommand::Export { run, output } => export(&run, &output),
        TrainCommand::Verify { run, json } => {
            let transcript: TrainingTranscript = io::read_stage(&run)?;
            let backend = match &transcript.aggregate {
                Some(a) => registry
                    .get(a.backend.as_str())
                    .map_err(CliError::Registry)?,
                None => verifier(registry, transcript.segments.first())?,
            };
            let segments = transcript
                .aggregate
                .as_ref()
                .map_or(transcript.segments.len(), |a| a.members.len());
            let result = transcript.verify(backend, &VerifyPolicy::default());
            let ok = result.is_ok();
            let error = result.err().map(|e| e.to_string());
            if json {
                outln!(
                    "{}",
                    crate::report::json(&serde_json::json!({
                        "report_version": crate::report::REPORT_VERSION,
                        "verified": ok,
                        "error": error,
                        "spec": transcript.spec,
                        "rows": transcript.rows,
                        "total_steps": transcript.total_steps,
                        "segments": segments,
                        "aggregated": transcript.aggregate.is_some(),
                        "backend": backend.id(),
                        "data_commitment": transcript.data_commitment,
                        "initial_commitment": transcript.initial_commitment,
                        "final_commitment": transcript.final_commitment,
                    }))
                );
            } else if let Some(e) = &error {
                return Err(CliError::RunRejected { what: e.clone() });
            } else {
                outln!(
                    "verified: {} SGD steps in {} segments{} on a committed dataset of {} rows\ndata {}\ninitial {}\nfinal {}",
                    transcript.total_steps,
                    segments,
                    if transcript.aggregate.is_some() {
                        " (one aggregated proof)"
                    } else {
                        ""
                    },
                    transcript.rows,
                    transcript.data_commitment,
                    transcript.initial_commitment,
                    transcript.final_commitment
                );
            }
            Ok(if ok {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            })
        }
    }
}

/// A linear run's spec and final model (`what` names what needs a linear model otherwise).
pub(crate) fn linear_run(run: &Path, what: &str) -> Result<(LogRegSpec, Model), CliError> {
    let transcript: TrainingTranscript = io::read_stage(run)?;
    let Some(spec) = transcript.spec.linear().copied() else {
        return Err(CliError::TrainSpec {
            path: transcript_path(run),
            what: what.into(),
        });
    };
    let m: ModelFile = read_json(&run.join("model.json"))?;
    Ok((
        spec,
        Model {
            scale_bits: m.scale_bits,
            w: m.w,
            b: m.b,
        },
    ))
}

/// `model.onnx` -> `model.{suffix}.json`.
fn sibling(output: &Path, suffix: &str) -> PathBuf {
    let stem = output
        .file_stem()
        .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    output.with_file_name(format!("{stem}.{suffix}.json"))
}

fn export(run: &Path, output: &Path) -> Result<std::process::ExitCode, CliError> {
    use zkmlops_onnx::export::{DenseLayer, Head, dense_network};
    let transcript: TrainingTranscript = io::read_stage(run)?;
    let m: ModelFile = read_json(&run.join("model.json"))?;
    let salt = final_salt(run)?;
    let bad = |what: String| CliError::TrainSpec {
        path: run.join("model.json"),
        what,
    };
    let (layers, head, inputs, kind) = match &transcript.spec {
        ModelSpec::Linear(s) => {
            if m.w.len() != s.features {
                return Err(bad(format!(
                    "{} weights for {} features",
                    m.w.len(),
                    s.features
                )));
            }
            let head = match s.link {
                zkmlops_train::Link::Logistic => Head::Sigmoid,
                zkmlops_train::Link::Identity => Head::Identity,
            };
            let layer = DenseLayer {
                inputs: s.features,
                outputs: 1,
                weights: m.w.clone(),
                bias: vec![m.b],
            };
            (
                vec![layer],
                head,
                s.features,
                match s.link {
                    zkmlops_train::Link::Logistic => "logistic",
                    zkmlops_train::Link::Identity => "linear",
                }
                .to_string(),
            )
        }
        ModelSpec::Mlp(s) => {
            let shapes = s.shapes();
            if m.params.len() != shapes.len() {
                return Err(bad(format!(
                    "{} parameter tensors, the spec has {}",
                    m.params.len(),
                    shapes.len()
                )));
            }
            let mut layers = Vec::new();
            for pair in m.params.chunks(2).zip(shapes.chunks(2)) {
                if let ([w, b], [[i, o], _]) = pair {
                    layers.push(DenseLayer {
                        inputs: *i,
                        outputs: *o,
                        weights: w.clone(),
                        bias: b.clone(),
                    });
                }
            }
            let kind = if s.hidden == 0 { "softmax" } else { "mlp" };
            (layers, Head::Softmax, s.inputs, kind.to_string())
        }
    };
    let scale_bits = m.scale_bits;
    let name = output
        .file_stem()
        .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    let bytes = dense_network(
        &name,
        &layers,
        head,
        scale_bits,
        &[
            (
                "zkmlops.run_final_commitment",
                transcript.final_commitment.to_string(),
            ),
            ("zkmlops.scale_bits", scale_bits.to_string()),
            ("zkmlops.model", kind.clone()),
        ],
    )
    .map_err(|source| CliError::Model {
        path: output.to_path_buf(),
        source,
    })?;
    let settings = zkmlops_onnx::Settings {
        input_shape: Some(vec![1, inputs]),
        scale_bits,
        param_scale_bits: Some(scale_bits),
        param_visibility: zkmlops_tensor::Visibility::CommittedTo(1),
        ..zkmlops_onnx::Settings::default()
    };
    // Import what was written: the committed weights must be the run's final weights.
    let onnx =
        zkmlops_onnx::OnnxModel::from_bytes(&bytes, &name).map_err(|source| CliError::Model {
            path: output.to_path_buf(),
            source,
        })?;
    let compiled = zkmlops_onnx::compile(&onnx, &settings)
        .and_then(|c| c.with_salt(salt))
        .map_err(|source| CliError::Model {
            path: output.to_path_buf(),
            source,
        })?;
    if compiled.commitment() != Some(transcript.final_commitment) {
        return Err(CliError::RunRejected {
            what: "the exported model does not import to the run's final weights".into(),
        });
    }
    io::write(output, &bytes)?;
    let settings_path = sibling(output, "settings");
    io::write(&settings_path, settings.to_json().as_bytes())?;
    let commitment_path = sibling(output, "commitment");
    let file = io::CommitmentFile {
        version: 1,
        model: name,
        program_digest: compiled.program.digest().to_string(),
        commitment: transcript.final_commitment,
        salt: Some(salt),
    };
    io::write(&commitment_path, crate::report::json(&file).as_bytes())?;
    outln!(
        "exported the run's final {kind} model ({} layer(s), scale 2^{scale_bits}) to {}; its weights import under the run's final commitment {}\nwrote {} and {} (publish the commitment; keep the salt in it)",
        layers.len(),
        output.display(),
        transcript.final_commitment,
        settings_path.display(),
        commitment_path.display()
    );
    Ok(std::process::ExitCode::SUCCESS)
}

pub(crate) fn eval(
    cmd: EvalCommand,
    registry: &Registry,
    quiet: bool,
) -> Result<std::process::ExitCode, CliError> {
    match cmd {
        EvalCommand::Prove {
            run,
            data,
            prep,
            attribute,
            zk,
            backend,
            output,
            format,
        } => {
            let chosen = backend.choose(registry, zk, zk)?;
            let transcript: TrainingTranscript = io::read_stage(&run)?;
            let m: ModelFile = read_json(&run.join("model.json"))?;
            let final_salt = final_salt(&run)?;
            let test = dataset(&data)?;
            let test_salt = data_salt(prep.as_deref(), "test")?;
            let pb = crate::spinner(quiet, "proving the accuracy");
            let proof = match (transcript.spec, &attribute) {
                (ModelSpec::Linear(spec), attribute) => {
                    let model = Model {
                        scale_bits: m.scale_bits,
                        w: m.w,
                        b: m.b,
                    };
                    match attribute {
                        None => prove_metrics(
                            &spec,
                            &model,
                            &final_salt,
                            &test,
                            &test_salt,
                            chosen.backend,
                            &chosen.preset.name,
                        ),
                        Some(path) => zkmlops_train::prove_fairness_metrics(
                            &spec,
                            &model,
                            &final_salt,
                            &test,
                            &test_salt,
                            &read_attribute(path)?,
                            &salt()?,
                            chosen.backend,
                            &chosen.preset.name,
                        ),
                    }
                }
                (ModelSpec::Mlp(_), Some(_)) => {
                    return Err(CliError::TrainSpec {
                        path: transcript_path(&run),
                        what: "--attribute (a fairness figure) needs a binary classifier".into(),
                    });
                }
                (ModelSpec::Mlp(spec), None) => {
                    let model = MlpModel {
                        scale_bits: m.scale_bits,
                        params: m.params,
                    };
                    prove_mlp_metrics(
                        &spec,
                        &model,
                        &final_salt,
                        &test,
                        &test_salt,
                        chosen.backend,
                        &chosen.preset.name,
                    )
                }
            }
            .map_err(|e| CliError::Metrics {
                source: Box::new(e),
            })?;
            pb.finish_and_clear();
            let output = io::write_stage(&output, &proof, format)?;
            outln!(
                "proved {} / {} correct for model {}; wrote {}",
                proof.correct,
                proof.rows,
                proof.model_commitment,
                output.display()
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        EvalCommand::Predict {
            run,
            data,
            transparent,
            backend,
            output,
            format,
        } => {
            let chosen = backend.choose(registry, !transparent, transparent)?;
            let (spec, model) = linear_run(
                &run,
                "prediction proofs are built for linear models (logistic, linear)",
            )?;
            let rows = feature_rows(&data, spec.features)?;
            let pb = crate::spinner(quiet, "proving the predictions");
            let proof = zkmlops_train::prove_prediction(
                &spec,
                &model,
                &final_salt(&run)?,
                &rows,
                chosen.backend,
                &chosen.preset.name,
            )
            .map_err(|e| CliError::Metrics {
                source: Box::new(e),
            })?;
            pb.finish_and_clear();
            let output = io::write_stage(&output, &proof, format)?;
            let shown: Vec<String> = proof
                .values()
                .iter()
                .take(8)
                .map(|v| format!("{v:.4}"))
                .collect();
            outln!(
                "proved {} predictions [{}{}] for model {}; wrote {}",
                proof.rows,
                shown.join(", "),
                if proof.rows > 8 { ", ..." } else { "" },
                proof.model_commitment,
                output.display()
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        EvalCommand::VerifyPrediction { prediction, run } => {
            let proof: zkmlops_train::PredictionProof = io::read_stage(&prediction)?;
            proof
                .verify(
                    verifier(registry, Some(&proof.envelope))?,
                    &VerifyPolicy::default(),
                )
                .map_err(|e| CliError::RunRejected {
                    what: e.to_string(),
                })?;
            if let Some(run) = &run {
                let t: TrainingTranscript = io::read_stage(run)?;
                if t.final_commitment != proof.model_commitment {
                    return Err(CliError::RunRejected {
                        what: "the model is not the run's final model".into(),
                    });
                }
            }
            let shown: Vec<String> = proof.values().iter().map(|v| format!("{v:.4}")).collect();
            outln!(
                "verified: {} predictions of model {}{}: [{}]",
                proof.rows,
                proof.model_commitment,
                if run.is_some() {
                    " (the run's final model)"
                } else {
                    ""
                },
                shown.join(", ")
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        EvalCommand::Verify { metrics, run, json } => {
            let proof: MetricsProof = io::read_stage(&metrics)?;
            let mut result = proof
                .verify(
                    verifier(registry, Some(&proof.envelope))?,
                    &VerifyPolicy::default(),
                )
                .map_err(|e| e.to_string());
            if let (Ok(()), Some(run)) = (&result, &run) {
                let t: TrainingTranscript = io::read_stage(run)?;
                if t.final_commitment != proof.model_commitment {
                    result = Err("the model measured is not the run's final model".into());
                }
            }
            if json {
                outln!(
                    "{}",
                    crate::report::json(&serde_json::json!({
                        "report_version": crate::report::REPORT_VERSION,
                        "verified": result.is_ok(),
                        "error": result.as_ref().err(),
                        "correct": proof.correct,
                        "rows": proof.rows,
                        "model_commitment": proof.model_commitment,
                        "test_commitment": proof.test_commitment,
                        "fairness": proof.fairness.map(|f| serde_json::json!({
                            "attribute_commitment": f.attribute_commitment,
                            "positives": f.positives,
                            "group_positives": f.group_positives,
                            "group_rows": f.group_rows,
                            "positive_rate_gap": f.positive_rate_gap(proof.rows),
                        })),
                    }))
                );
            } else if let Err(e) = &result {
                return Err(CliError::RunRejected { what: e.clone() });
            } else {
                outln!(
                    "verified: {} / {} correct ({:.3}) for model {} on test set {}",
                    proof.correct,
                    proof.rows,
                    proof.correct as f64 / proof.rows.max(1) as f64,
                    proof.model_commitment,
                    proof.test_commitment
                );
                if let Some(f) = proof.fairness {
                    outln!(
                        "fairness: group {} / {} predicted positive, others {} / {}; positive-rate gap {} (attribute {})",
                        f.group_positives,
                        f.group_rows,
                        f.positives.saturating_sub(f.group_positives),
                        proof.rows.saturating_sub(f.group_rows),
                        f.positive_rate_gap(proof.rows)
                            .map_or("undefined (an empty group)".into(), |g| format!("{g:.3}")),
                        f.attribute_commitment
                    );
                }
            }
            Ok(if result.is_ok() {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            })
        }
    }
}
