//! plonky2 through the whole conformance suite. Ops and features it does not prove yet are
//! declared, and reported unsupported by name.
//!
//! The hiding preset pads every circuit to at least 2^14 rows (plonky2's blinding gates), so
//! each of its proofs takes seconds: its full suite runs with `--features slow-tests`; the
//! default run checks it on one Program (`hiding.rs`).

mod poseidon {
    zkmlops_conformance::suite!(zkmlops_plonky2::Plonky2Backend, "poseidon");
}

#[cfg(feature = "slow-tests")]
mod poseidon_zk {
    zkmlops_conformance::suite!(zkmlops_plonky2::Plonky2Backend, "poseidon-zk");
}
