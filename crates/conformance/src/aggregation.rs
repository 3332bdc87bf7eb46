//! Aggregation through the boundary: a backend whose preset declares `aggregation` folds a
//! two-segment training run into one proof that verifies, and refuses a dropped or altered
//! member; any other backend refuses to aggregate by name.

use zkmlops_proof::{
    AggregateEnvelope, AggregateError, Backend, ProveError, VerifyError, VerifyPolicy,
};

use crate::checks::preset_info;
use crate::{Report, Status, guarded};

/// Run the aggregation checks.
#[must_use]
pub fn check_aggregation(backend: &dyn Backend, preset: &str) -> Report {
    let mut report = Report::new(backend, preset);
    let name = "aggregation";
    let Some(info) = preset_info(backend, preset, &mut report) else {
        return report;
    };
    if !info.capabilities.aggregation {
        let r = guarded(|| backend.aggregate(&[]));
        if !matches!(
            r,
            Ok(Err(ProveError::Aggregate(
                AggregateError::Unsupported { .. }
            )))
        ) {
            report.fail(
                name,
                "a backend without aggregation refuses by name",
                format!("{r:?}"),
            );
        }
        let empty = AggregateEnvelope {
            version: zkmlops_proof::AGGREGATE_VERSION,
            backend: backend.id(),
            params: zkmlops_proof::BackendParams {
                preset: preset.into(),
                ..crate::null::NullBackend::params()
            },
            members: Vec::new(),
            proof: Vec::new(),
        };
        let r = guarded(|| backend.verify_aggregate(&[], &empty, &VerifyPolicy::default()));
        if !matches!(r, Ok(Err(VerifyError::Aggregate(_)))) {
            report.fail(name, "verify_aggregate refuses", format!("{r:?}"));
        }
        report.row(
            name,
            Status::Unsupported {
                what: "aggregation".into(),
            },
        );
        return report;
    }
    let t = std::time::Instant::now();
    let run = guarded(|| crate::lifecycle::two_segment_run(backend, preset));
    let transcript = match run {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return fail_with(report, "prove a two-segment run", e),
        Err(p) => return fail_with(report, "prove a two-segment run", p),
    };
    let aggregated = match guarded(|| transcript.clone().aggregated(backend).map_err(Box::new)) {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => return fail_with(report, "aggregate", e.to_string()),
        Err(p) => return fail_with(report, "aggregate", p),
    };
    let prove = t.elapsed();
    let t = std::time::Instant::now();
    match guarded(|| aggregated.verify(backend, &VerifyPolicy::default())) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return fail_with(report, "verify the aggregate", e.to_string()),
        Err(p) => return fail_with(report, "verify the aggregate", p),
    }
    let verify = t.elapsed();
    let Some(agg) = aggregated.aggregate.clone() else {
        return fail_with(report, "aggregate", "no aggregate in the transcript".into());
    };
    let mut rejections = 0;
    let mut refuse = |report: &mut Report, what: &str, bad: zkmlops_train::TrainingTranscript| {
        rejections += 1;
        let r = guarded(|| bad.verify(backend, &VerifyPolicy::default()));
        if !matches!(r, Ok(Err(_))) {
            report.fail(name, what, format!("accepted or panicked: {r:?}"));
        }
    };
    // The last member dropped (the schedule then counts one segment short).
    let mut bad = aggregated.clone();
    if let Some(a) = bad.aggregate.as_mut() {
        a.members.pop();
    }
    refuse(&mut report, "a dropped member", bad);
    // The members swapped.
    let mut bad = aggregated.clone();
    if let Some(a) = bad.aggregate.as_mut() {
        a.members.swap(0, 1);
    }
    refuse(&mut report, "swapped members", bad);
    // Each member's dataset commitment changed, and a proof byte.
    for index in 0..agg.members.len() {
        let mut bad = aggregated.clone();
        if let Some(c) = bad
            .aggregate
            .as_mut()
            .and_then(|a| a.members.get_mut(index))
            .and_then(|m| m.statement.commitments.first_mut())
        {
            c.digest[5] ^= 1;
        }
        refuse(
            &mut report,
            &format!("member {index}'s dataset commitment"),
            bad,
        );
    }
    let mut bad = aggregated.clone();
    if let Some(b) = bad
        .aggregate
        .as_mut()
        .and_then(|a| a.proof.get_mut(agg.proof.len() / 2))
    {
        *b ^= 0x20;
    }
    refuse(&mut report, "a proof byte", bad);
    // Both per-segment proofs and an aggregate.
    let mut bad = aggregated;
    bad.segments = transcript.segments;
    refuse(&mut report, "segments beside the aggregate", bad);
    report.row(
        name,
        Status::Proved {
            proof_bytes: agg.proof.len(),
            prove,
            verify,
        },
    );
    report.row(&format!("{name}/tampering"), Status::Checked { rejections });
    report
}

fn fail_with(mut report: Report, what: &str, detail: String) -> Report {
    report.fail("aggregation", what, detail);
    report
}
