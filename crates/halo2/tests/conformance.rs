//! halo2 through the whole conformance suite. The stable partition and committed tensors are
//! declared unsupported (the suite checks they are refused by name).

mod ipa {
    zkmlops_conformance::suite!(zkmlops_halo2::Halo2Backend, "ipa");
}
