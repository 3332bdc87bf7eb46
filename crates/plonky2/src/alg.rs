//! Field-like arithmetic the custom gates write their constraints in once, evaluated on base
//! values (the generators), extension values (the prover's constraint evaluation) and
//! extension targets (the recursive verifier).

use plonky2::field::extension::{Extendable, FieldExtension};
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::plonk::circuit_builder::CircuitBuilder;

use crate::circuit::{D, F};

pub(crate) type FE = <F as Extendable<D>>::Extension;

/// Field-like operations the constraints are written in: native values, extension values
/// (the prover's constraint evaluation) and extension targets (the recursive verifier).
pub(crate) trait Alg {
    type V: Copy;
    fn add(&mut self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(&mut self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(&mut self, a: Self::V, b: Self::V) -> Self::V;
    fn scale(&mut self, c: F, a: Self::V) -> Self::V;
    fn add_const(&mut self, a: Self::V, c: F) -> Self::V;
}

pub(crate) struct Base;

impl Alg for Base {
    type V = F;
    fn add(&mut self, a: F, b: F) -> F {
        a + b
    }
    fn sub(&mut self, a: F, b: F) -> F {
        a - b
    }
    fn mul(&mut self, a: F, b: F) -> F {
        a * b
    }
    fn scale(&mut self, c: F, a: F) -> F {
        c * a
    }
    fn add_const(&mut self, a: F, c: F) -> F {
        a + c
    }
}

pub(crate) struct Ext;

impl Alg for Ext {
    type V = FE;
    fn add(&mut self, a: FE, b: FE) -> FE {
        a + b
    }
    fn sub(&mut self, a: FE, b: FE) -> FE {
        a - b
    }
    fn mul(&mut self, a: FE, b: FE) -> FE {
        a * b
    }
    fn scale(&mut self, c: F, a: FE) -> FE {
        <FE as FieldExtension<D>>::scalar_mul(&a, c)
    }
    fn add_const(&mut self, a: FE, c: F) -> FE {
        a + <FE as FieldExtension<D>>::from_basefield(c)
    }
}

pub(crate) struct Circ<'a>(pub(crate) &'a mut CircuitBuilder<F, D>);

impl Alg for Circ<'_> {
    type V = ExtensionTarget<D>;
    fn add(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.0.add_extension(a, b)
    }
    fn sub(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.0.sub_extension(a, b)
    }
    fn mul(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.0.mul_extension(a, b)
    }
    fn scale(&mut self, c: F, a: Self::V) -> Self::V {
        self.0.mul_const_extension(c, a)
    }
    fn add_const(&mut self, a: Self::V, c: F) -> Self::V {
        let c = self
            .0
            .constant_extension(<FE as FieldExtension<D>>::from_basefield(c));
        self.0.add_extension(a, c)
    }
}
