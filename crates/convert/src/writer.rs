//! Writing a converted model as a `.pnn` file.

use crate::Converted;
use crate::error::ConvertError;
use std::borrow::Cow;
use std::io::Write;

use pocketnn_format::{PnnWriter, TensorSpec};

/// Writes `model` as a `.pnn` stream to `out`.
pub(crate) fn write_pnn(model: &Converted, out: impl Write) -> Result<(), ConvertError> {
    let mut writer = PnnWriter::new(model.model.metadata.clone(), model.model.graph.clone());
    for (entry, data) in model.model.tensors.iter().zip(&model.tensor_data) {
        writer.add_tensor(
            TensorSpec {
                name: entry.name.clone(),
                dtype: entry.dtype,
                shape: entry.shape.clone(),
                layout: entry.layout.clone(),
                quant: entry.quant.clone(),
            },
            Cow::Borrowed(data.as_slice()),
        );
    }
    writer
        .write_to(out)
        .map_err(|source| ConvertError::Write { source })?;
    Ok(())
}
