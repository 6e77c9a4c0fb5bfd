//! `f32_conv`: the `Conv` operator (with its fused epilogue) at layer shapes
//! taken from real models, on the session's best tier, 1 and 2 threads
//! (bench ids `<layer>/t<threads>`). k×k layers go through im2col and the
//! packed GEMM; 1×1 stride-1 layers are one GEMM straight on the input.
//!
//! Throughput is in elements/s where one element is one floating point
//! operation (a multiply-add counts 2), so "Gelem/s" reads GFLOP/s.
//!
//! ```text
//! cargo bench -p pocketnn-benches --bench f32_conv -- --warm-up-time 1 --measurement-time 3
//! cargo bench -p pocketnn-benches --bench f32_conv -- 'resnet50'
//! ```

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pocketnn_format::{AttrValue, Attribute, OpCode};
use pocketnn_ops::{InputInfo, Operator, RunContext, build_operator};
use pocketnn_tensor::{AlignedBuf, Isa, Tensor, TensorView, TensorViewMut};
use std::hint::black_box;

/// One benchmarked layer: `Conv(X [1, c_in, h, w], W [c_out, c_in/group, k, k])`.
struct Layer {
    /// Model and layer.
    what: &'static str,
    c_in: usize,
    c_out: usize,
    hw: usize,
    k: usize,
    stride: usize,
    group: usize,
    /// Fused epilogue: activation name (and a residual input when true).
    activation: &'static str,
    residual: bool,
}

const LAYERS: [Layer; 8] = [
    Layer {
        what: "resnet50-conv1-7x7s2",
        c_in: 3,
        c_out: 64,
        hw: 224,
        k: 7,
        stride: 2,
        group: 1,
        activation: "relu",
        residual: false,
    },
    Layer {
        what: "resnet50-res2-3x3",
        c_in: 64,
        c_out: 64,
        hw: 56,
        k: 3,
        stride: 1,
        group: 1,
        activation: "relu",
        residual: false,
    },
    Layer {
        what: "resnet50-res2-1x1-expand-residual",
        c_in: 64,
        c_out: 256,
        hw: 56,
        k: 1,
        stride: 1,
        group: 1,
        activation: "relu",
        residual: true,
    },
    Layer {
        what: "resnet50-res4-3x3",
        c_in: 256,
        c_out: 256,
        hw: 14,
        k: 3,
        stride: 1,
        group: 1,
        activation: "relu",
        residual: false,
    },
    Layer {
        what: "effnet-lite0-stem-3x3s2",
        c_in: 3,
        c_out: 32,
        hw: 224,
        k: 3,
        stride: 2,
        group: 1,
        activation: "clip",
        residual: false,
    },
    Layer {
        what: "effnet-lite0-1x1-project-56px",
        c_in: 96,
        c_out: 24,
        hw: 56,
        k: 1,
        stride: 1,
        group: 1,
        activation: "none",
        residual: false,
    },
    Layer {
        what: "squeezenet-fire2-expand3x3",
        c_in: 16,
        c_out: 64,
        hw: 55,
        k: 3,
        stride: 1,
        group: 1,
        activation: "relu",
        residual: false,
    },
    Layer {
        what: "seed_cnn-conv2-3x3",
        c_in: 64,
        c_out: 128,
        hw: 14,
        k: 3,
        stride: 1,
        group: 1,
        activation: "relu",
        residual: false,
    },
];

fn filled(shape: &[usize], seed: u32) -> Tensor {
    let len: usize = shape.iter().product();
    let values: Vec<f32> = (0..len)
        .map(|i| {
            ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32 / 16_777_216.0
                - 0.5
        })
        .collect();
    Tensor::from_slice(shape, &values).expect("shape matches")
}

fn attribute(name: &str, value: AttrValue) -> Attribute {
    Attribute {
        name: name.into(),
        value,
    }
}

/// The Conv operator of `layer`.
fn operator(layer: &Layer) -> Box<dyn Operator> {
    let (k, s, pad) = (layer.k as i64, layer.stride as i64, (layer.k / 2) as i64);
    let mut attrs = vec![
        attribute("kernel_shape", AttrValue::Ints(vec![k, k])),
        attribute("strides", AttrValue::Ints(vec![s, s])),
        attribute("pads", AttrValue::Ints(vec![pad; 4])),
        attribute("group", AttrValue::Int(layer.group as i64)),
        attribute("activation", AttrValue::String(layer.activation.into())),
    ];
    if layer.activation == "clip" {
        attrs.push(attribute("activation_alpha", AttrValue::Float(0.0)));
        attrs.push(attribute("activation_beta", AttrValue::Float(6.0)));
    }
    build_operator(OpCode::Conv, &attrs).expect("valid Conv")
}

fn bench_conv(c: &mut Criterion) {
    let isa = Isa::selected().expect("a usable tier");
    for layer in &LAYERS {
        let op = operator(layer);
        let x = filled(&[1, layer.c_in, layer.hw, layer.hw], 1);
        let w = filled(
            &[layer.c_out, layer.c_in / layer.group, layer.k, layer.k],
            2,
        );
        let b = filled(&[layer.c_out], 3);
        let out_hw = (layer.hw + 2 * (layer.k / 2) - layer.k) / layer.stride + 1;
        let z = filled(&[1, layer.c_out, out_hw, out_hw], 4);
        let mut inputs: Vec<Option<TensorView<'_>>> =
            vec![Some(x.view()), Some(w.view()), Some(b.view())];
        if layer.residual {
            inputs.push(Some(z.view()));
        }
        let infos: Vec<Option<InputInfo<'_>>> = inputs
            .iter()
            .map(|v| {
                v.map(|v| InputInfo {
                    dtype: v.dtype(),
                    shape: v.shape(),
                    value: None,
                })
            })
            .collect();
        let spec = op.infer(&infos).expect("shapes fit").remove(0);
        let mut y = Tensor::zeros(spec.dtype, &spec.shape).expect("output");
        let macs = layer.c_out * out_hw * out_hw * (layer.c_in / layer.group) * layer.k * layer.k;
        let mut group = c.benchmark_group(format!("conv-{}", layer.what));
        group.throughput(Throughput::Elements(2 * macs as u64));
        for threads in [1usize, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            let mut scratch = AlignedBuf::new();
            group.bench_function(
                BenchmarkId::new(isa.name(), format!("t{threads}")),
                |bench| {
                    pool.install(|| {
                        bench.iter(|| {
                            let mut ctx = RunContext {
                                isa,
                                threads,
                                scratch: &mut scratch,
                            };
                            let mut outputs: Vec<TensorViewMut<'_>> = vec![y.view_mut()];
                            op.run(&mut ctx, black_box(&inputs), &mut outputs)
                                .expect("conv runs");
                        })
                    })
                },
            );
        }
        group.finish();
    }
}

criterion_group!(benches, bench_conv);
criterion_main!(benches);
