//! `pocketnn inspect MODEL.pnn [--json]`

use crate::CliResult;
use pocketnn::{IoInfo, Model};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

fn io_json(io: &[IoInfo]) -> serde_json::Value {
    io.iter()
        .map(|i| json!({"name": i.name, "dtype": i.dtype.name(), "shape": i.shape_string()}))
        .collect()
}

/// Prints what the model holds.
pub fn run(path: &Path, as_json: bool) -> CliResult {
    let model = Model::load(path)?;
    let def = model.definition();
    let mut ops: BTreeMap<&str, usize> = BTreeMap::new();
    for body in &def.graph.bodies {
        for node in &body.nodes {
            *ops.entry(node.op.name()).or_default() += 1;
        }
    }
    let mut bytes: BTreeMap<&str, u64> = BTreeMap::new();
    for t in &def.tensors {
        *bytes.entry(t.dtype.name()).or_default() += t.len;
    }
    let (major, minor) = model.format_version();
    let meta = model.metadata();
    if as_json {
        let v = json!({
            "format_version": format!("{major}.{minor}"),
            "name": meta.name,
            "producer": meta.producer,
            "properties": meta.properties.iter().cloned().collect::<BTreeMap<_, _>>(),
            "inputs": io_json(model.inputs()),
            "outputs": io_json(model.outputs()),
            "nodes": ops.values().sum::<usize>(),
            "ops": ops,
            "tensor_bytes": bytes,
            "file_bytes": model.file_size(),
        });
        println!("{v:#}");
        return Ok(());
    }
    println!("{}", path.display());
    println!("  format      .pnn {major}.{minor}");
    if !meta.name.is_empty() {
        println!("  name        {}", meta.name);
    }
    println!("  producer    {}", meta.producer);
    for (k, v) in &meta.properties {
        println!("  {k:<11} {v}");
    }
    println!("  file size   {} bytes", model.file_size());
    println!("inputs");
    for i in model.inputs() {
        println!(
            "  {:<24} {:<5} {}",
            i.name,
            i.dtype.name(),
            i.shape_string()
        );
    }
    println!("outputs");
    for o in model.outputs() {
        println!(
            "  {:<24} {:<5} {}",
            o.name,
            o.dtype.name(),
            o.shape_string()
        );
    }
    println!("operators ({} nodes)", ops.values().sum::<usize>());
    for (op, n) in &ops {
        println!("  {op:<24} {n}");
    }
    println!("tensor data");
    for (dtype, b) in &bytes {
        println!("  {dtype:<24} {b} bytes");
    }
    Ok(())
}
