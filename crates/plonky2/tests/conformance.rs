//! plonky2 through the whole conformance suite (every op is declared and proved).
//!
//! `poseidon` runs every group in the default test run, the op and model groups on their
//! sample ([`zkmlops_conformance::Coverage`]: the whole single-operator model list took 144 s
//! in the test profile on 2 cores); `--features slow-tests` proves them whole. The hiding preset adds thousands of blinding rows to every circuit
//! (plonky2's zero knowledge), so its whole suite (about 6 minutes) runs with
//! `--features slow-tests`; `hiding.rs` checks the hiding preset on one Program in the default
//! run.

mod poseidon {
    zkmlops_conformance::suite!(
        zkmlops_plonky2::Plonky2Backend,
        "poseidon",
        sample = "slow-tests"
    );
}

#[cfg(feature = "slow-tests")]
mod poseidon_zk {
    zkmlops_conformance::suite!(zkmlops_plonky2::Plonky2Backend, "poseidon-zk");
}
