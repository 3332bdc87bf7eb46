//! halo2 through the whole conformance suite. The stable partition is declared unsupported
//! (the suite checks it is refused by name); the lifecycle stages link by Goldilocks
//! commitments, so the suite reports them unsupported for this scheme.
//!
//! The model, lifecycle and aggregation groups run with `--features slow-tests` (the bundled
//! models with committed weights are the largest circuits: about four minutes in the test
//! profile on 2 cores, most of it generating commitment keys of 2^15-2^17 generators when the
//! disk cache is cold). The CLI's tests prove a bundled model with committed weights on halo2
//! in the default run.

mod ipa {
    zkmlops_conformance::suite!(zkmlops_halo2::Halo2Backend, "ipa", slow = "slow-tests");
}
