//! Property test: any valid model written and read back is unchanged, and
//! every tensor's bytes are equal to the input and 64-byte aligned in the
//! buffer.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::*;

fn not_nan_f32() -> impl Strategy<Value = f32> {
    any::<u32>()
        .prop_map(f32::from_bits)
        .prop_filter("NaN != NaN", |f| !f.is_nan())
}

fn attr_value() -> impl Strategy<Value = AttrValue> {
    prop_oneof![
        any::<i64>().prop_map(AttrValue::Int),
        not_nan_f32().prop_map(AttrValue::Float),
        any::<String>().prop_map(AttrValue::String),
        prop::collection::vec(any::<i64>(), 0..5).prop_map(AttrValue::Ints),
        prop::collection::vec(not_nan_f32(), 0..5).prop_map(AttrValue::Floats),
        prop::collection::vec(any::<String>(), 0..3).prop_map(AttrValue::Strings),
    ]
}

fn dim() -> impl Strategy<Value = Dim> {
    prop_oneof![
        any::<u64>().prop_map(Dim::Fixed),
        "[A-Za-z_]{0,4}".prop_map(Dim::Symbolic)
    ]
}

/// A node before its ids are resolved: input picks index the values visible
/// at that point (`None` = omitted optional input).
#[derive(Clone, Debug)]
struct NodePlan {
    op: usize,
    name: String,
    inputs: Vec<Option<u32>>,
    outputs: usize,
    attributes: BTreeMap<String, AttrValue>,
    sub_bodies: Vec<BodyPlan>,
}

#[derive(Clone, Debug)]
struct BodyPlan {
    nodes: Vec<NodePlan>,
    outputs: Vec<u32>,
}

fn node_plan(sub_bodies: impl Strategy<Value = Vec<BodyPlan>>) -> impl Strategy<Value = NodePlan> {
    (
        any::<usize>(),
        any::<String>(),
        prop::collection::vec(prop::option::weighted(0.9, any::<u32>()), 0..4),
        0usize..3,
        prop::collection::btree_map("[a-z]{1,6}", attr_value(), 0..4),
        sub_bodies,
    )
        .prop_map(
            |(op, name, inputs, outputs, attributes, sub_bodies)| NodePlan {
                op,
                name,
                inputs,
                outputs,
                attributes,
                sub_bodies,
            },
        )
}

fn body_plan(
    nodes: impl Strategy<Value = NodePlan>,
    max_nodes: usize,
) -> impl Strategy<Value = BodyPlan> {
    (
        prop::collection::vec(nodes, 0..max_nodes),
        prop::collection::vec(any::<u32>(), 0..3),
    )
        .prop_map(|(nodes, outputs)| BodyPlan { nodes, outputs })
}

/// Main body nodes may own up to two sub-bodies whose nodes own none.
fn main_plan() -> impl Strategy<Value = BodyPlan> {
    let leaf = node_plan(Just(vec![]));
    let inner = body_plan(leaf, 4);
    body_plan(node_plan(prop::collection::vec(inner, 0..3)), 8)
}

fn tensor() -> impl Strategy<Value = (TensorSpec, Vec<u8>)> {
    let quant_pool = (
        any::<u8>(),
        prop::collection::vec(not_nan_f32(), 4),
        prop::collection::vec(any::<i32>(), 4),
    );
    (
        any::<String>(),
        prop::sample::select(DType::ALL.to_vec()),
        prop::collection::vec(0u64..5, 0..4),
        quant_pool,
    )
        .prop_flat_map(|(name, dtype, shape, (kind, scales, zero_points))| {
            let quant = match (kind % 3, shape.len()) {
                (0, _) => None,
                (1, _) | (_, 0) => Some((None, 1)),
                (_, rank) => {
                    let axis = kind as usize % rank;
                    let count = if kind % 2 == 0 {
                        shape[axis] as usize
                    } else {
                        1
                    };
                    Some((Some(axis as u32), count))
                }
            };
            let quant = quant
                .filter(|&(_, count)| count > 0)
                .map(|(axis, count)| QuantParams {
                    axis,
                    scales: scales[..count].to_vec(),
                    zero_points: zero_points[..count].to_vec(),
                });
            let len = dtype.size() * shape.iter().product::<u64>() as usize;
            let spec = TensorSpec {
                name,
                dtype,
                shape,
                layout: Layout::RowMajor,
                quant,
            };
            (Just(spec), prop::collection::vec(any::<u8>(), len))
        })
}

#[derive(Clone, Debug)]
struct ModelPlan {
    metadata: Metadata,
    input_dtypes: Vec<DType>,
    shapes: Vec<Option<Vec<Dim>>>,
    suffix: String,
    main: BodyPlan,
    tensors: Vec<(TensorSpec, Vec<u8>)>,
}

fn model_plan() -> impl Strategy<Value = ModelPlan> {
    let metadata = (
        any::<String>(),
        any::<String>(),
        prop::collection::btree_map(any::<String>(), any::<String>(), 0..4),
    )
        .prop_map(|(name, producer, properties)| Metadata {
            name,
            producer,
            // Reversed, so the writer has to sort them.
            properties: properties.into_iter().rev().collect(),
        });
    (
        metadata,
        prop::collection::vec(prop::sample::select(DType::ALL.to_vec()), 1..3),
        prop::collection::vec(prop::option::of(prop::collection::vec(dim(), 0..4)), 1..5),
        any::<String>(),
        main_plan(),
        prop::collection::vec(tensor(), 0..5),
    )
        .prop_map(
            |(metadata, input_dtypes, shapes, suffix, main, tensors)| ModelPlan {
                metadata,
                input_dtypes,
                shapes,
                suffix,
                main,
                tensors,
            },
        )
}

/// Turns a plan into a valid graph: inputs and constants first, then the
/// bodies, each node reading only values visible to it.
struct Builder<'p> {
    plan: &'p ModelPlan,
    graph: GraphDef,
}

impl Builder<'_> {
    fn new_value(&mut self, dtype: DType, constant: Option<TensorId>) -> ValueId {
        let id = self.graph.values.len();
        let shapes = &self.plan.shapes;
        self.graph.values.push(ValueDef {
            name: format!("v{id}_{}", self.plan.suffix),
            dtype,
            shape: shapes[id % shapes.len()].clone(),
            constant,
        });
        id as ValueId
    }

    fn body(&mut self, plan: &BodyPlan, index: usize, visible: &mut Vec<ValueId>) {
        let scope_start = visible.len();
        let mut nodes = Vec::new();
        for n in &plan.nodes {
            let inputs = n
                .inputs
                .iter()
                .map(|p| p.map(|r| visible[r as usize % visible.len()]))
                .collect();
            let mut attributes: Vec<Attribute> = n
                .attributes
                .iter()
                .map(|(name, value)| Attribute {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect();
            for (i, sub) in n.sub_bodies.iter().enumerate() {
                let sub_index = self.graph.bodies.len();
                self.graph.bodies.push(Body::default());
                attributes.push(Attribute {
                    name: format!("body{i}"),
                    value: AttrValue::Body(sub_index as u32),
                });
                self.body(sub, sub_index, visible);
            }
            let outputs: Vec<ValueId> = (0..n.outputs)
                .map(|_| self.new_value(DType::F32, None))
                .collect();
            visible.extend(&outputs);
            let op = OpCode::ALL[n.op % OpCode::ALL.len()];
            nodes.push(NodeDef {
                name: n.name.clone(),
                op,
                inputs,
                outputs,
                attributes,
            });
        }
        let outputs = plan
            .outputs
            .iter()
            .map(|&r| visible[r as usize % visible.len()])
            .collect();
        self.graph.bodies[index] = Body { nodes, outputs };
        // What a body defines is not visible after it.
        visible.truncate(scope_start);
    }

    fn build(plan: &ModelPlan) -> GraphDef {
        let mut b = Builder {
            plan,
            graph: GraphDef::default(),
        };
        let mut visible = Vec::new();
        for &dtype in &plan.input_dtypes {
            let id = b.new_value(dtype, None);
            b.graph.inputs.push(id);
            visible.push(id);
        }
        for (t, (spec, _)) in plan.tensors.iter().enumerate() {
            visible.push(b.new_value(spec.dtype, Some(t as TensorId)));
        }
        b.graph.bodies.push(Body::default());
        b.body(&plan.main, 0, &mut visible);
        b.graph
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn write_then_read_is_identity(plan in model_plan()) {
        let graph = Builder::build(&plan);
        let mut writer = PnnWriter::new(plan.metadata.clone(), graph.clone());
        for (spec, data) in &plan.tensors {
            writer.add_tensor(spec.clone(), data.as_slice());
        }
        let bytes = writer.to_bytes().unwrap();
        let mut streamed = Vec::new();
        prop_assert_eq!(writer.write_to(&mut streamed).unwrap(), bytes.len() as u64);
        prop_assert_eq!(&streamed, &bytes);

        let file = PnnFile::parse(&bytes).unwrap();
        let model = file.model();
        let mut metadata = plan.metadata.clone();
        metadata.properties.sort();
        prop_assert_eq!(&model.metadata, &metadata);
        prop_assert_eq!(&model.graph, &graph);
        prop_assert_eq!(model.tensors.len(), plan.tensors.len());
        for (id, (spec, data)) in plan.tensors.iter().enumerate() {
            let entry = &model.tensors[id];
            prop_assert_eq!(&entry.name, &spec.name);
            prop_assert_eq!(entry.dtype, spec.dtype);
            prop_assert_eq!(&entry.shape, &spec.shape);
            prop_assert_eq!(&entry.layout, &spec.layout);
            prop_assert_eq!(&entry.quant, &spec.quant);
            let stored = file.tensor_data(id as TensorId).unwrap();
            prop_assert_eq!(stored, data.as_slice());
            let offset = stored.as_ptr() as usize - bytes.as_ptr() as usize;
            prop_assert_eq!(offset % TENSOR_ALIGN, 0);
            prop_assert_eq!(file.tensor_range(id as TensorId), Some(offset..offset + data.len()));
        }
        prop_assert_eq!(writer.model().unwrap(), model.clone());
    }
}
