//! The FRI backend through the whole conformance suite, for a transparent and a hiding preset.

mod keccak {
    zkmlops_conformance::suite!(zkmlops_fri::FriBackend, "keccak");
}

mod keccak_zk {
    zkmlops_conformance::suite!(zkmlops_fri::FriBackend, "keccak-zk");
}
