//! Shared by the fuzz targets.
#![allow(dead_code)]

use pocketnn_format::{PnnFile, PnnWriter, TENSOR_ALIGN, TensorSpec};

/// Parses `data`; on success reads every tensor's bytes and checks the
/// guarantees the reader documents.
pub fn parse_and_touch(data: &[u8]) {
    let Ok(file) = PnnFile::parse(data) else {
        return;
    };
    let mut checksum = 0u8;
    for id in 0..file.model().tensors.len() as u32 {
        let bytes = file.tensor_data(id).expect("a validated tensor has data");
        let range = file
            .tensor_range(id)
            .expect("a validated tensor has a range");
        assert_eq!(range.start % TENSOR_ALIGN, 0, "tensor {id} misaligned");
        assert_eq!(bytes, &data[range], "tensor {id} slice");
        checksum ^= bytes.iter().fold(0, |acc, b| acc ^ b);
    }
    std::hint::black_box(checksum);
}

/// A file the reader accepts must be writable by the writer, and reading
/// the rewritten file must give the same model (up to tensor placement).
pub fn rewrite_round_trip(data: &[u8]) {
    let Ok(file) = PnnFile::parse(data) else {
        return;
    };
    let model = file.model();
    let mut writer = PnnWriter::new(model.metadata.clone(), model.graph.clone());
    for (id, entry) in model.tensors.iter().enumerate() {
        let spec = TensorSpec {
            name: entry.name.clone(),
            dtype: entry.dtype,
            shape: entry.shape.clone(),
            layout: entry.layout.clone(),
            quant: entry.quant.clone(),
        };
        writer.add_tensor(spec, file.tensor_data(id as u32).expect("tensor data"));
    }
    let rewritten = writer
        .to_bytes()
        .expect("the writer accepts what the reader accepts");
    let again = PnnFile::parse(&rewritten).expect("the reader accepts what the writer writes");
    // Debug strings compare NaN attribute values as equal.
    let (before, after) = (model, again.model());
    assert_eq!(
        format!("{:?}", before.metadata),
        format!("{:?}", after.metadata)
    );
    assert_eq!(format!("{:?}", before.graph), format!("{:?}", after.graph));
    for (id, (a, b)) in before.tensors.iter().zip(&after.tensors).enumerate() {
        assert_eq!(
            (&a.name, a.dtype, &a.shape, &a.layout),
            (&b.name, b.dtype, &b.shape, &b.layout)
        );
        assert_eq!(format!("{:?}", a.quant), format!("{:?}", b.quant));
        assert_eq!(file.tensor_data(id as u32), again.tensor_data(id as u32));
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    if let Some(field) = bytes.get_mut(at..at + 4) {
        field.copy_from_slice(&v.to_le_bytes());
    }
}

/// Recomputes each in-bounds section CRC, then the header CRC (over the
/// 64-byte header with the CRC field zeroed, followed by the section table).
pub fn fix_checksums(bytes: &mut [u8]) {
    let Some(count) = u32_at(bytes, 24) else {
        return;
    };
    let count = (count as usize).min(4096);
    for i in 0..count {
        let entry = 64 + 32 * i;
        let (Some(offset), Some(len)) = (u64_at(bytes, entry + 8), u64_at(bytes, entry + 16))
        else {
            return;
        };
        let range = usize::try_from(offset)
            .ok()
            .and_then(|start| Some(start..start.checked_add(usize::try_from(len).ok()?)?));
        if let Some(section) = range.and_then(|r| bytes.get(r)) {
            let crc = crc32(section);
            put_u32(bytes, entry + 24, crc);
        }
    }
    let table_end = 64 + 32 * count;
    if table_end <= bytes.len() {
        put_u32(bytes, 28, 0);
        let crc = crc32(&bytes[..table_end]);
        put_u32(bytes, 28, crc);
    }
}

/// CRC-32/ISO-HDLC, one table lookup per byte: the fuzz crate does not
/// share the reader's CRC code.
fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = i as u32;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
                bit += 1;
            }
            table[i] = crc;
            i += 1;
        }
        table
    };
    let mut crc = !0u32;
    for &byte in bytes {
        crc = TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}
