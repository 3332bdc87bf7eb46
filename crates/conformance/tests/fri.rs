//! The FRI backend through the whole conformance suite, for a transparent and a hiding preset.
//!
//! The op and model groups prove their sample ([`zkmlops_conformance::Coverage`]) in the
//! default run and everything with `--features slow-tests`: the ONNX importer's own
//! conformance tests prove every single-operator model on this backend's default preset.

mod keccak {
    zkmlops_conformance::suite!(zkmlops_fri::FriBackend, "keccak", sample = "slow-tests");
}

mod keccak_zk {
    zkmlops_conformance::suite!(zkmlops_fri::FriBackend, "keccak-zk", sample = "slow-tests");
}
