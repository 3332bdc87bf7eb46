//! Prover side: wire values, limit checks and traces.

use p3_matrix::dense::RowMajorMatrix;
use zkmlops_tensor::{Program, Tensor, Witness, ops};

use crate::chips::{ACT_BITS, ACT_OFFSET, Chip, ChipKind, MapKind, MapPart};
use crate::circuit::{Circuit, Internal};
use crate::config::Val;
use crate::{BACKEND, FriError};
use zkmlops_proof::ProveError;

/// Every wire's values: Program tensors from the witness, internal wires recomputed by the
/// reference ops.
pub(crate) fn wire_values(
    program: &Program,
    witness: &Witness,
    circuit: &Circuit,
) -> Result<Vec<Vec<i64>>, FriError> {
    let mut values: Vec<Vec<i64>> = witness.values().iter().map(|t| t.data().to_vec()).collect();
    let shape_of = |w: usize| program.tensors()[w].shape.clone();
    for wire in &circuit.wires[values.len()..] {
        // An internal wire (a product before its bias, the sums of a mean) can leave the
        // fixed-point range even when the Program's own tensors do not.
        let overflow = |_| {
            FriError::Prove(ProveError::Limit {
                backend: BACKEND,
                tensor: wire.name.clone(),
                what: "intermediate value",
                value: u128::from(zkmlops_field::MAX_ABS.unsigned_abs()) + 1,
                limit: u128::from(zkmlops_field::MAX_ABS.unsigned_abs()),
            })
        };
        let tensor = |w: usize| Tensor::new(shape_of(w), values[w].clone()).map_err(overflow);
        let computed = match &wire.internal {
            Some(Internal::GemmNoBias {
                a,
                b,
                trans_a,
                trans_b,
            }) => ops::gemm(&tensor(*a)?, &tensor(*b)?, None, *trans_a, *trans_b),
            Some(Internal::SumOf { x, axes }) => ops::sum(&tensor(*x)?, axes, false),
            Some(Internal::Zero) => Ok(Tensor::scalar(0)),
            Some(Internal::GroupSums { x, groups }) => groups
                .iter()
                .map(|g| {
                    let total: i128 = g.iter().map(|&i| i128::from(values[*x][i])).sum();
                    i64::try_from(total)
                        .ok()
                        .filter(|t| t.unsigned_abs() <= zkmlops_field::MAX_ABS.unsigned_abs())
                })
                .collect::<Option<Vec<i64>>>()
                .map(Tensor::vector)
                .ok_or(zkmlops_tensor::OpError::Overflow {
                    op: "avg_pool2d",
                    index: 0,
                }),
            Some(Internal::Gather(taps)) => Ok(Tensor::vector(
                taps.iter().map(|&(w, i)| values[w as usize][i]).collect(),
            )),
            Some(Internal::GemmFlat { a, b, m, k, n }) => {
                let at = |w: usize, len: usize| Tensor::new(vec![len / k, *k], values[w].clone());
                ops::gemm(
                    &at(*a, m * k).map_err(overflow)?,
                    &at(*b, n * k).map_err(overflow)?,
                    None,
                    false,
                    true,
                )
            }
            None => return Err(FriError::MissingPublic),
        }
        .map_err(overflow)?;
        values.push(computed.into_data());
    }
    Ok(values)
}

fn act_limit(name: &str, what: &'static str, v: i128) -> FriError {
    FriError::Prove(ProveError::Limit {
        backend: BACKEND,
        tensor: name.into(),
        what,
        value: v.unsigned_abs(),
        limit: ACT_OFFSET.unsigned_abs().into(),
    })
}

/// Values that chips decompose must fit their range; say which tensor does not.
pub(crate) fn check_limits(circuit: &Circuit, values: &[Vec<i64>]) -> Result<(), FriError> {
    let half = i128::from(ACT_OFFSET);
    for air in &circuit.airs {
        let Chip::Map(m) = &air.chip else { continue };
        for p in &m.parts {
            check_map_part(circuit, m.kind, p, values)?;
        }
    }
    for air in &circuit.airs {
        if let Chip::Bound(c) = &air.chip {
            let (lo, hi) = c.range.range();
            for (w, i) in c.rows() {
                let v = values[w as usize][i];
                if !(lo..=hi).contains(&i128::from(v)) {
                    return Err(FriError::Prove(ProveError::Limit {
                        backend: BACKEND,
                        tensor: circuit.wires[w as usize].name.clone(),
                        what: "value the proof range-checks (signed 32-bit where it feeds arithmetic that could otherwise wrap mod p)",
                        value: v.unsigned_abs().into(),
                        limit: hi.unsigned_abs(),
                    }));
                }
            }
        }
    }
    for air in &circuit.airs {
        if let Chip::Reduce(m) = &air.chip
            && m.kind == crate::chips::ReduceKind::Max
        {
            for p in &m.parts {
                let name = &circuit.wires[p.out_wire as usize].name;
                for &i in p.groups.iter().flatten() {
                    let x = i128::from(values[p.in_wire as usize][i]);
                    if x < -half || x >= half {
                        return Err(act_limit(name, "max input (signed 32-bit)", x));
                    }
                }
            }
        }
    }
    debug_assert_eq!(ACT_BITS, 32);
    Ok(())
}

/// The limits of one map op's rows (the domains its chip decomposes).
fn check_map_part(
    circuit: &Circuit,
    kind: MapKind,
    p: &MapPart,
    values: &[Vec<i64>],
) -> Result<(), FriError> {
    let half = i128::from(ACT_OFFSET);
    let name = &circuit.wires[p.out_wire as usize].name;
    let a = |r: &crate::chips::map::MapRow| values[p.a_wire as usize][r.a];
    match kind {
        MapKind::DivConst => {
            for r in &p.rows {
                let n = i128::from(a(r)) + i128::from(r.offset);
                let q = n.div_euclid(i128::from(r.d));
                if q < -half || q >= half {
                    return Err(act_limit(name, "quotient (signed 32-bit)", q));
                }
            }
        }
        MapKind::Sqrt => {
            for r in &p.rows {
                let x = a(r);
                if !(0..=zkmlops_tensor::ops::SQRT_MAX_INPUT).contains(&x) {
                    return Err(FriError::Prove(ProveError::Limit {
                        backend: BACKEND,
                        tensor: name.clone(),
                        what: "square-root input (0 ..= 2^62 - 1)",
                        value: x.unsigned_abs().into(),
                        limit: zkmlops_tensor::ops::SQRT_MAX_INPUT.unsigned_abs().into(),
                    }));
                }
            }
        }
        MapKind::Relu => {
            for r in &p.rows {
                let x = i128::from(a(r));
                if x < -half || x >= half {
                    return Err(act_limit(name, "relu input (signed 32-bit)", x));
                }
            }
        }
        MapKind::AtLeast => {
            for r in &p.rows {
                let x = i128::from(a(r)) - i128::from(values[p.b_wire as usize][r.b]);
                if x < -half || x >= half {
                    return Err(act_limit(
                        name,
                        "compared difference a - b (signed 32-bit)",
                        x,
                    ));
                }
            }
        }
        MapKind::DivTensor { rounding } => {
            let max_b = 1i64 << crate::chips::map::div_tensor::DIVISOR_BITS;
            for r in &p.rows {
                let (a, b) = (a(r), values[p.b_wire as usize][r.b]);
                if !(1..max_b).contains(&b) {
                    return Err(act_limit(name, "divisor (1 ..= 2^24 - 1)", i128::from(b)));
                }
                let o = if rounding == zkmlops_tensor::ops::Rounding::HalfUp {
                    b / 2
                } else {
                    0
                };
                let q = (i128::from(a) + i128::from(o)).div_euclid(i128::from(b));
                if q < -half || q >= half {
                    return Err(act_limit(name, "quotient (signed 32-bit)", q));
                }
            }
        }
        MapKind::Lookup { spec, .. } => {
            for r in &p.rows {
                let x = a(r);
                if crate::chips::map::lookup::clamp_parts(x, spec.lo, spec.hi).is_none() {
                    return Err(FriError::Prove(ProveError::Limit {
                        backend: BACKEND,
                        tensor: name.clone(),
                        what: "distance of a lookup input from the table's domain",
                        value: x.unsigned_abs().into(),
                        limit: 1 << 32,
                    }));
                }
            }
        }
        MapKind::Binary { .. } | MapKind::Copy => {}
    }
    Ok(())
}

/// The main trace of every instance, in order.
pub(crate) fn traces(circuit: &Circuit, values: &[Vec<i64>]) -> Vec<RowMajorMatrix<Val>> {
    let mut range_counts = vec![0u32; 1 << crate::chips::RANGE_BITS];
    let own: Vec<Option<RowMajorMatrix<Val>>> = circuit
        .airs
        .iter()
        .map(|air| air.chip.trace(values, &mut range_counts))
        .collect();
    circuit
        .airs
        .iter()
        .zip(own)
        .map(|(air, own)| {
            let own = own.or_else(|| air.chip.late_trace(circuit, values, &range_counts));
            air.main_trace(own)
        })
        .collect()
}
