//! Property tests against naive implementations written here, element by
//! element from the ONNX spec's wording, sharing no code with the kernels.

use super::*;
use proptest::prelude::*;

/// The multi-index of flat position `flat` in `shape`.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for a in (0..shape.len()).rev() {
        index[a] = flat % shape[a];
        flat /= shape[a];
    }
    index
}

/// The flat position of `index` in `shape`.
fn ravel(index: &[usize], shape: &[usize]) -> usize {
    index.iter().zip(shape).fold(0, |acc, (&i, &d)| acc * d + i)
}

fn iota_i32(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    i32t(shape, &(0..n as i32).map(|v| v * 7 - 3).collect::<Vec<_>>())
}

/// The indices `start:end:step` visits on an axis of length `dim`, by the
/// ONNX spec's rules: negative values count from the end, then starts are
/// clamped to [0, dim] (positive steps) or [0, dim - 1] (negative), ends to
/// [0, dim] or [-1, dim - 1]. (numpy differs: it clamps a negative start to
/// -1 for negative steps, giving an empty slice.)
fn slice_indices(start: i64, end: i64, step: i64, dim: usize) -> Vec<usize> {
    let n = dim as i64;
    let fix = |v: i64| if v < 0 { v + n } else { v };
    let (mut s, mut e) = (fix(start), fix(end));
    let mut out = vec![];
    if step > 0 {
        s = s.max(0).min(n);
        e = e.max(0).min(n);
        while s < e {
            out.push(s as usize);
            s += step;
        }
    } else {
        s = s.max(0).min(n - 1);
        e = e.max(-1).min(n - 1);
        while s > e {
            out.push(s as usize);
            s += step;
        }
    }
    out
}

fn shapes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..5, 1..5)
}

proptest! {
    #[test]
    fn slice_matches_naive(
        shape in shapes(),
        params in prop::collection::vec((-7i64..7, -7i64..7, prop::sample::select(vec![-3i64, -2, -1, 1, 2, 3])), 4),
    ) {
        let rank = shape.len();
        let x = iota_i32(&shape);
        let starts: Vec<i64> = params[..rank].iter().map(|p| p.0).collect();
        let ends: Vec<i64> = params[..rank].iter().map(|p| p.1).collect();
        let steps: Vec<i64> = params[..rank].iter().map(|p| p.2).collect();
        // Axes in reverse order, written as negative numbers.
        let axes: Vec<i64> = (0..rank as i64).map(|a| -1 - a).collect();
        let out = run1(OpCode::Slice, vec![], &[
            Some(&x),
            Some(&i64t(&[rank], &starts)),
            Some(&i64t(&[rank], &ends)),
            Some(&i64t(&[rank], &axes)),
            Some(&i64t(&[rank], &steps)),
        ]);
        let picks: Vec<Vec<usize>> = (0..rank)
            .map(|a| {
                let k = rank - 1 - a; // position of axis a in the lists
                slice_indices(starts[k], ends[k], steps[k], shape[a])
            })
            .collect();
        let out_shape: Vec<usize> = picks.iter().map(Vec::len).collect();
        prop_assert_eq!(out.shape(), out_shape.as_slice());
        let src = x.as_slice::<i32>().unwrap();
        let got = out.as_slice::<i32>().unwrap();
        for (flat, &v) in got.iter().enumerate() {
            let index = unravel(flat, &out_shape);
            let from: Vec<usize> = index.iter().enumerate().map(|(a, &i)| picks[a][i]).collect();
            prop_assert_eq!(v, src[ravel(&from, &shape)]);
        }
    }

    #[test]
    fn transpose_matches_naive(shape in shapes(), seed in any::<u64>()) {
        let rank = shape.len();
        // a permutation from the seed (Fisher-Yates with a tiny LCG)
        let mut perm: Vec<usize> = (0..rank).collect();
        let mut state = seed;
        for i in (1..rank).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            perm.swap(i, (state >> 33) as usize % (i + 1));
        }
        let x = iota_i32(&shape);
        let perm_attr: Vec<i64> = perm.iter().map(|&p| p as i64).collect();
        let out = run1(OpCode::Transpose, vec![ints("perm", &perm_attr)], &[Some(&x)]);
        let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        prop_assert_eq!(out.shape(), out_shape.as_slice());
        let src = x.as_slice::<i32>().unwrap();
        for (flat, &v) in out.as_slice::<i32>().unwrap().iter().enumerate() {
            let index = unravel(flat, &out_shape);
            let mut from = vec![0; rank];
            for (i, &p) in perm.iter().enumerate() {
                from[p] = index[i];
            }
            prop_assert_eq!(v, src[ravel(&from, &shape)]);
        }
    }

    #[test]
    fn pad_matches_naive(
        shape in prop::collection::vec(1usize..5, 1..4),
        pads in prop::collection::vec(-2i64..6, 6),
        mode in prop::sample::select(vec!["constant", "reflect", "edge", "wrap"]),
    ) {
        let rank = shape.len();
        let pads = &pads[..2 * rank];
        let x = iota_i32(&shape);
        let pad_tensor = i64t(&[2 * rank], pads);
        let fill = i32t(&[], &[-1]);
        let op = op(OpCode::Pad, vec![string("mode", mode)]);
        let result = run(&*op, &[Some(&x), Some(&pad_tensor), Some(&fill)]);
        // Crop first (negative pads), then pad what is left.
        let kept: Vec<i64> = (0..rank)
            .map(|a| shape[a] as i64 + pads[a].min(0) + pads[rank + a].min(0))
            .collect();
        let out_dims: Vec<i64> = (0..rank)
            .map(|a| shape[a] as i64 + pads[a] + pads[rank + a])
            .collect();
        let impossible = out_dims.iter().any(|&d| d < 0)
            || (mode != "constant"
                && (0..rank).any(|a| kept[a] <= 0 && out_dims[a] > 0));
        if impossible {
            prop_assert!(result.is_err());
            return Ok(());
        }
        let out = &result.unwrap()[0];
        let out_shape: Vec<usize> = out_dims.iter().map(|&d| d as usize).collect();
        prop_assert_eq!(out.shape(), out_shape.as_slice());
        let src = x.as_slice::<i32>().unwrap();
        for (flat, &v) in out.as_slice::<i32>().unwrap().iter().enumerate() {
            let index = unravel(flat, &out_shape);
            let mut from = vec![0usize; rank];
            let mut outside = false;
            for a in 0..rank {
                let low = (-pads[a]).max(0); // first kept input index
                let n = kept[a];
                let mut i = index[a] as i64 - pads[a].max(0); // within the kept part
                if mode == "constant" {
                    let j = index[a] as i64 - pads[a];
                    if j < 0 || j >= shape[a] as i64 { outside = true; } else { from[a] = j as usize; }
                    continue;
                }
                match mode {
                    "edge" => i = i.max(0).min(n - 1),
                    "wrap" => {
                        while i < 0 { i += n; }
                        while i >= n { i -= n; }
                    }
                    _ => {
                        // bounce off the ends until inside
                        while n > 1 && (i < 0 || i >= n) {
                            if i < 0 { i = -i; }
                            if i >= n { i = 2 * (n - 1) - i; }
                        }
                        if n == 1 { i = 0; }
                    }
                }
                from[a] = (low + i) as usize;
            }
            let expected = if outside { -1 } else { src[ravel(&from, &shape)] };
            prop_assert_eq!(v, expected, "at {:?}", index);
        }
    }

    #[test]
    fn tile_and_expand_match_naive(shape in shapes(), reps in prop::collection::vec(0usize..3, 4)) {
        let rank = shape.len();
        let reps = &reps[..rank];
        let x = iota_i32(&shape);
        let r: Vec<i64> = reps.iter().map(|&r| r as i64).collect();
        let out = run1(OpCode::Tile, vec![], &[Some(&x), Some(&i64t(&[rank], &r))]);
        let out_shape: Vec<usize> = shape.iter().zip(reps).map(|(d, r)| d * r).collect();
        prop_assert_eq!(out.shape(), out_shape.as_slice());
        let src = x.as_slice::<i32>().unwrap();
        for (flat, &v) in out.as_slice::<i32>().unwrap().iter().enumerate() {
            let index = unravel(flat, &out_shape);
            let from: Vec<usize> = index.iter().zip(&shape).map(|(i, d)| i % d).collect();
            prop_assert_eq!(v, src[ravel(&from, &shape)]);
        }
        // Expand a version of x with the repeated axes collapsed to 1.
        let small: Vec<usize> = shape.iter().zip(reps).map(|(&d, &r)| if r == 2 { 1 } else { d }).collect();
        let y = iota_i32(&small);
        let target: Vec<i64> = std::iter::once(2).chain(shape.iter().map(|&d| d as i64)).collect();
        let out = run1(OpCode::Expand, vec![], &[Some(&y), Some(&i64t(&[rank + 1], &target))]);
        let full: Vec<usize> = target.iter().map(|&d| d as usize).collect();
        prop_assert_eq!(out.shape(), full.as_slice());
        let src = y.as_slice::<i32>().unwrap();
        for (flat, &v) in out.as_slice::<i32>().unwrap().iter().enumerate() {
            let index = unravel(flat, &full);
            let from: Vec<usize> = index[1..].iter().zip(&small).map(|(&i, &d)| if d == 1 { 0 } else { i }).collect();
            prop_assert_eq!(v, src[ravel(&from, &small)]);
        }
    }
}

/// Large enough to take the blocked (tiled) path of the strided copy.
#[test]
fn large_transposes_match_naive() {
    let cases: [(&[usize], &[usize]); 4] = [
        (&[37, 53], &[1, 0]),
        (&[3, 40, 20], &[0, 2, 1]),
        (&[2, 24, 17, 19], &[0, 2, 3, 1]),
        (&[16, 2, 33], &[2, 1, 0]),
    ];
    for (shape, perm) in cases {
        let x = iota_i32(shape);
        let perm_attr: Vec<i64> = perm.iter().map(|&p| p as i64).collect();
        let out = run1(
            OpCode::Transpose,
            vec![ints("perm", &perm_attr)],
            &[Some(&x)],
        );
        let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        assert_eq!(out.shape(), out_shape.as_slice());
        let src = x.as_slice::<i32>().unwrap();
        for (flat, &v) in out.as_slice::<i32>().unwrap().iter().enumerate() {
            let index = unravel(flat, &out_shape);
            let mut from = vec![0; shape.len()];
            for (i, &p) in perm.iter().enumerate() {
                from[p] = index[i];
            }
            assert_eq!(
                v,
                src[ravel(&from, shape)],
                "{shape:?} {perm:?} at {index:?}"
            );
        }
    }
}
