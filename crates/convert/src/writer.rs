//! Writing a converted model as a `.pnn` file.
//!
//! The `.pnn` writer (`pocketnn_format::PnnWriter`) is being written on
//! another branch. Until it is merged, [`standin`] mirrors its API and
//! reports that writing is not available; at merge, delete `standin` and
//! import `PnnWriter` and `TensorSpec` from `pocketnn_format` instead.

use crate::Converted;
use crate::error::ConvertError;
use std::borrow::Cow;
use std::io::Write;

use standin::{PnnWriter, TensorSpec};

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
        .map_err(|source| ConvertError::Write { source })
}

/// A stand-in for `pocketnn_format::{PnnWriter, TensorSpec}` (see the
/// module docs). Delete at merge.
mod standin {
    use pocketnn_format::{DType, GraphDef, Layout, Metadata, QuantParams, TensorId};
    use std::borrow::Cow;
    use std::io::{self, Write};

    /// What the writer needs to know about a tensor besides its bytes.
    pub(crate) struct TensorSpec {
        pub name: String,
        pub dtype: DType,
        pub shape: Vec<u64>,
        pub layout: Layout,
        pub quant: Option<QuantParams>,
    }

    /// Collects the model, then refuses to write it.
    pub(crate) struct PnnWriter {
        tensors: usize,
    }

    impl PnnWriter {
        pub(crate) fn new(_metadata: Metadata, _graph: GraphDef) -> Self {
            PnnWriter { tensors: 0 }
        }

        pub(crate) fn add_tensor(&mut self, spec: TensorSpec, _data: Cow<'_, [u8]>) -> TensorId {
            let _ = (spec.name, spec.dtype, spec.shape, spec.layout, spec.quant);
            self.tensors += 1;
            (self.tensors - 1) as TensorId
        }

        pub(crate) fn write_to(&self, _out: impl Write) -> io::Result<()> {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the .pnn writer is not merged into this build yet",
            ))
        }
    }
}
