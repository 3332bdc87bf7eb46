//! Bundled models, every single-operator ONNX model of the importer's tests, a training run and
//! a preprocessing Program.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use zkmlops_onnx::{OnnxModel, Settings};
use zkmlops_proof::{Backend, VerifyPolicy};
use zkmlops_tensor::Tensor;

use crate::checks::prove_case;
use crate::{Case, Coverage, Report, Status, guarded};

/// A model file with the input it is proved on (`None`: random inputs in `[-2, 2)`).
struct ModelFile {
    name: &'static str,
    bytes: &'static [u8],
    input: Option<&'static [u8]>,
}

macro_rules! bundled {
    ($($name:literal),* $(,)?) => {
        &[$(ModelFile {
            name: $name,
            bytes: include_bytes!(concat!("../../../examples/models/", $name, ".onnx")),
            input: Some(include_bytes!(concat!("../../../examples/models/", $name, ".input.json"))),
        }),*]
    };
}

macro_rules! operators {
    ($($name:literal),* $(,)?) => {
        &[$(ModelFile {
            name: $name,
            bytes: include_bytes!(concat!("../../onnx/tests/models/", $name, ".onnx")),
            input: None,
        }),*]
    };
}

const BUNDLED: &[ModelFile] = bundled!["logreg", "mlp", "cnn"];

const OPERATORS: &[ModelFile] = operators![
    "gemm",
    "matmul",
    "add",
    "sub",
    "mul",
    "div",
    "conv",
    "conv_groups",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "erf",
    "gelu",
    "softmax",
    "max_pool",
    "average_pool",
    "global_average_pool",
    "batch_norm",
    "conv_batch_norm",
    "layer_norm",
    "flatten",
    "reshape",
    "transpose",
    "concat",
    "squeeze_unsqueeze",
    "identity_constant",
    "neg",
    "abs",
    "min_max",
    "sum_nary",
    "clip",
    "clip_max_only",
    "hard_sigmoid",
    "hard_swish",
    "prelu",
    "elu",
    "selu",
    "celu",
    "softplus",
    "mish",
    "sqrt",
    "pow",
    "reduce_sum",
    "reduce_mean",
    "reduce_max",
    "reduce_min",
    "reduce_sum_square",
    "reduce_l1",
    "reduce_l2",
    "slice",
    "shape_subgraph",
    "constant_folding",
    "pad",
    "pad_crop",
    "gather_dynamic",
    "split",
    "tile_expand",
    "conv1d",
    "two_inputs",
    "matmul_stack",
    "matmul_activations",
    "matmul_broadcast",
    "attention",
    "softmax_axis1",
    "softmax_opset11",
    "log_softmax",
    "argmax",
    "causal_mask",
    "compare_logic",
    "layer_norm_2axes",
    "instance_norm",
    "resize_nearest",
    "resize_sizes_asymmetric",
    "upsample",
    "mean_trilu_pool",
    "pool1d",
    "shrink",
    "hardmax",
    "misc_ops",
    "lstm",
    "lstm_bidirectional",
    "gru",
    "gru_reverse",
    "rnn",
    "conv_transpose",
    "conv_transpose_groups",
    "div_computed",
    "gather_computed",
    "gather_elements_nd",
    "gather_constant_indices",
    "exp_log_softsign",
    "round",
    "lp_pool",
    "top_k",
    "trig",
    "scatter_constant",
    "scatter_computed",
    "tree_classifier",
    "boosted_classifier",
    "forest_regressor",
    "logistic_scaled",
    "logistic_multiclass",
    "binarized_regressor",
    "pow_more",
    "cumsum",
    "mod_float",
    "mod_int",
    "quantize_dequantize",
    "einsum",
    "depth_space",
    "lp_norms",
    "global_lp_pool_compress",
    "swish",
    "one_hot_eye",
    "resize_linear",
    "resize_nearest_fractional",
    "group_norm",
    "mean_variance_norm",
    "rms_norm",
    "conv3d",
    "pool3d",
    "pad_modes",
    "prelu_channels",
    "max_pool_dilated",
    "max_pool3d_padded",
    "max_pool_ceil",
    "average_pool_ceil",
    "average_pool_dilated",
    "average_pool_dilated_count_pad",
    "einsum_ellipsis",
    "resize_cubic",
    "windows",
    "bit_shift",
    "constants_only",
    "boosted_binary",
    "margin_binary",
    "positive_binary",
    "linear_binary",
    "linear_binary_logistic",
    "sklearn_mlp",
    "gaussian_nb",
    "linear_svc_binary",
    "kmeans",
    "cast_computed",
    "svc_rbf",
    "svc_poly_binary",
    "svr_rbf",
    "lrn",
    "reduce_log_sum",
    "if_constant",
    "loop_unrolled",
    "sequence_ops",
    "knn_classifier",
    "knn_regressor",
    "xgb_multiclass",
    "lgb_binary",
];

/// The single-operator models a [`Coverage::Sample`] run proves: together they use every op
/// (and every lookup function) that the whole of [`OPERATORS`] uses, compiled with default
/// settings. The test `the_model_sample_uses_every_op_of_the_whole_list` keeps it so and names
/// a sample when an op is missing.
const MODEL_SAMPLE: &[&str] = &[
    "trig",
    "knn_regressor",
    "exp_log_softsign",
    "gru_reverse",
    "pool1d",
    "erf",
    "conv_batch_norm",
    "gelu",
    "softplus",
    "layer_norm",
];

/// Compile a model with default settings (weights committed), or with private weights, and
/// make its case.
fn model_case(m: &ModelFile, family: &'static str, committed: bool) -> Result<Case, String> {
    let onnx = OnnxModel::from_bytes(m.bytes, m.name).map_err(|e| e.to_string())?;
    let mut settings = Settings::default();
    if !committed {
        settings.param_visibility = zkmlops_tensor::Visibility::Private;
    }
    let compiled = zkmlops_onnx::compile(&onnx, &settings).map_err(|e| e.to_string())?;
    let sample: Vec<f64> = match m.input {
        Some(json) => zkmlops_onnx::InputData::from_json(json)
            .map_err(|e| e.to_string())?
            .input_data
            .into_iter()
            .next()
            .ok_or("no sample")?,
        None => {
            let n = compiled
                .input_shapes()
                .iter()
                .map(|s| s.iter().product::<usize>())
                .sum();
            let mut r = StdRng::seed_from_u64(7);
            (0..n).map(|_| r.random_range(-2.0..2.0)).collect()
        }
    };
    let witness = compiled.witness(0, &sample).map_err(|e| e.to_string())?;
    // The case's inputs are the witness's input tensors, in declaration order.
    let inputs: Vec<Tensor> = compiled
        .program
        .input_ids()
        .filter_map(|id| witness.get(id).cloned())
        .collect();
    Ok(Case {
        name: format!(
            "{family}/{}{}",
            m.name,
            if committed { "" } else { " (private weights)" }
        ),
        family,
        program: compiled.program,
        inputs,
    })
}

/// Prove and verify the bundled models (weights committed, and private) and every
/// single-operator ONNX model (weights committed).
#[must_use]
pub fn run_models(backend: &dyn Backend, preset: &str) -> Report {
    run_models_with(backend, preset, Coverage::Full)
}

/// [`run_models`] with a [`Coverage`]: [`Coverage::Sample`] proves the bundled models and the
/// single-operator models of `MODEL_SAMPLE` (which together use every op the whole list
/// uses); the others are reported [`Status::NotSampled`].
#[must_use]
pub fn run_models_with(backend: &dyn Backend, preset: &str, coverage: Coverage) -> Report {
    let mut report = Report::new(backend, preset);
    let info = match backend.preset(preset) {
        Ok(i) => i,
        Err(e) => {
            report.fail("preset", "look up the preset", e.to_string());
            return report;
        }
    };
    let runs = BUNDLED
        .iter()
        .flat_map(|m| [(m, "model", true), (m, "model", false)])
        .chain(OPERATORS.iter().map(|m| (m, "onnx", true)));
    for (m, family, committed) in runs {
        if coverage == Coverage::Sample && family == "onnx" && !MODEL_SAMPLE.contains(&m.name) {
            report.row(&format!("{family}/{}", m.name), Status::NotSampled);
            continue;
        }
        match model_case(m, family, committed) {
            Ok(case) => {
                prove_case(backend, &info, &case, &mut report);
            }
            Err(e) => report.fail(&format!("{family}/{}", m.name), "compile", e),
        }
    }
    report
}

const TRAIN_CSV: &str = "f1,f2,f3,label
0.5,-1.0,0.25,1
-0.75,0.5,1.0,0
1.0,0.25,-0.5,1
-0.25,-0.5,0.75,0
0.75,1.0,-0.25,1
-1.0,0.75,0.5,0
0.25,-0.25,-1.0,1
-0.5,0.0,0.25,0
";

const PIPELINE: &str = r#"
version = 1
columns = [
    { name = "a", scale_bits = 4 },
    { name = "b", scale_bits = 4, nullable = true },
    { name = "c", scale_bits = 0 },
    { name = "y", scale_bits = 0 },
]
steps = [
    { op = "impute", column = "b", value = "mean" },
    { op = "clip", column = "a", min = -5, max = 5 },
    { op = "filter", column = "a", keep = ">=", value = -3 },
    { op = "one_hot", column = "c", categories = [0, 1, 2] },
    { op = "stats", column = "a" },
    { op = "standardize", columns = ["a"], scale_bits = 8 },
    { op = "min_max", columns = ["b"], scale_bits = 8 },
]
output = { features = ["a", "b", "c=0", "c=1", "c=2"], labels = ["y"], scale_bits = 8, test_rows = 3 }
"#;

const RAW_CSV: &str = "a,b,c,y
1.5,2.0,0,1
-4.0,,1,0
6.5,-1.25,2,1
0.25,0.5,1,0
-2.75,,0,1
3.0,1.75,2,0
-6.0,0.0,1,1
2.25,-2.5,0,0
0.0,3.25,2,1
-1.5,,1,0
";

/// Logistic regression on the suite's small dataset ([`TRAIN_CSV`]).
fn small_spec() -> zkmlops_train::LogRegSpec {
    zkmlops_train::LogRegSpec {
        features: 3,
        batch: 4,
        learning_rate: 0.5,
        scale_bits: 8,
        value_bits: zkmlops_train::DATA_VALUE_BITS,
        link: zkmlops_train::Link::Logistic,
    }
}

/// A logistic run on the suite's small dataset in two one-step segments (for aggregation).
pub(crate) fn two_segment_run(
    backend: &dyn Backend,
    preset: &str,
) -> Result<zkmlops_train::TrainingTranscript, String> {
    let spec = small_spec();
    let data = zkmlops_train::Dataset::from_csv(TRAIN_CSV).map_err(|e| e.to_string())?;
    let salts = zkmlops_train::RunSalts {
        data: [11, -22, 33, -44],
        checkpoints: vec![[1, 2, 3, 4], [5, -6, 7, -8], [9, 10, -11, 12]],
    };
    let initial = zkmlops_train::Model::zeros(&spec);
    zkmlops_train::prove_run(&spec, &data, &initial, &salts, 1, 2, backend, preset)
        .map(|(t, _)| t)
        .map_err(|e| e.to_string())
}

fn train_run(
    backend: &dyn Backend,
    preset: &str,
    caps: &zkmlops_proof::Capabilities,
    report: &mut Report,
) {
    let name = "lifecycle/training_segment";
    let spec = small_spec();
    let data = match zkmlops_train::Dataset::from_csv(TRAIN_CSV) {
        Ok(d) => d,
        Err(e) => return report.fail(name, "dataset", e.to_string()),
    };
    let salts = zkmlops_train::RunSalts {
        data: [11, -22, 33, -44],
        checkpoints: vec![[1, 2, 3, 4], [5, -6, 7, -8]],
    };
    let initial = zkmlops_train::Model::zeros(&spec);
    let t = std::time::Instant::now();
    let run = guarded(|| {
        zkmlops_train::prove_run(&spec, &data, &initial, &salts, 2, 1, backend, preset)
            .map_err(Box::new)
    });
    let prove = t.elapsed();
    let (transcript, _) = match run {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            if let zkmlops_train::RunError::Prove { source, .. } = e.as_ref()
                && let Some(what) = refused_by_name(source, caps)
            {
                return report.row(name, Status::Unsupported { what });
            }
            return report.fail(name, "prove the run", e.to_string());
        }
        Err(p) => return report.fail(name, "prove the run", format!("panicked: {p}")),
    };
    let t = std::time::Instant::now();
    let verified = guarded(|| transcript.verify(backend, &VerifyPolicy::default()));
    let verify = t.elapsed();
    match verified {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return report.fail(name, "verify the transcript", e.to_string()),
        Err(p) => return report.fail(name, "verify the transcript", format!("panicked: {p}")),
    }
    // A segment's end commitment changed breaks the chain.
    let mut broken = transcript.clone();
    if let Some(c) = broken
        .segments
        .first_mut()
        .and_then(|s| s.statement.commitments.last_mut())
    {
        c.digest[0] ^= 1;
    }
    let r = guarded(|| broken.verify(backend, &VerifyPolicy::default()));
    if !matches!(r, Ok(Err(_))) {
        report.fail(name, "a changed end commitment", "accepted or panicked");
    }
    report.row(
        name,
        Status::Proved {
            proof_bytes: transcript.segments.iter().map(|s| s.proof.len()).sum(),
            prove,
            verify,
        },
    );
}

fn preprocessing(
    backend: &dyn Backend,
    preset: &str,
    caps: &zkmlops_proof::Capabilities,
    report: &mut Report,
) {
    let name = "lifecycle/preprocessing";
    let pipeline: zkmlops_preprocess::Pipeline = match toml::from_str(PIPELINE) {
        Ok(p) => p,
        Err(e) => return report.fail(name, "pipeline", e.to_string()),
    };
    let table = match zkmlops_preprocess::RawTable::from_csv(&pipeline, RAW_CSV) {
        Ok(t) => t,
        Err(e) => return report.fail(name, "raw table", e.to_string()),
    };
    let salts = match zkmlops_preprocess::Salts::fresh() {
        Ok(s) => s,
        Err(e) => return report.fail(name, "salts", e.to_string()),
    };
    let t = std::time::Instant::now();
    let proved = guarded(|| zkmlops_preprocess::prove(&pipeline, &table, &salts, backend, preset));
    let prove = t.elapsed();
    let (proof, _) = match proved {
        Ok(Ok(p)) => p,
        Ok(Err(zkmlops_preprocess::PreprocessError::Prove(e)))
            if refused_by_name(&e, caps).is_some() =>
        {
            let what = refused_by_name(&e, caps).unwrap_or_default();
            return report.row(name, Status::Unsupported { what });
        }
        Ok(Err(e)) => return report.fail(name, "prove", e.to_string()),
        Err(p) => return report.fail(name, "prove", format!("panicked: {p}")),
    };
    let t = std::time::Instant::now();
    let verified = guarded(|| proof.verify(backend, &VerifyPolicy::default()));
    let verify = t.elapsed();
    match verified {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return report.fail(name, "verify", e.to_string()),
        Err(p) => return report.fail(name, "verify", format!("panicked: {p}")),
    }
    // A published statistic changed is rejected.
    let mut changed = proof.clone();
    if let Some(c) = changed
        .envelope
        .statement
        .public
        .first_mut()
        .and_then(|p| p.values.first_mut())
    {
        *c += 1;
    }
    let r = guarded(|| {
        changed
            .verify(backend, &VerifyPolicy::default())
            .map(|_| ())
    });
    if !matches!(r, Ok(Err(_))) {
        report.fail(name, "a changed public value", "accepted or panicked");
    }
    report.row(
        name,
        Status::Proved {
            proof_bytes: proof.envelope.proof.len(),
            prove,
            verify,
        },
    );
}

/// What a stage needs that the preset declares unsupported, when the backend refused it by
/// name: reported, never a failure. An op the preset *declares* supported is no excuse.
fn refused_by_name(
    e: &zkmlops_proof::ProveError,
    caps: &zkmlops_proof::Capabilities,
) -> Option<String> {
    match e {
        zkmlops_proof::ProveError::UnsupportedOp { op, .. } if !caps.ops.contains(op) => {
            Some(op.clone())
        }
        _ => None,
    }
}

/// A training run of one segment and a preprocessing Program, through their stages' own
/// prove and verify. Both link by `zkmlops-commit` lineage commitments: a preset whose
/// commitment scheme is another is reported unsupported for them.
#[must_use]
pub fn run_lifecycle(backend: &dyn Backend, preset: &str) -> Report {
    let mut report = Report::new(backend, preset);
    let info = match backend.preset(preset) {
        Ok(i) => i,
        Err(e) => {
            report.fail("preset", "look up the preset", e.to_string());
            return report;
        }
    };
    if info.capabilities.commitment_scheme.as_ref() != Some(&zkmlops_commit::SCHEME) {
        let what = format!(
            "lifecycle stages link {} commitments; this preset's scheme is {:?}",
            zkmlops_commit::SCHEME,
            info.capabilities.commitment_scheme
        );
        report.row(
            "lifecycle/training_segment",
            Status::Unsupported { what: what.clone() },
        );
        report.row("lifecycle/preprocessing", Status::Unsupported { what });
        return report;
    }
    train_run(backend, preset, &info.capabilities, &mut report);
    preprocessing(backend, preset, &info.capabilities, &mut report);
    report
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{MODEL_SAMPLE, OPERATORS, model_case};

    /// The ops (lookup functions by name) of a single-operator model's Program.
    fn ops_of(name: &str) -> BTreeSet<&'static str> {
        let m = OPERATORS.iter().find(|m| m.name == name);
        let case = m.map(|m| model_case(m, "onnx", true));
        match case {
            Some(Ok(case)) => case.program.nodes().iter().map(|n| n.op.name()).collect(),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn the_model_sample_uses_every_op_of_the_whole_list() {
        let every: Vec<(&str, BTreeSet<&str>)> =
            OPERATORS.iter().map(|m| (m.name, ops_of(m.name))).collect();
        let all: BTreeSet<&str> = every.iter().flat_map(|(_, ops)| ops.clone()).collect();
        let sampled: BTreeSet<&str> = every
            .iter()
            .filter(|(name, _)| MODEL_SAMPLE.contains(name))
            .flat_map(|(_, ops)| ops.clone())
            .collect();
        assert!(
            MODEL_SAMPLE
                .iter()
                .all(|n| OPERATORS.iter().any(|m| m.name == *n)),
            "a sampled model is not in the list"
        );
        let missing: Vec<&str> = all.difference(&sampled).copied().collect();
        if !missing.is_empty() {
            // Greedy cover, smallest Programs first among equals: a sample that would do.
            let mut left: BTreeSet<&str> = all.clone();
            let mut pick = Vec::new();
            while !left.is_empty() {
                let best = every.iter().max_by_key(|(_, ops)| {
                    (ops.intersection(&left).count(), usize::MAX - ops.len())
                });
                let Some((name, ops)) = best else { break };
                pick.push(*name);
                left = left.difference(ops).copied().collect();
            }
            panic!("ops no sampled model uses: {missing:?}; a sample that uses all: {pick:?}");
        }
    }
}
