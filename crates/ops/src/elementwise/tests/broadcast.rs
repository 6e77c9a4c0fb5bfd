//! The broadcasting engine against a naive reference, on random shapes and
//! with rayon chunks.

use super::*;
use crate::RunContext;
use pocketnn_tensor::{AlignedBuf, strides};
use proptest::prelude::*;

/// numpy broadcasting written out naively: output index -> input offset by
/// division, independent of the engine's axis merging.
fn naive_binary(
    a: &[f32],
    a_shape: &[usize],
    b: &[f32],
    b_shape: &[usize],
) -> (Vec<usize>, Vec<f32>) {
    let rank = a_shape.len().max(b_shape.len());
    let pad = |s: &[usize]| {
        let mut p = vec![1; rank - s.len()];
        p.extend_from_slice(s);
        p
    };
    let (pa, pb) = (pad(a_shape), pad(b_shape));
    let out: Vec<usize> = pa
        .iter()
        .zip(&pb)
        .map(|(&x, &y)| if x == 1 { y } else { x })
        .collect();
    let (sa, sb) = (strides(&pa), strides(&pb));
    let n: usize = out.iter().product();
    let mut values = Vec::with_capacity(n);
    for i in 0..n {
        let (mut rest, mut oa, mut ob) = (i, 0, 0);
        for axis in (0..rank).rev() {
            let index = rest % out[axis];
            rest /= out[axis];
            if pa[axis] != 1 {
                oa += index * sa[axis];
            }
            if pb[axis] != 1 {
                ob += index * sb[axis];
            }
        }
        values.push(a[oa] - 2.0 * b[ob]);
    }
    (out, values)
}

/// Two shapes that broadcast: a common shape, with some axes set to 1 on
/// either side and leading axes dropped from either side.
fn broadcastable() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (
        proptest::collection::vec((0usize..4, 0u8..3, 0u8..3), 0..5),
        0usize..3,
        0usize..3,
    )
        .prop_map(|(axes, drop_a, drop_b)| {
            let a: Vec<usize> = axes
                .iter()
                .map(|&(d, ka, _)| if ka == 0 { 1 } else { d })
                .collect();
            let b: Vec<usize> = axes
                .iter()
                .map(|&(d, _, kb)| if kb == 0 { 1 } else { d })
                .collect();
            let (drop_a, drop_b) = (drop_a.min(a.len()), drop_b.min(b.len()));
            (a[drop_a..].to_vec(), b[drop_b..].to_vec())
        })
}

/// `a - 2b` through the operators (Sub of a and Mul(b, 2)), so that swapping
/// the operands would show.
fn sub_twice(a: &Tensor, b: &Tensor, threads: usize) -> Tensor {
    let twice = run(&*op(OpCode::Mul, &[]), &[b, &Tensor::scalar(2.0f32)]);
    let sub = op(OpCode::Sub, &[]);
    let infos: Vec<_> = [a, &twice]
        .iter()
        .map(|t| Some(crate::InputInfo::from(t.view())))
        .collect();
    let spec = sub.infer(&infos).unwrap();
    let mut out = Tensor::zeros(spec[0].dtype, &spec[0].shape).unwrap();
    let mut scratch = AlignedBuf::new();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut ctx = RunContext {
            isa: Isa::Scalar,
            threads,
            scratch: &mut scratch,
        };
        let mut views = [out.view_mut()];
        sub.run(&mut ctx, &[Some(a.view()), Some(twice.view())], &mut views)
            .unwrap();
    });
    out
}

proptest! {
    #[test]
    fn binary_broadcasting_matches_a_naive_reference((a_shape, b_shape) in broadcastable()) {
        let na: usize = a_shape.iter().product();
        let nb: usize = b_shape.iter().product();
        let a: Vec<f32> = (0..na).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..nb).map(|i| 100.0 + i as f32).collect();
        let (shape, expected) = naive_binary(&a, &a_shape, &b, &b_shape);
        let out = sub_twice(&t(&a_shape, &a), &t(&b_shape, &b), 1);
        prop_assert_eq!(out.shape(), &shape[..]);
        prop_assert_eq!(out.as_slice::<f32>().unwrap(), &expected[..]);
    }
}

#[test]
fn large_broadcasts_split_into_rayon_chunks_give_the_same_values() {
    // Rows of 3 (not a divisor of the chunk size), a middle broadcast axis
    // and a scalar: chunks start in the middle of rows.
    for (a_shape, b_shape) in [
        (vec![7000usize, 3], vec![3usize]),
        (vec![50, 1, 700], vec![50, 3, 1]),
        (vec![40_000], vec![]),
        (vec![], vec![33_000]),
        (vec![129, 257], vec![129, 257]),
    ] {
        let na: usize = a_shape.iter().product();
        let nb: usize = b_shape.iter().product();
        let a: Vec<f32> = (0..na).map(|i| (i % 1000) as f32).collect();
        let b: Vec<f32> = (0..nb).map(|i| (i % 777) as f32 * 0.25).collect();
        let (shape, expected) = naive_binary(&a, &a_shape, &b, &b_shape);
        for threads in [1, 3] {
            let out = sub_twice(&t(&a_shape, &a), &t(&b_shape, &b), threads);
            assert_eq!(out.shape(), &shape[..]);
            assert_eq!(
                out.as_slice::<f32>().unwrap(),
                &expected[..],
                "{a_shape:?} {b_shape:?} threads {threads}"
            );
        }
    }
}

#[test]
fn unary_ops_in_parallel_write_every_element() {
    let n = 100_003;
    let x: Vec<f32> = (0..n).map(|i| i as f32 - 50_000.0).collect();
    let relu = op(OpCode::Relu, &[]);
    let input = t(&[n], &x);
    let mut out = Tensor::zeros(DType::F32, &[n]).unwrap();
    // Poison the output: run must overwrite every element.
    out.as_slice_mut::<f32>().unwrap().fill(f32::NAN);
    let mut scratch = AlignedBuf::new();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(|| {
        let mut ctx = RunContext {
            isa: Isa::Scalar,
            threads: 2,
            scratch: &mut scratch,
        };
        relu.run(&mut ctx, &[Some(input.view())], &mut [out.view_mut()])
            .unwrap();
    });
    for (i, &v) in out.as_slice::<f32>().unwrap().iter().enumerate() {
        assert_eq!(v, (i as f32 - 50_000.0).max(0.0));
    }
}

#[test]
fn a_missing_output_or_wrong_output_shape_is_an_error() {
    let add = op(OpCode::Add, &[]);
    let a = t(&[3], &[1.0f32, 2.0, 3.0]);
    let mut scratch = AlignedBuf::new();
    let mut ctx = RunContext {
        isa: Isa::Scalar,
        threads: 1,
        scratch: &mut scratch,
    };
    assert!(
        add.run(&mut ctx, &[Some(a.view()), Some(a.view())], &mut [])
            .is_err()
    );
    let mut wrong = Tensor::zeros(DType::F32, &[4]).unwrap();
    assert!(
        add.run(
            &mut ctx,
            &[Some(a.view()), Some(a.view())],
            &mut [wrong.view_mut()]
        )
        .is_err()
    );
    let mut wrong_dtype = Tensor::zeros(DType::I32, &[3]).unwrap();
    assert!(
        add.run(
            &mut ctx,
            &[Some(a.view()), Some(a.view())],
            &mut [wrong_dtype.view_mut()]
        )
        .is_err()
    );
}
