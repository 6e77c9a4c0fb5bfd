//! The objects behind the opaque handles, in safe Rust. The C functions
//! (`c_model.rs`, `c_session.rs`) and the JNI entry points (`jni/`) only
//! check and translate arguments and call these.

use crate::status::{FfiError, PnnDType, PnnStatus};
use pocketnn::tensor::AlignedBuf;
use pocketnn::{DType, Dim, IoInfo, Model, Session, SessionOptions, TensorView};
use std::ffi::CString;
use std::fs::File;
use std::sync::Arc;

/// The largest input rank accepted from a caller.
pub const PNN_MAX_RANK: usize = 64;

/// A model input or output, with the C strings and arrays handed out.
pub(crate) struct IoEntry {
    /// NUL-terminated name.
    pub(crate) name: CString,
    /// Element type.
    pub(crate) dtype: PnnDType,
    /// Declared dims (`-1` for symbolic ones); `None` when undeclared.
    pub(crate) shape: Option<Vec<i64>>,
}

impl IoEntry {
    fn new(info: &IoInfo) -> Result<IoEntry, FfiError> {
        let name = CString::new(info.name.as_str()).map_err(|_| {
            FfiError::new(
                PnnStatus::PNN_ERROR_INVALID_MODEL,
                format!("the tensor name {:?} contains a NUL byte", info.name),
            )
        })?;
        let shape = info.shape.as_ref().map(|dims| {
            dims.iter()
                .map(|d| match d {
                    Dim::Fixed(n) => i64::try_from(*n).unwrap_or(-1),
                    Dim::Symbolic(_) => -1,
                })
                .collect()
        });
        Ok(IoEntry {
            name,
            dtype: info.dtype.into(),
            shape,
        })
    }

    /// The name as Rust text (names come from a validated UTF-8 model).
    pub(crate) fn name_str(&self) -> &str {
        self.name.to_str().unwrap_or("")
    }
}

/// What a model handle and all its sessions share.
pub(crate) struct ModelShared {
    pub(crate) model: Model,
    pub(crate) inputs: Vec<IoEntry>,
    pub(crate) outputs: Vec<IoEntry>,
}

impl ModelShared {
    /// The inputs (`outputs == false`) or the outputs.
    pub(crate) fn entries(&self, outputs: bool) -> &[IoEntry] {
        if outputs { &self.outputs } else { &self.inputs }
    }

    /// The input or output at `index`.
    pub(crate) fn entry(&self, outputs: bool, index: usize) -> Result<&IoEntry, FfiError> {
        let entries = self.entries(outputs);
        entries.get(index).ok_or_else(|| {
            FfiError::new(
                PnnStatus::PNN_ERROR_OUT_OF_RANGE,
                format!(
                    "{} index {index} is out of range: the model has {}",
                    if outputs { "output" } else { "input" },
                    entries.len()
                ),
            )
        })
    }

    /// The position of the input or output called `name`.
    pub(crate) fn index_of(&self, outputs: bool, name: &str) -> Result<usize, FfiError> {
        let entries = self.entries(outputs);
        entries
            .iter()
            .position(|e| e.name_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = entries.iter().map(|e| e.name_str()).collect();
                FfiError::new(
                    PnnStatus::PNN_ERROR_UNKNOWN_NAME,
                    format!(
                        "the model has no {} named `{name}` ({}s: {})",
                        if outputs { "output" } else { "input" },
                        if outputs { "output" } else { "input" },
                        names.join(", ")
                    ),
                )
            })
    }
}

/// A loaded model (opaque to C). Immutable and safe to share between
/// threads; sessions keep it alive.
pub struct PnnModel {
    pub(crate) shared: Arc<ModelShared>,
}

impl PnnModel {
    fn new(model: Model) -> Result<PnnModel, FfiError> {
        let inputs = model
            .inputs()
            .iter()
            .map(IoEntry::new)
            .collect::<Result<_, _>>()?;
        let outputs = model
            .outputs()
            .iter()
            .map(IoEntry::new)
            .collect::<Result<_, _>>()?;
        Ok(PnnModel {
            shared: Arc::new(ModelShared {
                inputs,
                outputs,
                model,
            }),
        })
    }

    /// Maps and validates the file at `path`.
    pub(crate) fn load_file(path: &str) -> Result<PnnModel, FfiError> {
        PnnModel::new(Model::load(path).map_err(FfiError::from_load)?)
    }

    /// Validates a copy of `bytes`.
    pub(crate) fn load_bytes(bytes: &[u8]) -> Result<PnnModel, FfiError> {
        PnnModel::new(Model::from_bytes(bytes).map_err(FfiError::from_load)?)
    }

    /// Maps and validates `len` bytes of `file` from `offset`.
    pub(crate) fn load_file_range(
        file: &File,
        offset: u64,
        len: u64,
    ) -> Result<PnnModel, FfiError> {
        PnnModel::new(Model::map_file_range(file, offset, len).map_err(FfiError::from_load)?)
    }

    /// True when the weights are used from a file mapping.
    pub(crate) fn is_memory_mapped(&self) -> bool {
        self.shared.model.is_memory_mapped()
    }
}

/// Which model input an [`InputRef`] feeds.
#[derive(Clone, Copy, Debug)]
pub(crate) enum InputKey<'a> {
    /// By name.
    Name(&'a str),
    /// By position in the model's input list.
    Index(usize),
}

/// One input for [`PnnSession::run`], borrowed for the call.
#[derive(Clone, Debug)]
pub(crate) struct InputRef<'a> {
    pub(crate) key: InputKey<'a>,
    pub(crate) dtype: DType,
    pub(crate) shape: Vec<usize>,
    pub(crate) data: &'a [u8],
}

/// Converts caller dims to sizes: negative dims and ranks above
/// [`PNN_MAX_RANK`] are invalid.
pub(crate) fn shape_from_dims(dims: &[i64]) -> Result<Vec<usize>, FfiError> {
    if dims.len() > PNN_MAX_RANK {
        return Err(FfiError::new(
            PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
            format!("rank {} is above the limit of {PNN_MAX_RANK}", dims.len()),
        ));
    }
    dims.iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| {
                FfiError::new(
                    PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
                    format!("dimension {d} is negative (shape {dims:?})"),
                )
            })
        })
        .collect()
}

/// One output of the last run: where the session keeps it.
pub(crate) struct OutputRecord {
    pub(crate) dtype: DType,
    pub(crate) shape: Vec<i64>,
    data: *const u8,
    len: usize,
}

/// A session (opaque to C): runs its model with its own memory. Use from
/// one thread at a time.
pub struct PnnSession {
    session: Session,
    pub(crate) model: Arc<ModelShared>,
    /// The outputs of the last successful run; `None` before one.
    results: Option<Vec<OutputRecord>>,
    /// Aligned copies of inputs whose data was not aligned for its dtype.
    staging: Vec<AlignedBuf>,
    /// Set while a run is in progress; still set after a run that panicked.
    poisoned: bool,
}

impl PnnSession {
    /// A session for `model` with `threads` worker threads (0: all cores).
    pub(crate) fn new(model: &PnnModel, threads: usize) -> Result<PnnSession, FfiError> {
        let options = SessionOptions::with_threads(threads);
        let session = Session::new(&model.shared.model, options).map_err(FfiError::from_run)?;
        Ok(PnnSession {
            session,
            model: Arc::clone(&model.shared),
            results: None,
            staging: Vec::new(),
            poisoned: false,
        })
    }

    /// Drops the outputs of the last run: a run that fails, even before it
    /// reaches [`PnnSession::run`] (bad arguments), leaves none.
    pub(crate) fn forget_results(&mut self) {
        self.results = None;
    }

    /// Runs the model. On success the outputs are readable until the next
    /// run; on failure there are none.
    pub(crate) fn run(&mut self, inputs: &[InputRef<'_>]) -> Result<(), FfiError> {
        if self.poisoned {
            return Err(FfiError::new(
                PnnStatus::PNN_ERROR_PANIC,
                "this session panicked during an earlier run and cannot be used; destroy it",
            ));
        }
        self.results = None;
        // Names, in the caller's order.
        let mut names = Vec::with_capacity(inputs.len());
        for input in inputs {
            names.push(match input.key {
                InputKey::Name(name) => name,
                InputKey::Index(i) => self.model.entry(false, i)?.name_str(),
            });
        }
        // Kernels read typed slices: copy data that is not aligned for its
        // element type (a byte buffer from Java, a packed C struct).
        if self.staging.len() < inputs.len() {
            self.staging.resize_with(inputs.len(), AlignedBuf::new);
        }
        let mut staged = Vec::with_capacity(inputs.len());
        for (input, buf) in inputs.iter().zip(self.staging.iter_mut()) {
            let misaligned = !(input.data.as_ptr() as usize).is_multiple_of(input.dtype.size());
            if misaligned {
                buf.resize(input.data.len());
                buf.as_bytes_mut().copy_from_slice(input.data);
            }
            staged.push(misaligned);
        }
        let mut views = Vec::with_capacity(inputs.len());
        for ((input, name), (buf, &copy)) in inputs
            .iter()
            .zip(&names)
            .zip(self.staging.iter().zip(&staged))
        {
            let data = if copy { buf.as_bytes() } else { input.data };
            let view = TensorView::new(input.dtype, &input.shape, data).map_err(|e| {
                let mut error = FfiError::from(e);
                error.message = format!("input `{name}`: {}", error.message);
                error
            })?;
            views.push((*name, view));
        }
        self.poisoned = true;
        let outcome = match self.session.run_views(&views) {
            Ok(outputs) => Ok(outputs
                .iter()
                .map(|(_, view)| OutputRecord {
                    dtype: view.dtype(),
                    shape: view
                        .shape()
                        .iter()
                        .map(|&d| i64::try_from(d).unwrap_or(i64::MAX))
                        .collect(),
                    data: view.bytes().as_ptr(),
                    len: view.bytes().len(),
                })
                .collect()),
            Err(e) => Err(FfiError::from_run(e)),
        };
        self.poisoned = false;
        self.results = Some(outcome?);
        Ok(())
    }

    /// Output `index` of the last run: its model entry and its record.
    pub(crate) fn output(&self, index: usize) -> Result<(&IoEntry, &OutputRecord), FfiError> {
        let results = self.results.as_ref().ok_or_else(|| {
            FfiError::new(
                PnnStatus::PNN_ERROR_NO_RESULTS,
                "no outputs: the session has not completed a run since it was created or since \
                 its last failed run",
            )
        })?;
        let entry = self.model.entry(true, index)?;
        let record = results.get(index).ok_or_else(|| {
            FfiError::new(
                PnnStatus::PNN_ERROR_OUT_OF_RANGE,
                "output index out of range",
            )
        })?;
        Ok((entry, record))
    }

    /// The bytes of an output of the last run.
    pub(crate) fn output_bytes<'s>(&'s self, record: &'s OutputRecord) -> &'s [u8] {
        // SAFETY: `record` belongs to `self.results`, filled by `run` from
        // the `Outputs` of `self.session.run_views`: `data`/`len` are those
        // of a `&[u8]` borrowed from the session's own buffers. The session
        // changes those buffers only in `run_views`, which needs `&mut
        // self`; `run` clears `results` before calling it. While `&self` is
        // borrowed here no run can happen, so the slice is still live and
        // unchanged, and its lifetime is tied to that borrow.
        unsafe { std::slice::from_raw_parts(record.data, record.len) }
    }

    /// Copies output `index` into `dst`, checking its dtype against
    /// `expected` and its size against `dst`. Returns the bytes written.
    pub(crate) fn copy_output(
        &self,
        index: usize,
        expected: DType,
        dst: &mut [u8],
    ) -> Result<usize, FfiError> {
        let (entry, record) = self.output(index)?;
        if record.dtype != expected {
            return Err(FfiError::new(
                PnnStatus::PNN_ERROR_WRONG_DTYPE,
                format!(
                    "output `{}` is {}, not {expected}",
                    entry.name_str(),
                    record.dtype
                ),
            ));
        }
        let bytes = self.output_bytes(record);
        let Some(target) = dst.get_mut(..bytes.len()) else {
            return Err(FfiError::new(
                PnnStatus::PNN_ERROR_BUFFER_TOO_SMALL,
                format!(
                    "output `{}` needs {} bytes, the buffer has {}",
                    entry.name_str(),
                    bytes.len(),
                    dst.len()
                ),
            ));
        };
        target.copy_from_slice(bytes);
        Ok(bytes.len())
    }
}
