//! `LowRankLinear` (pocketnn op 211, `docs/ops/sparse.md`): a fully
//! connected layer whose `M × K` weight is stored as the factors of a
//! truncated SVD, `Y = act((X · Vᵀ) · Uᵀ + bias)`, run by the fused kernel
//! of `kernels/lowrank`.
//!
//! Inputs: `X` (f32 `[..., K]`), `V` (f32 `[r, K]`), `U` (f32 `[M, r]`),
//! `bias` (f32 `[M]`)?; output `Y` (f32 `[..., M]`). The fused activation
//! attributes of `docs/ops/fusion.md` apply. Constant factors are packed
//! for the session's GEMM kernel once per model (products of more than one
//! row use them; a single row streams the factors in place).

use super::common::{
    check_output_count, checked_product, f32_info, f32_input, infos_of, optional_f32_info,
    optional_f32_input, output_slice, shape_error,
};
use crate::attrs::Attrs;
use crate::error::OpResult;
use crate::fused::activation_from_attributes;
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::activation::Activation;
use pocketnn_tensor::kernels::gemm::Epilogue;
use pocketnn_tensor::kernels::lowrank::{LowRankFactors, PackedLowRank, low_rank_linear_f32};
use pocketnn_tensor::{Isa, TensorView, TensorViewMut};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

/// Identifies the packing of one pair of constant factors for one tier:
/// model constants never move while the model lives, so their addresses
/// and lengths name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct PackKey {
    isa: Isa,
    v: (usize, usize),
    u: (usize, usize),
}

impl PackKey {
    fn of(isa: Isa, v: &TensorView<'_>, u: &TensorView<'_>) -> Option<PackKey> {
        let span = |t: &TensorView<'_>| (t.bytes().as_ptr() as usize, t.bytes().len());
        (v.is_constant() && u.is_constant()).then(|| PackKey {
            isa,
            v: span(v),
            u: span(u),
        })
    }
}

/// The `LowRankLinear` operator.
#[derive(Debug)]
pub(crate) struct LowRankLinear {
    activation: Activation,
    packed: RwLock<HashMap<PackKey, Arc<PackedLowRank>>>,
}

/// Sizes of one call: `rows` rows of `k` inputs, rank `r`, `m` outputs.
#[derive(Clone, Copy, Debug)]
struct Plan {
    rows: usize,
    k: usize,
    r: usize,
    m: usize,
}

impl LowRankLinear {
    /// Builds the operator from its attributes.
    pub(crate) fn from_attrs(attrs: &Attrs<'_>) -> OpResult<LowRankLinear> {
        Ok(LowRankLinear {
            activation: activation_from_attributes(attrs)?,
            packed: RwLock::default(),
        })
    }

    fn plan(inputs: &[Option<InputInfo<'_>>]) -> OpResult<(Plan, Vec<usize>)> {
        check_input_count(inputs, 3, 4, "3 or 4")?;
        let x = f32_info(inputs, 0)?.shape;
        let v = f32_info(inputs, 1)?.shape;
        let u = f32_info(inputs, 2)?.shape;
        let bias = optional_f32_info(inputs, 3)?;
        let Some((&k, leading)) = x.split_last() else {
            return Err(shape_error("LowRankLinear needs X of rank 1 or more"));
        };
        let (&[r, kv], &[m, ru]) = (v, u) else {
            return Err(shape_error(format!(
                "LowRankLinear needs 2-D V and U, got {v:?} and {u:?}"
            )));
        };
        if r == 0 || kv != k || ru != r {
            return Err(shape_error(format!(
                "LowRankLinear: X {x:?}, V {v:?} and U {u:?} do not fit [..., K], [r, K], [M, r] with r >= 1"
            )));
        }
        if let Some(bias) = bias
            && bias.shape != [m]
        {
            return Err(shape_error(format!(
                "LowRankLinear bias is {:?}, expected [{m}]",
                bias.shape
            )));
        }
        let rows = checked_product(leading)?;
        let mut shape = leading.to_vec();
        shape.push(m);
        Ok((Plan { rows, k, r, m }, shape))
    }

    /// The packed factors, made once per model for constant factors.
    fn packed(
        &self,
        isa: Isa,
        factors: &LowRankFactors<'_>,
        views: (&TensorView<'_>, &TensorView<'_>),
    ) -> OpResult<Arc<PackedLowRank>> {
        let Some(key) = PackKey::of(isa, views.0, views.1) else {
            return Ok(Arc::new(PackedLowRank::pack(isa, factors)?));
        };
        let cached = self
            .packed
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        if let Some(packed) = cached {
            return Ok(packed);
        }
        let packed = Arc::new(PackedLowRank::pack(isa, factors)?);
        self.packed
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, Arc::clone(&packed));
        Ok(packed)
    }
}

impl Operator for LowRankLinear {
    fn op(&self) -> OpCode {
        OpCode::LowRankLinear
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        let (_, shape) = Self::plan(inputs)?;
        Ok(vec![OutputSpec::new(
            DType::F32,
            checked_shape(shape, DType::F32.size())?,
        )])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let infos = infos_of::<4>(inputs, "3 or 4")?;
        let (plan, _) = Self::plan(&infos[..inputs.len()])?;
        check_output_count(outputs.len(), 1, "LowRankLinear")?;
        let Plan { rows, k, r, m } = plan;
        let y = output_slice::<f32>(&mut outputs[0], 0, super::common::checked_mul(rows, m)?)?;
        if y.is_empty() {
            return Ok(());
        }
        let x = f32_input(inputs, 0)?;
        let (v_view, u_view) = (required(inputs, 1)?, required(inputs, 2)?);
        let factors = LowRankFactors::new(f32_input(inputs, 1)?, f32_input(inputs, 2)?, r, k, m)?;
        let bias = match optional_f32_input(inputs, 3)? {
            Some(bias) => Some(Epilogue::column_bias(bias, rows, m)?),
            None => None,
        };
        let epilogue = Epilogue {
            bias,
            activation: self.activation,
            ..Epilogue::default()
        };
        let packed;
        let factors = if rows > 1 {
            packed = self.packed(ctx.isa, &factors, (&v_view, &u_view))?;
            factors.with_packed(&packed)?
        } else {
            factors
        };
        low_rank_linear_f32(ctx.isa, &factors, x, rows, y, &epilogue, ctx.threads)?;
        Ok(())
    }
}
