//! JNI: sessions, running and reading outputs (`org.pocketnn.Native.session*`).

use super::model::{checked_index, direct_bytes, direct_parts};
use super::{entry, jni_error, model_ref, non_null, session_mut};
use crate::handles::{InputKey, InputRef, PnnSession, shape_from_dims};
use crate::status::{FfiError, PnnStatus, dtype_from_code};
use jni::JNIEnv;
use jni::objects::{JByteBuffer, JClass, JIntArray, JLongArray, JObjectArray, JString};
use jni::sys::{jint, jlong, jlongArray};

/// A new Java `long[]` holding `values`.
pub(super) fn long_array(env: &mut JNIEnv<'_>, values: &[i64]) -> Result<jlongArray, FfiError> {
    let length = i32::try_from(values.len()).map_err(|_| {
        FfiError::new(
            PnnStatus::PNN_ERROR_RUNTIME,
            "shape too long for a Java array",
        )
    })?;
    let array = env.new_long_array(length).map_err(jni_error("long[]"))?;
    env.set_long_array_region(&array, 0, values)
        .map_err(jni_error("long[]"))?;
    Ok(array.into_raw())
}

/// `long Native.sessionCreate(long model, int threads)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_sessionCreate<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    model: jlong,
    threads: jint,
) -> jlong {
    entry(&mut env, 0, |_| {
        // SAFETY: a live handle from Model (or 0: an error).
        let model = unsafe { model_ref(model) }?;
        let threads = usize::try_from(threads).map_err(|_| {
            FfiError::new(
                PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
                format!("{threads} threads: the count cannot be negative"),
            )
        })?;
        let session = PnnSession::new(model, threads)?;
        Ok(Box::into_raw(Box::new(session)) as jlong)
    })
}

/// `void Native.sessionDestroy(long session)`; 0 is ignored.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_sessionDestroy<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    session: jlong,
) {
    entry(&mut env, (), |_| {
        if session != 0 {
            // SAFETY: Java gives each handle back once (Session.close zeroes
            // it under a lock); it came from Box::into_raw in sessionCreate.
            drop(unsafe { Box::from_raw(session as *mut PnnSession) });
        }
        Ok(())
    })
}

/// The Java arrays of one `sessionRun` call.
struct RunArrays<'a, 'local> {
    names: &'a JObjectArray<'local>,
    dtypes: &'a JIntArray<'local>,
    shapes: &'a JObjectArray<'local>,
    data: &'a JObjectArray<'local>,
}

/// `void Native.sessionRun(long session, String[] names, int[] dtypes,
/// long[][] shapes, ByteBuffer[] data)`: input `i` is `names[i]` (null:
/// position `i`), of dtype code `dtypes[i]`, shape `shapes[i]`, and the
/// bytes of the direct buffer `data[i]`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_sessionRun<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    session: jlong,
    names: JObjectArray<'local>,
    dtypes: JIntArray<'local>,
    shapes: JObjectArray<'local>,
    data: JObjectArray<'local>,
) {
    entry(&mut env, (), |env| {
        // SAFETY: a live handle that Java uses from one thread at a time
        // (Session methods are synchronized), or 0: an error.
        let session = unsafe { session_mut(session) }?;
        let arrays = RunArrays {
            names: &names,
            dtypes: &dtypes,
            shapes: &shapes,
            data: &data,
        };
        run(env, session, &arrays)
    })
}

fn run(env: &mut JNIEnv<'_>, session: &mut PnnSession, arrays: &RunArrays) -> Result<(), FfiError> {
    non_null(arrays.names, "names")?;
    non_null(arrays.dtypes, "dtypes")?;
    non_null(arrays.shapes, "shapes")?;
    non_null(arrays.data, "data")?;
    let count = env
        .get_array_length(arrays.names)
        .map_err(jni_error("names"))?;
    for (array, what) in [(arrays.shapes, "shapes"), (arrays.data, "data")] {
        if env.get_array_length(array).map_err(jni_error(what))? != count {
            return Err(FfiError::new(
                PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
                format!("`names` and `{what}` differ in length"),
            ));
        }
    }
    let mut dtypes = vec![0; usize::try_from(count).unwrap_or(0)];
    if env
        .get_array_length(arrays.dtypes)
        .map_err(jni_error("dtypes"))?
        != count
    {
        return Err(FfiError::new(
            PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
            "`names` and `dtypes` differ in length",
        ));
    }
    env.get_int_array_region(arrays.dtypes, 0, &mut dtypes)
        .map_err(jni_error("dtypes"))?;
    let declared = session.model.inputs.len();
    if dtypes.len() > declared {
        return Err(FfiError::new(
            PnnStatus::PNN_ERROR_INVALID_ARGUMENT,
            format!("{} inputs given, the model has {declared}", dtypes.len()),
        ));
    }
    // Keep the Java objects alive (local references) while their bytes are
    // borrowed by the inputs.
    let mut names = Vec::with_capacity(dtypes.len());
    let mut buffers = Vec::with_capacity(dtypes.len());
    let mut shapes = Vec::with_capacity(dtypes.len());
    for (position, &dtype) in dtypes.iter().enumerate() {
        let i = i32::try_from(position).unwrap_or(i32::MAX);
        let context = |mut e: FfiError| {
            e.message = format!("input {position}: {}", e.message);
            e
        };
        let name = JString::from(
            env.get_object_array_element(arrays.names, i)
                .map_err(jni_error("names"))?,
        );
        names.push(if name.is_null() {
            None
        } else {
            Some(String::from(
                env.get_string(&name).map_err(jni_error("names"))?,
            ))
        });
        let shape = JLongArray::from(
            env.get_object_array_element(arrays.shapes, i)
                .map_err(jni_error("shapes"))?,
        );
        non_null(&shape, "shape").map_err(context)?;
        let rank = env.get_array_length(&shape).map_err(jni_error("shape"))?;
        let mut dims = vec![0i64; usize::try_from(rank).unwrap_or(0)];
        env.get_long_array_region(&shape, 0, &mut dims)
            .map_err(jni_error("shape"))?;
        shapes.push((
            dtype_from_code(dtype).map_err(context)?,
            shape_from_dims(&dims).map_err(context)?,
        ));
        let buffer = JByteBuffer::from(
            env.get_object_array_element(arrays.data, i)
                .map_err(jni_error("data"))?,
        );
        non_null(&buffer, "data").map_err(context)?;
        buffers.push(buffer);
    }
    let mut inputs = Vec::with_capacity(dtypes.len());
    for (position, ((name, (dtype, shape)), buffer)) in
        names.iter().zip(shapes).zip(&buffers).enumerate()
    {
        inputs.push(InputRef {
            key: match name {
                Some(name) => InputKey::Name(name),
                None => InputKey::Index(position),
            },
            dtype,
            shape,
            data: direct_bytes(env, buffer, "data")?,
        });
    }
    session.run(&inputs)
}

/// `int Native.sessionOutputDType(long session, int index)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_sessionOutputDType<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    session: jlong,
    index: jint,
) -> jint {
    entry(&mut env, 0, |_| {
        // SAFETY: a live handle used by one thread at a time, or 0.
        let session = unsafe { session_mut(session) }?;
        let (_, record) = session.output(checked_index(index)?)?;
        Ok(crate::status::PnnDType::from(record.dtype) as jint)
    })
}

/// `long[] Native.sessionOutputShape(long session, int index)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_sessionOutputShape<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    session: jlong,
    index: jint,
) -> jlongArray {
    entry(&mut env, std::ptr::null_mut(), |env| {
        // SAFETY: a live handle used by one thread at a time, or 0.
        let session = unsafe { session_mut(session) }?;
        let (_, record) = session.output(checked_index(index)?)?;
        long_array(env, &record.shape)
    })
}

/// `long Native.sessionOutputByteLength(long session, int index)`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_sessionOutputByteLength<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    session: jlong,
    index: jint,
) -> jlong {
    entry(&mut env, 0, |_| {
        // SAFETY: a live handle used by one thread at a time, or 0.
        let session = unsafe { session_mut(session) }?;
        let (_, record) = session.output(checked_index(index)?)?;
        let length = session.output_bytes(record).len();
        Ok(jlong::try_from(length).unwrap_or(jlong::MAX))
    })
}

/// `void Native.sessionCopyOutput(long session, int index, int dtype,
/// ByteBuffer dst)`: copies output `index` (which must have dtype code
/// `dtype`) into the direct buffer `dst`, whose capacity is checked.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_pocketnn_Native_sessionCopyOutput<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    session: jlong,
    index: jint,
    dtype: jint,
    dst: JByteBuffer<'local>,
) {
    entry(&mut env, (), |env| {
        // SAFETY: a live handle used by one thread at a time, or 0.
        let session = unsafe { session_mut(session) }?;
        non_null(&dst, "dst")?;
        let expected = dtype_from_code(dtype)?;
        let (address, capacity) = direct_parts(env, &dst, "dst")?;
        let target: &mut [u8] = if capacity == 0 {
            &mut []
        } else {
            // SAFETY: the JVM reports `address` (not NULL) as the start of
            // the direct buffer's `capacity` bytes; `dst` keeps it reachable
            // during the call, it never moves, and nothing else in this call
            // reads or writes it (the session's memory is its own).
            unsafe { std::slice::from_raw_parts_mut(address, capacity) }
        };
        session.copy_output(checked_index(index)?, expected, target)?;
        Ok(())
    })
}
