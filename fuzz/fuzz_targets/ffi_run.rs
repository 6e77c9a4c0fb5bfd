//! The `run` and output calls of the `ffi` fuzz target (split from ffi.rs
//! to keep files small): inputs with mutated dtype, shape, byte length and
//! alignment; outputs read in place and copied into caller buffers.

use super::{Caller, MAX_INPUT_BYTES, check, info_shape, read_tensor};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use pocketnn_ffi::*;
use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::ptr;

impl Caller<'_> {
    pub(super) fn run(&mut self, u: &mut Unstructured) -> Result<()> {
        let session = Self::pick(u, &self.sessions)?.unwrap_or(ptr::null_mut());
        let model = Self::pick(u, &self.models)?.unwrap_or(ptr::null_mut());
        let count = u.int_in_range(0..=3usize)?;
        // Owned storage for every input's name, shape and data.
        let mut names = Vec::new();
        let mut shapes = Vec::new();
        let mut datas = Vec::new();
        let mut specs = Vec::new();
        for _ in 0..count {
            let index = u.int_in_range(0..=2usize)?;
            let name = if u.ratio(1, 2)? {
                None
            } else {
                self.name_for(u, model, true)?
            };
            // The declared shape (symbolic dims filled) or a mutated one.
            let mut info = MaybeUninit::<PnnTensorInfo>::uninit();
            // SAFETY: live model or NULL, writable info.
            let declared =
                if check(unsafe { pnn_model_input_info(model, index, info.as_mut_ptr()) })
                    == PnnStatus::PNN_OK
                {
                    // SAFETY: written on PNN_OK.
                    let info = unsafe { info.assume_init() };
                    Some((info.dtype as i32, info_shape(&info)))
                } else {
                    None
                };
            let (dtype, mut shape) = declared.unwrap_or((1, vec![1, 1, 28, 28]));
            let batch = u.int_in_range(1..=3i64)?;
            for dim in &mut shape {
                if *dim < 0 {
                    *dim = batch;
                }
            }
            let dtype = match u.int_in_range(0..=7u8)? {
                0 => u.arbitrary::<i32>()?,
                1 => *u.choose(&[1, 2, 3, 6, 7, 9, 10])?,
                _ => dtype,
            };
            match u.int_in_range(0..=7u8)? {
                0 => {
                    shape = (0..u.int_in_range(0..=6usize)?)
                        .map(|_| u.int_in_range(-2..=40i64).unwrap_or(1))
                        .collect()
                }
                1 => shape = vec![1; u.int_in_range(60..=70usize)?],
                2 => {
                    if !shape.is_empty() {
                        let at = u.choose_index(shape.len())?;
                        shape[at] = u.arbitrary()?;
                    }
                }
                _ => {}
            }
            let element = match dtype {
                1 | 6 => 4,
                7 => 8,
                10 => 2,
                _ => 1,
            };
            let elements = shape
                .iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(usize::try_from(d).ok()?));
            let right = elements.and_then(|e| e.checked_mul(element));
            let byte_len = match (u.int_in_range(0..=5u8)?, right) {
                (0, _) => u.int_in_range(0..=4096usize)?,
                (1, Some(n)) => n.saturating_add(1),
                (2, Some(n)) => n.saturating_sub(1),
                (_, Some(n)) => n,
                (_, None) => 16,
            }
            .min(MAX_INPUT_BYTES);
            // Data: fuzz bytes then zeros, at a chosen misalignment.
            let shift = u.int_in_range(0..=3usize)?;
            let mut data = vec![0u8; shift + byte_len];
            let fill_len = u.int_in_range(0..=byte_len.min(255))?;
            let fill = u.bytes(fill_len)?;
            data[shift..shift + fill.len()].copy_from_slice(fill);
            let null_data = byte_len == 0 && u.arbitrary::<bool>()?;
            specs.push((index, dtype, shift, byte_len, null_data));
            names.push(name);
            shapes.push(shape);
            datas.push(data);
        }
        let inputs: Vec<PnnInput> = specs
            .iter()
            .enumerate()
            .map(
                |(i, &(index, dtype, shift, byte_len, null_data))| PnnInput {
                    name: names[i].as_ref().map_or(ptr::null(), |n| n.as_ptr().cast()),
                    index,
                    dtype,
                    shape: if shapes[i].is_empty() {
                        ptr::null()
                    } else {
                        shapes[i].as_ptr()
                    },
                    rank: shapes[i].len(),
                    data: if null_data {
                        ptr::null()
                    } else {
                        datas[i][shift..].as_ptr().cast::<c_void>()
                    },
                    byte_len,
                },
            )
            .collect();
        let inputs_ptr = if inputs.is_empty() && u.arbitrary::<bool>()? {
            ptr::null()
        } else {
            inputs.as_ptr()
        };
        // SAFETY: live session or NULL; `count` inputs whose names are
        // NUL-terminated or NULL, shapes hold `rank` dims, data holds
        // `byte_len` bytes (all owned above and alive for the call).
        let status = check(unsafe { pnn_session_run(session, inputs_ptr, inputs.len()) });
        if status == PnnStatus::PNN_OK {
            self.read_outputs(u, session)?;
        } else if !session.is_null() {
            // A failed run leaves no outputs.
            let mut tensor = MaybeUninit::<PnnTensor>::uninit();
            // SAFETY: live session, writable tensor.
            let status = check(unsafe { pnn_session_output(session, 0, tensor.as_mut_ptr()) });
            assert_eq!(status, PnnStatus::PNN_ERROR_NO_RESULTS);
        }
        Ok(())
    }

    /// Outputs of a session (any state): in place, by name, copied.
    pub(super) fn read_outputs(
        &mut self,
        u: &mut Unstructured,
        session: *mut PnnSession,
    ) -> Result<()> {
        let index = u.int_in_range(0..=2usize)?;
        let mut tensor = MaybeUninit::<PnnTensor>::uninit();
        let tensor_ptr = if u.ratio(1, 8)? {
            ptr::null_mut()
        } else {
            tensor.as_mut_ptr()
        };
        let status = if u.arbitrary::<bool>()? {
            // SAFETY: live session or NULL, writable tensor or NULL.
            check(unsafe { pnn_session_output(session, index, tensor_ptr) })
        } else {
            let mut name = b"logits\0".to_vec();
            if u.arbitrary::<bool>()? {
                name = u.arbitrary::<&[u8]>()?.iter().take(40).copied().collect();
                name.push(0);
            }
            // SAFETY: live session or NULL, NUL-terminated name, writable tensor or NULL.
            check(unsafe { pnn_session_output_by_name(session, name.as_ptr().cast(), tensor_ptr) })
        };
        let mut size = None;
        if status == PnnStatus::PNN_OK {
            // SAFETY: written on PNN_OK.
            let tensor = unsafe { tensor.assume_init() };
            read_tensor(&tensor);
            size = Some(tensor.byte_len);
        }
        // Copies into buffers of right and wrong sizes, with right and wrong dtypes.
        let dtype = if u.ratio(1, 4)? {
            u.arbitrary::<i32>()?
        } else {
            1
        };
        let mut needed = usize::MAX;
        let capacity = match (u.int_in_range(0..=4u8)?, size) {
            (0, _) => 0,
            (1, Some(n)) => n.saturating_sub(1),
            (2, Some(n)) => n + 8,
            (3, _) => u.int_in_range(0..=1024usize)?,
            (_, Some(n)) => n,
            (_, None) => 400,
        }
        .min(MAX_INPUT_BYTES);
        let mut dst = vec![0u8; capacity + 1];
        let shift = usize::from(u.arbitrary::<bool>()?);
        let dst_ptr = if capacity == 0 && u.arbitrary::<bool>()? {
            ptr::null_mut()
        } else {
            dst[shift..].as_mut_ptr().cast::<c_void>()
        };
        let out_len = if u.ratio(1, 4)? {
            ptr::null_mut()
        } else {
            &mut needed as *mut usize
        };
        // SAFETY: live session or NULL; dst writable for `capacity` bytes or
        // NULL with capacity 0; out_len writable or NULL.
        let status = check(unsafe {
            pnn_session_copy_output(session, index, dtype, dst_ptr, capacity, out_len)
        });
        if status == PnnStatus::PNN_OK {
            assert!(!out_len.is_null() || needed == usize::MAX);
            if !out_len.is_null() {
                assert!(needed <= capacity);
            }
        } else if status == PnnStatus::PNN_ERROR_BUFFER_TOO_SMALL && !out_len.is_null() {
            assert!(needed > capacity);
        }
        Ok(())
    }
}
