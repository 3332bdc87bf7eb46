//! plonky2 through the whole conformance suite (every op is declared and proved).
//!
//! `poseidon` runs whole in the default test run (the models and lifecycle groups take about
//! 17 s in the test profile on 2 cores, now that the commitments' Poseidon2 is one custom-gate
//! row per permutation). The hiding preset adds thousands of blinding rows to every circuit
//! (plonky2's zero knowledge), so its whole suite (about 6 minutes) runs with
//! `--features slow-tests`; `hiding.rs` checks the hiding preset on one Program in the default
//! run.

mod poseidon {
    zkmlops_conformance::suite!(zkmlops_plonky2::Plonky2Backend, "poseidon");
}

#[cfg(feature = "slow-tests")]
mod poseidon_zk {
    zkmlops_conformance::suite!(zkmlops_plonky2::Plonky2Backend, "poseidon-zk");
}
