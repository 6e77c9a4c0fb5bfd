//! [`Model`]: a loaded, validated, immutable model, shared by sessions.

use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::limits::Limits;
use crate::storage::Storage;
use pocketnn_format::{DType, Dim, Metadata, ModelDef, PnnFile, ReadOptions};
use std::fs::File;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// How to load a model.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Verify the checksum of the tensor data (default `true`). Structure
    /// (header, graph, tensor index) is always verified; skipping the data
    /// checksum makes loading independent of the model's size, at the cost
    /// of not detecting corrupted weights.
    pub verify_data_checksum: bool,
    /// Resource limits: checked against the file's structure and declared
    /// shapes at load, and the default for the model's sessions.
    pub limits: Limits,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            verify_data_checksum: true,
            limits: Limits::default(),
        }
    }
}

/// A graph input or output as the model declares it.
#[derive(Clone, Debug, PartialEq)]
pub struct IoInfo {
    /// Name used to feed or fetch it.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Declared shape; `None` when the model does not declare one.
    pub shape: Option<Vec<Dim>>,
}

impl IoInfo {
    /// The declared shape in a readable form, e.g. `[N, 1, 28, 28]`.
    pub fn shape_string(&self) -> String {
        match &self.shape {
            None => "[?]".to_string(),
            Some(dims) => {
                let dims: Vec<String> = dims
                    .iter()
                    .map(|d| match d {
                        Dim::Fixed(n) => n.to_string(),
                        Dim::Symbolic(s) => s.clone(),
                    })
                    .collect();
                format!("[{}]", dims.join(", "))
            }
        }
    }
}

pub(crate) struct ModelInner {
    pub(crate) storage: Storage,
    pub(crate) def: ModelDef,
    pub(crate) graph: Graph,
    pub(crate) inputs: Vec<IoInfo>,
    pub(crate) outputs: Vec<IoInfo>,
    pub(crate) version: (u16, u16),
    pub(crate) tensor_ranges: Vec<Range<usize>>,
    /// The limits it was loaded with; the default for its sessions.
    pub(crate) limits: Limits,
}

/// A loaded model. Cheap to clone (shared), `Send + Sync`, immutable.
///
/// The weights are used in place from the memory-mapped file (or from the
/// one aligned copy made by [`Model::from_bytes`]); nothing is unpacked or
/// copied per session.
#[derive(Clone)]
pub struct Model {
    pub(crate) inner: Arc<ModelInner>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.inner.def.metadata.name)
            .field("inputs", &self.inner.inputs)
            .field("outputs", &self.inner.outputs)
            .finish()
    }
}

fn io_info(def: &ModelDef, v: u32) -> Result<IoInfo> {
    let value = def
        .graph
        .values
        .get(v as usize)
        .ok_or_else(|| Error::InvalidGraph {
            reason: format!("graph input/output refers to missing value {v}"),
        })?;
    Ok(IoInfo {
        name: value.name.clone(),
        dtype: value.dtype,
        shape: value.shape.clone(),
    })
}

/// Checks the declared value shapes and the constant tensor shapes against
/// `limits`, so that a model whose shapes need more fails at load.
fn check_shapes(def: &ModelDef, limits: &Limits) -> Result<()> {
    for value in &def.graph.values {
        if let Some(shape) = &value.shape {
            let what = || format!("value `{}` (declared)", value.name);
            limits.check_declared_shape(&what, value.dtype, shape)?;
        }
    }
    for tensor in &def.tensors {
        let what = || format!("constant `{}`", tensor.name);
        limits.check_constant_shape(&what, tensor.dtype, &tensor.shape)?;
    }
    Ok(())
}

impl Model {
    /// Memory-maps and validates the `.pnn` file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        Model::load_with(path, &LoadOptions::default())
    }

    /// [`Model::load`] with options.
    pub fn load_with(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Model> {
        Model::from_storage(Storage::map(path.as_ref())?, options)
    }

    /// Memory-maps and validates the `len` bytes of `file` that start at
    /// byte `offset`, for a model stored inside a larger file (an Android
    /// asset opened as an `AssetFileDescriptor` is a range of the APK).
    ///
    /// The range is mapped read-only, not copied, when `offset` is a
    /// multiple of 64 (tensor data must be 64-byte aligned in memory);
    /// otherwise the mapped bytes are copied once into aligned memory
    /// ([`Model::is_memory_mapped`] tells which happened). The mapping does
    /// not need `file` to stay open. A range that ends past the end of the
    /// file is an [`Error::Io`].
    pub fn map_file_range(file: &File, offset: u64, len: u64) -> Result<Model> {
        Model::map_file_range_with(file, offset, len, &LoadOptions::default())
    }

    /// [`Model::map_file_range`] with options.
    pub fn map_file_range_with(
        file: &File,
        offset: u64,
        len: u64,
        options: &LoadOptions,
    ) -> Result<Model> {
        Model::from_storage(Storage::map_range(file, offset, len)?, options)
    }

    /// Validates a model held in memory. The bytes are copied once into
    /// 64-byte aligned memory, which the model then owns.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        Model::from_bytes_with(bytes, &LoadOptions::default())
    }

    /// [`Model::from_bytes`] with options.
    pub fn from_bytes_with(bytes: &[u8], options: &LoadOptions) -> Result<Model> {
        Model::from_storage(Storage::copy(bytes), options)
    }

    fn from_storage(storage: Storage, options: &LoadOptions) -> Result<Model> {
        let read = ReadOptions {
            verify_data_checksum: options.verify_data_checksum,
            limits: options.limits.file.clone(),
        };
        let bytes = storage.bytes();
        let file = PnnFile::parse_with(bytes, &read)?;
        check_shapes(file.model(), &options.limits)?;
        let ranges: Vec<Range<usize>> = (0..file.model().tensors.len())
            .map(|t| file.tensor_range(t as u32).unwrap_or(0..0))
            .collect();
        let version = file.version();
        let def = file.into_model();
        let graph = Graph::build(&def, &ranges)?;
        let inputs = def
            .graph
            .inputs
            .iter()
            .map(|&v| io_info(&def, v))
            .collect::<Result<_>>()?;
        let outputs = def
            .graph
            .outputs()
            .iter()
            .map(|&v| io_info(&def, v))
            .collect::<Result<_>>()?;
        Ok(Model {
            inner: Arc::new(ModelInner {
                storage,
                def,
                graph,
                inputs,
                outputs,
                version,
                tensor_ranges: ranges,
                limits: options.limits.clone(),
            }),
        })
    }

    /// The inputs `Session::run` expects, in order.
    pub fn inputs(&self) -> &[IoInfo] {
        &self.inner.inputs
    }

    /// The outputs `Session::run` yields, in order.
    pub fn outputs(&self) -> &[IoInfo] {
        &self.inner.outputs
    }

    /// Model name, producer and properties.
    pub fn metadata(&self) -> &Metadata {
        &self.inner.def.metadata
    }

    /// The full decoded file contents (graph, tensor index), for tools.
    pub fn definition(&self) -> &ModelDef {
        &self.inner.def
    }

    /// The `.pnn` format version of the file, `(major, minor)`.
    pub fn format_version(&self) -> (u16, u16) {
        self.inner.version
    }

    /// The limits the model was loaded with (its sessions' default).
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Size of the model file in bytes.
    pub fn file_size(&self) -> usize {
        self.inner.storage.bytes().len()
    }

    /// True when the weights are used straight from a memory-mapped file.
    pub fn is_memory_mapped(&self) -> bool {
        self.inner.storage.is_mapped()
    }

    /// The raw bytes of constant tensor `id` as stored in the file.
    pub fn tensor_bytes(&self, id: u32) -> Option<&[u8]> {
        let range = self.inner.tensor_ranges.get(id as usize)?.clone();
        self.inner.storage.bytes().get(range)
    }
}
