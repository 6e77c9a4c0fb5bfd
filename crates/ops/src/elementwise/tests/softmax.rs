//! `Softmax` and `LogSoftmax`, opset 13 and `coerce_2d` semantics.

use super::*;
use pocketnn_tensor::f16;

// x = sin(arange(24) * 1.3) * 3 as f32, shape [2, 3, 4]; expected values
// from numpy in float64 (max-subtracted exp / sum, rounded to f32).
const X: [f32; 24] = [
    0.0,
    2.890674591064453,
    1.5465041399002075,
    -2.063298463821411,
    -2.6503639221191406,
    0.645359992980957,
    2.9956300258636475,
    0.9572950601577759,
    -2.4834794998168945,
    -2.2859506607055664,
    1.2605011463165283,
    2.9603159427642822,
    0.32326096296310425,
    -2.78737211227417,
    -1.8144984245300293,
    1.816619634628296,
    2.7863857746124268,
    -0.3259097933769226,
    -2.9607467651367188,
    -1.2580827474594116,
    2.287675380706787,
    2.4819836616516113,
    -0.9598199129104614,
    -2.9954850673675537,
];
/// Opset 13, axis 1.
const SM_AXIS1: [f32; 24] = [
    0.8664926886558533,
    0.8996517062187195,
    0.16637136042118073,
    0.005764917936176062,
    0.06119648367166519,
    0.09526792168617249,
    0.708640456199646,
    0.11820074170827866,
    0.07231085002422333,
    0.0050803618505597115,
    0.12498820573091507,
    0.8760343194007874,
    0.05032160505652428,
    0.004830621648579836,
    0.27259501814842224,
    0.9484659433364868,
    0.5908483266830444,
    0.05662425607442856,
    0.08663803339004517,
    0.04382232949137688,
    0.358830064535141,
    0.9385451078414917,
    0.6407669186592102,
    0.00771171972155571,
];
/// Opset 13, axis -1.
const SM_LAST: [f32; 24] = [
    0.04196828976273537,
    0.755657970905304,
    0.1970423012971878,
    0.005331410560756922,
    0.002873303834348917,
    0.07757043838500977,
    0.8135899305343628,
    0.10596633702516556,
    0.003625779412686825,
    0.004417607095092535,
    0.15324683487415314,
    0.8387097716331482,
    0.1781097799539566,
    0.007938838563859463,
    0.02100248448550701,
    0.7929489016532898,
    0.9387823343276978,
    0.041774582117795944,
    0.0029965185094624758,
    0.016446540132164955,
    0.4427877366542816,
    0.5377526879310608,
    0.017211800441145897,
    0.002247750759124756,
];
/// coerce_2d, axis 1: softmax over each [12] row of x.reshape(2, 12).
const SM_COERCE1: [f32; 24] = [
    0.014000935479998589,
    0.2520931661128998,
    0.06573478877544403,
    0.0017785985255613923,
    0.0009888231288641691,
    0.026695210486650467,
    0.2799900770187378,
    0.03646741807460785,
    0.0011684109922498465,
    0.0014235781272873282,
    0.049383942037820816,
    0.2702750265598297,
    0.02921772561967373,
    0.0013023137580603361,
    0.003445317968726158,
    0.13007798790931702,
    0.3430582880973816,
    0.01526564359664917,
    0.0010950147407129407,
    0.006010042503476143,
    0.20834387838840485,
    0.2530275285243988,
    0.008098628371953964,
    0.0010576288914307952,
];
/// coerce_2d, axis 0: softmax over all 24 elements.
const SM_COERCE0: [f32; 24] = [
    0.008423815481364727,
    0.15167461335659027,
    0.0395500548183918,
    0.0010701132705435157,
    0.0005949362530373037,
    0.016061464324593544,
    0.16845908761024475,
    0.02194102108478546,
    0.0007029871921986341,
    0.0008565112948417664,
    0.029712388291954994,
    0.16261392831802368,
    0.011638562195003033,
    0.0005187624483369291,
    0.0013724047457799315,
    0.05181514844298363,
    0.13665352761745453,
    0.006080902647227049,
    0.00043618716881610453,
    0.0023940347600728273,
    0.08299151062965393,
    0.10079074651002884,
    0.003226000117138028,
    0.00042129491339437664,
];
/// LogSoftmax, opset 13, axis 0.
const LSM_AXIS0: [f32; 24] = [
    -0.8677833676338196,
    -0.003414396895095706,
    -0.03411196544766426,
    -3.900360345840454,
    -5.441093921661377,
    -0.3210699260234833,
    -0.0025859300512820482,
    -0.1035599485039711,
    -4.779589653015137,
    -4.77639627456665,
    -0.10307472199201584,
    -0.002587417606264353,
    -0.5445224046707153,
    -5.681461334228516,
    -3.3951144218444824,
    -0.020442144945263863,
    -0.004344161134213209,
    -1.2923396825790405,
    -5.958962917327881,
    -2.3189377784729004,
    -0.008434917777776718,
    -0.008462011814117432,
    -2.3233957290649414,
    -5.958388328552246,
];
/// LogSoftmax, coerce_2d, axis 1.
const LSM_COERCE1: [f32; 24] = [
    -4.2686309814453125,
    -1.377956509590149,
    -2.7221269607543945,
    -6.331929683685303,
    -6.918994903564453,
    -3.6232712268829346,
    -1.2730010747909546,
    -3.311336040496826,
    -6.752110481262207,
    -6.554581642150879,
    -3.0081300735473633,
    -1.3083151578903198,
    -3.532979726791382,
    -6.643612861633301,
    -5.67073917388916,
    -2.039621114730835,
    -1.0698548555374146,
    -4.182150363922119,
    -6.81698751449585,
    -5.114323616027832,
    -1.5685652494430542,
    -1.37425696849823,
    -4.816060543060303,
    -6.8517255783081055,
];

fn softmax(code: OpCode, attrs: &[Attribute]) -> Vec<f32> {
    let out = run(&*op(code, attrs), &[&t(&[2, 3, 4], &X)]);
    values::<f32>(&out, &[2, 3, 4])
}

#[test]
fn opset13_softmax_normalises_along_one_axis() {
    assert_close(&softmax(OpCode::Softmax, &[int("axis", 1)]), &SM_AXIS1, 4);
    assert_close(&softmax(OpCode::Softmax, &[int("axis", -2)]), &SM_AXIS1, 4);
    assert_close(&softmax(OpCode::Softmax, &[]), &SM_LAST, 4);
    assert_close(
        &softmax(OpCode::LogSoftmax, &[int("axis", 0)]),
        &LSM_AXIS0,
        4,
    );
}

#[test]
fn coerce_2d_normalises_the_flattened_trailing_axes() {
    let coerce = |axis| [int("coerce_2d", 1), int("axis", axis)];
    assert_close(&softmax(OpCode::Softmax, &coerce(1)), &SM_COERCE1, 4);
    assert_close(&softmax(OpCode::Softmax, &coerce(0)), &SM_COERCE0, 4);
    assert_close(&softmax(OpCode::LogSoftmax, &coerce(1)), &LSM_COERCE1, 4);
    // Without an explicit axis, coerce_2d defaults to axis 1 (opset < 13).
    assert_close(
        &softmax(OpCode::Softmax, &[int("coerce_2d", 1)]),
        &SM_COERCE1,
        4,
    );
    // On the last axis both semantics agree.
    assert_close(&softmax(OpCode::Softmax, &coerce(2)), &SM_LAST, 4);
    assert_close(&softmax(OpCode::Softmax, &coerce(-1)), &SM_LAST, 4);
    // The two semantics differ elsewhere (guards against ignoring the flag).
    assert_ne!(
        softmax(OpCode::Softmax, &coerce(1)),
        softmax(OpCode::Softmax, &[int("axis", 1)])
    );
}

#[test]
fn softmax_is_stable_for_large_and_infinite_inputs() {
    let x = t(&[4], &[1000.0f32, 1001.0, 999.0, -INF]);
    let out = run(&*op(OpCode::Softmax, &[]), &[&x]);
    assert_close(
        &values::<f32>(&out, &[4]),
        &[
            0.2447284758090973,
            0.6652409434318542,
            0.09003057330846786,
            0.0,
        ],
        4,
    );
    let out = run(&*op(OpCode::LogSoftmax, &[]), &[&x]);
    assert_close(
        &values::<f32>(&out, &[4]),
        &[
            -1.4076060056686401,
            -0.40760597586631775,
            -2.4076058864593506,
            -INF,
        ],
        4,
    );
    // Inner axis > 1 goes through the column path: same numbers.
    let columns = t(
        &[4, 2],
        &[1000.0f32, 0.0, 1001.0, 1.0, 999.0, 2.0, -INF, 3.0],
    );
    let out = run(&*op(OpCode::Softmax, &[int("axis", 0)]), &[&columns]);
    let expected = [
        0.2447284758090973,
        0.032058604061603546,
        0.6652409434318542,
        0.08714431524276733,
        0.09003057330846786,
        0.23688282072544098,
        0.0,
        0.6439142823219299,
    ];
    assert_close(&values::<f32>(&out, &[4, 2]), &expected, 4);
    let out = run(&*op(OpCode::Softmax, &[]), &[&t(&[2], &[1.0f32, NAN])]);
    assert!(values::<f32>(&out, &[2]).iter().all(|v| v.is_nan()));
}

#[test]
fn f16_softmax_and_edge_shapes() {
    let x: Vec<f16> = X.iter().map(|&v| f16::from_f32(v)).collect();
    let out = run(
        &*op(OpCode::Softmax, &[int("axis", 1)]),
        &[&t(&[2, 3, 4], &x)],
    );
    let got: Vec<f32> = values::<f16>(&out, &[2, 3, 4])
        .iter()
        .map(|v| v.to_f32())
        .collect();
    assert_near(&got, &SM_AXIS1, 4e-3);
    // A length-1 axis gives 1 (log: 0); empty tensors give empty outputs.
    let out = run(
        &*op(OpCode::Softmax, &[]),
        &[&t(&[3, 1], &[5.0f32, -2.0, 0.0])],
    );
    assert_eq!(values::<f32>(&out, &[3, 1]), [1.0, 1.0, 1.0]);
    let out = run(
        &*op(OpCode::LogSoftmax, &[int("axis", 0)]),
        &[&t(&[1, 2], &[5.0f32, -2.0])],
    );
    assert_eq!(values::<f32>(&out, &[1, 2]), [0.0, 0.0]);
    let out = run(
        &*op(OpCode::Softmax, &[int("axis", 1)]),
        &[&t::<f32>(&[2, 0, 3], &[])],
    );
    assert_eq!(out.shape(), &[2, 0, 3]);
}

#[test]
fn softmax_errors() {
    let x = t(&[2, 3], &[0.0f32; 6]);
    assert!(matches!(
        try_run(&*op(OpCode::Softmax, &[int("axis", 2)]), &[&x]),
        Err(OpError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        try_run(
            &*op(OpCode::Softmax, &[int("axis", -3), int("coerce_2d", 1)]),
            &[&x]
        ),
        Err(OpError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        try_run(&*op(OpCode::Softmax, &[]), &[&Tensor::scalar(1.0f32)]),
        Err(OpError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        try_run(&*op(OpCode::LogSoftmax, &[]), &[&t(&[2], &[1i32, 2])]),
        Err(OpError::UnsupportedDType { .. })
    ));
    assert_bad_attribute(OpCode::Softmax, &[int("coerce_2d", 2)], "coerce_2d");
}

#[test]
fn last_axis_softmax_runs_on_every_tier() {
    // The numpy tables and the stable/infinite row, with every tier's SIMD
    // kernel; and a long row (1000 = 62·16 + 8) against the column path
    // (inner axis > 1, scalar) of the same data transposed.
    let long: Vec<f32> = (0..1000)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
        .collect();
    let column_op = op(OpCode::Softmax, &[int("axis", 0)]);
    let as_column = run(&*column_op, &[&t(&[1000, 1], &long)]);
    for isa in Isa::available() {
        let eval_on = |code: OpCode, attrs: &[Attribute], x: &Tensor| {
            let mut out = eval(&*op(code, attrs), &[Some(x.view())], isa).unwrap();
            out.remove(0).as_slice::<f32>().unwrap().to_vec()
        };
        let x = t(&[2, 3, 4], &X);
        assert_close(&eval_on(OpCode::Softmax, &[], &x), &SM_LAST, 4);
        let coerce = [int("coerce_2d", 1), int("axis", 1)];
        assert_close(&eval_on(OpCode::Softmax, &coerce, &x), &SM_COERCE1, 4);
        assert_close(&eval_on(OpCode::LogSoftmax, &coerce, &x), &LSM_COERCE1, 4);
        let stable = t(&[4], &[1000.0f32, 1001.0, 999.0, -INF]);
        let got = eval_on(OpCode::LogSoftmax, &[], &stable);
        let expected = [
            -1.4076060056686401,
            -0.40760597586631775,
            -2.4076058864593506,
            -INF,
        ];
        assert_close(&got, &expected, 4);
        let got = eval_on(OpCode::Softmax, &[], &t(&[1000], &long));
        assert_close(&got, as_column.as_slice::<f32>().unwrap(), 4);
    }
}
