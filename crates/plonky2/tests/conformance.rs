//! plonky2 through the whole conformance suite. Ops and features it does not prove yet are
//! declared, and reported unsupported by name.
//!
//! Costs on 2 cores: the committed-weights models absorb every weight with Poseidon2 written in
//! arithmetic gates (the bundled MLP's 2.4K weights take over a minute in the test profile), and
//! the hiding preset pads every circuit to at least 2^14 rows (plonky2's blinding gates). So
//! the models and lifecycle groups of `poseidon` and the whole `poseidon-zk` suite run with
//! `--features slow-tests` (or `-- --ignored`); `hiding.rs` checks the hiding preset on one
//! Program in the default run, and the ops group covers committed tensors on small Programs.

mod poseidon {
    zkmlops_conformance::suite!(
        zkmlops_plonky2::Plonky2Backend,
        "poseidon",
        slow = "slow-tests"
    );
}

#[cfg(feature = "slow-tests")]
mod poseidon_zk {
    zkmlops_conformance::suite!(zkmlops_plonky2::Plonky2Backend, "poseidon-zk");
}
