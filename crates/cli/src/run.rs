//! `pocketnn run MODEL.pnn --input NAME=FILE.npy ... --output-dir DIR`

use crate::CliResult;
use crate::error::CliError;
use crate::inputs::read_inputs;
use crate::npy::write_npy;
use pocketnn::{Model, Session, SessionOptions};
use std::collections::HashSet;
use std::path::Path;

/// A file name for an output name: characters outside `[A-Za-z0-9._-]`
/// become `_`, and names that collide get a numeric suffix.
pub fn safe_file_stem(name: &str, taken: &mut HashSet<String>) -> String {
    let mut stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() || stem.chars().all(|c| c == '.') {
        stem = format!("output{stem}");
    }
    let mut candidate = stem.clone();
    let mut n = 1;
    while !taken.insert(candidate.to_ascii_lowercase()) {
        candidate = format!("{stem}_{n}");
        n += 1;
    }
    candidate
}

/// Runs the model once and writes every output.
pub fn run(
    model_path: &Path,
    input_args: &[String],
    output_dir: &Path,
    threads: usize,
) -> CliResult {
    let inputs = read_inputs(input_args)?;
    let model = Model::load(model_path)?;
    let mut session = Session::new(&model, SessionOptions::with_threads(threads))?;
    let views: Vec<(&str, pocketnn::TensorView<'_>)> =
        inputs.iter().map(|(n, t)| (n.as_str(), t.view())).collect();
    let outputs = session.run_views(&views)?;
    std::fs::create_dir_all(output_dir).map_err(|source| CliError::Io {
        path: output_dir.to_path_buf(),
        source,
    })?;
    let mut taken = HashSet::new();
    for (name, view) in outputs.iter() {
        let path = output_dir.join(format!("{}.npy", safe_file_stem(name, &mut taken)));
        write_npy(&path, &view)?;
        println!("{name} {:?} -> {}", view.shape(), path.display());
        if let Some(top1) = top1_per_row(&view) {
            println!("  top-1 per row: {top1:?}");
        }
    }
    Ok(())
}

/// For a 2-D float output (a batch of scores), the index of the largest
/// score in each row.
pub fn top1_per_row(view: &pocketnn::TensorView<'_>) -> Option<Vec<usize>> {
    let [rows, cols] = *view.shape() else {
        return None;
    };
    if cols == 0 || rows > 64 {
        return None;
    }
    let values = view.to_f32_vec().ok()?;
    Some(
        values
            .chunks(cols)
            .map(|row| {
                row.iter()
                    .enumerate()
                    .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                        if v > best.1 { (i, v) } else { best }
                    })
                    .0
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_become_safe_unique_file_names() {
        let mut taken = HashSet::new();
        assert_eq!(safe_file_stem("logits", &mut taken), "logits");
        assert_eq!(safe_file_stem("a/b:c", &mut taken), "a_b_c");
        assert_eq!(safe_file_stem("a_b_c", &mut taken), "a_b_c_1");
        assert_eq!(safe_file_stem("..", &mut taken), "output..");
        assert_eq!(safe_file_stem("", &mut taken), "output");
        assert_eq!(safe_file_stem("LOGITS", &mut taken), "LOGITS_1");
    }
}
