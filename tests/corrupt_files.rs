//! Corrupt `.pnn` files made from real models (seed_mlp, seed_cnn and
//! EfficientNet-Lite0 from the shared models, converted in the test):
//! truncated at every section boundary and at random offsets, bytes flipped
//! with and without recomputed checksums, sections swapped, moved,
//! overlapping or pointing past the end, huge dimensions, hostile
//! attributes and rewired graphs. Every case must end in a typed error, or
//! (where the corruption keeps the file valid) in a load followed by a run
//! that succeeds or returns an error — never a panic or a hang. Each test
//! prints how many cases it tried and how they ended.

#[path = "corrupt/edits.rs"]
mod edits;
#[path = "corrupt/harness.rs"]
mod harness;

use edits::Editable;
use harness::{
    COUNT_AT, ENTRY, Expect, FILE_LEN_AT, HEADER, Rng, Subject, Tally, entries, fix, put_u32,
    put_u64, subject, u64_at,
};
use pocketnn::{Error, Model, Session, SessionOptions, TensorView};
use std::sync::OnceLock;

/// The three real models, converted once per test binary. Under qemu
/// (aarch64 cross-testing) only seed_mlp: every case of the large models
/// copies and checksums 20-26 MB, minutes of emulated time.
fn subjects() -> &'static [Subject] {
    static SUBJECTS: OnceLock<Vec<Subject>> = OnceLock::new();
    SUBJECTS.get_or_init(|| {
        let mut all = vec![subject("seed_mlp", "seed_mlp.onnx")];
        if !cfg!(target_arch = "aarch64") {
            all.push(subject("seed_cnn", "seed_cnn.onnx"));
            all.push(subject("efficientnet_lite0", "efficientnet_lite0.onnx"));
        }
        all
    })
}

/// Every interesting cut point: around the header, the table and each
/// section's start and end.
fn boundaries(b: &[u8]) -> Vec<usize> {
    let count = entries(b).len();
    let table_end = HEADER + ENTRY * count;
    let mut cuts = vec![0, 1, 7, 8, 12, 16, 24, 28, 32, 63, 64];
    cuts.extend([table_end - 1, table_end, table_end + 1]);
    for e in entries(b) {
        let (start, end) = (e.offset as usize, (e.offset + e.len) as usize);
        cuts.extend([start.saturating_sub(1), start, start + 1]);
        cuts.extend([end.saturating_sub(1), end, end + 1]);
    }
    cuts.retain(|&c| c < b.len());
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

#[test]
fn truncated_files_are_refused() {
    let mut total = Tally::default();
    for s in subjects() {
        let mut tally = Tally::default();
        let mut rng = Rng(0x7412_0001);
        let mut cuts = boundaries(&s.bytes);
        let n_boundaries = cuts.len();
        cuts.extend((0..200).map(|_| rng.below(s.bytes.len())));
        let sections_end = entries(&s.bytes)
            .iter()
            .map(|e| (e.offset + e.len) as usize)
            .max()
            .unwrap_or(0);
        for &cut in &cuts {
            let short = &s.bytes[..cut];
            let label = || format!("{}: truncated at {cut}", s.name);
            tally.case(&label, short, Expect::LoadError);
            // The same with the header's length and checksums made to
            // match: the sections themselves now run past the end.
            let mut fixed = short.to_vec();
            fix(&mut fixed, true);
            let expect = if cut < sections_end {
                Expect::LoadError
            } else {
                Expect::NoCrash
            };
            let label = || format!("{}: truncated at {cut}, header fixed", s.name);
            tally.case(&label, &fixed, expect);
        }
        // Garbage appended is refused too (file_len no longer matches).
        let mut long = s.bytes.clone();
        long.extend_from_slice(&[0xAB; 100]);
        tally.case(
            &|| format!("{}: 100 bytes appended", s.name),
            &long,
            Expect::LoadError,
        );
        println!(
            "{}: {} boundary cuts + 200 random cuts, each raw and with a fixed header",
            s.name, n_boundaries
        );
        tally.finish(s.name);
        total.add(tally);
    }
    total.finish("truncations, all models");
}

#[test]
fn flipped_bytes_are_refused_or_harmless() {
    let mut total = Tally::default();
    for s in subjects() {
        let mut tally = Tally::default();
        let mut rng = Rng(0x7412_0002);
        let covered = |pos: usize| {
            let table_end = HEADER + ENTRY * entries(&s.bytes).len();
            pos < table_end
                || entries(&s.bytes)
                    .iter()
                    .any(|e| (e.offset as usize..(e.offset + e.len) as usize).contains(&pos))
        };
        // Checksums as stored: every flip inside the header, the table or
        // a section is caught (bytes between sections are not read).
        for round in 0..300 {
            let mut b = s.bytes.clone();
            let flips = 1 + round % 4;
            let mut any_covered = false;
            for _ in 0..flips {
                let pos = rng.below(b.len());
                b[pos] ^= 1 << rng.below(8);
                any_covered |= covered(pos);
            }
            let expect = if any_covered {
                Expect::LoadError
            } else {
                Expect::NoCrash
            };
            tally.case(
                &|| format!("{}: {flips} flips, round {round}", s.name),
                &b,
                expect,
            );
        }
        // Checksums recomputed: the flip reaches the decoder, the validator
        // and (for weights) the kernels. Half the flips aim at the structure
        // sections (everything before the tensor data).
        let data_start = entries(&s.bytes)
            .iter()
            .filter(|e| e.kind == 4)
            .map(|e| e.offset as usize)
            .next()
            .unwrap_or(s.bytes.len());
        let rounds = if s.name == "efficientnet_lite0" {
            150
        } else {
            400
        };
        for round in 0..rounds {
            let mut b = s.bytes.clone();
            let flips = 1 + round % 3;
            for _ in 0..flips {
                let pos = if round % 2 == 0 {
                    HEADER + rng.below(data_start - HEADER)
                } else {
                    rng.below(b.len())
                };
                b[pos] ^= 1 << rng.below(8);
            }
            fix(&mut b, false);
            let label = || {
                format!(
                    "{}: {flips} flips with fixed checksums, round {round}",
                    s.name
                )
            };
            tally.case(&label, &b, Expect::NoCrash);
        }
        tally.finish(s.name);
        total.add(tally);
    }
    total.finish("byte flips, all models");
}

/// Applies `edit` to a copy, fixes the header CRC (and section CRCs), and
/// runs the case.
fn table_case(
    tally: &mut Tally,
    s: &Subject,
    what: &str,
    expect: Expect,
    edit: impl FnOnce(&mut Vec<u8>),
) {
    let mut b = s.bytes.clone();
    edit(&mut b);
    fix(&mut b, false);
    tally.case(&|| format!("{}: {what}", s.name), &b, expect);
}

#[test]
fn section_table_corruptions_are_refused() {
    let mut total = Tally::default();
    for s in subjects() {
        let mut tally = Tally::default();
        let table = entries(&s.bytes);
        let file_len = s.bytes.len() as u64;
        for (i, a) in table.iter().enumerate() {
            // offsets and lengths past the end, into the header, overflowing
            let bad: [(u64, u64); 7] = [
                (file_len, a.len),
                (file_len - a.len / 2, a.len),
                (a.offset, file_len),
                (a.offset, u64::MAX),
                (u64::MAX - 8, 16),
                (8, a.len),
                (a.offset + 1, a.len),
            ];
            for (k, (offset, len)) in bad.into_iter().enumerate() {
                let what = format!("section {i} offset {offset} len {len} (variant {k})");
                table_case(&mut tally, s, &what, Expect::LoadError, |b| {
                    put_u64(b, a.at + 8, offset);
                    put_u64(b, a.at + 16, len);
                });
            }
            // unknown, duplicate and out-of-range kinds
            for kind in [0, 99, u32::MAX] {
                let what = format!("section {i} kind {kind}");
                table_case(&mut tally, s, &what, Expect::LoadError, |b| {
                    put_u32(b, a.at, kind)
                });
            }
            // flags and reserved fields
            table_case(
                &mut tally,
                s,
                &format!("section {i} flags"),
                Expect::LoadError,
                |b| put_u32(b, a.at + 4, 1),
            );
            table_case(
                &mut tally,
                s,
                &format!("section {i} reserved"),
                Expect::LoadError,
                |b| put_u32(b, a.at + 28, 7),
            );
            for (j, other) in table.iter().enumerate().filter(|(j, _)| *j != i) {
                // a section that starts inside another one
                if other.len > 1 {
                    let what = format!("section {i} overlaps section {j}");
                    let offset = other.offset + other.len / 2;
                    table_case(&mut tally, s, &what, Expect::LoadError, |b| {
                        put_u64(b, a.at + 8, offset)
                    });
                }
                // two entries swap their places: each kind reads the other's bytes
                if j > i {
                    let what = format!("sections {i} and {j} swapped");
                    table_case(&mut tally, s, &what, Expect::LoadError, |b| {
                        for field in [8, 16] {
                            let (x, y) = (u64_at(b, a.at + field), u64_at(b, other.at + field));
                            put_u64(b, a.at + field, y);
                            put_u64(b, other.at + field, x);
                        }
                    });
                    let what = format!("section {i} duplicates the kind of {j}");
                    table_case(&mut tally, s, &what, Expect::LoadError, |b| {
                        put_u32(b, a.at, other.kind)
                    });
                }
            }
        }
        // header fields
        let header_edits: [(&str, usize, u64, usize); 7] = [
            ("magic", 0, 0x4E4E_5445_4B43_4F51, 8),
            ("major version", 8, 2, 2),
            ("flags", 12, 1, 4),
            ("section count 0", COUNT_AT, 0, 4),
            ("section count +1", COUNT_AT, table.len() as u64 + 1, 4),
            ("section count huge", COUNT_AT, u32::MAX as u64, 4),
            ("file_len", FILE_LEN_AT, file_len + 1, 8),
        ];
        for (what, at, value, width) in header_edits {
            table_case(&mut tally, s, what, Expect::LoadError, |b| {
                b[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
            });
        }
        // a newer minor version is read (its reserved fields are ignored)
        table_case(&mut tally, s, "minor version 9", Expect::Runs, |b| {
            b[10..12].copy_from_slice(&9u16.to_le_bytes())
        });
        // the table in reverse order: sections may be listed in any order
        table_case(&mut tally, s, "table reversed", Expect::Runs, |b| {
            let count = table.len();
            let rows: Vec<Vec<u8>> = (0..count)
                .map(|i| b[HEADER + ENTRY * i..HEADER + ENTRY * (i + 1)].to_vec())
                .collect();
            for (i, row) in rows.iter().rev().enumerate() {
                b[HEADER + ENTRY * i..HEADER + ENTRY * (i + 1)].copy_from_slice(row);
            }
        });
        tally.finish(s.name);
        total.add(tally);
    }
    total.finish("section table, all models");
}

/// Writes the sections in another physical order (the tensor data first,
/// then the others reversed) and fixes the table: a valid file that must
/// load and give bit-identical outputs.
#[test]
fn sections_moved_to_another_order_still_load_and_agree() {
    for s in subjects() {
        let table = entries(&s.bytes);
        let table_end = HEADER + ENTRY * table.len();
        let mut order: Vec<usize> = (0..table.len()).collect();
        order.sort_by_key(|&i| (table[i].kind != 4, std::cmp::Reverse(i)));
        let mut out = s.bytes[..table_end].to_vec();
        for i in order {
            let e = table[i];
            while out.len() % 64 != 0 {
                out.push(0);
            }
            let offset = out.len() as u64;
            out.extend_from_slice(&s.bytes[e.offset as usize..(e.offset + e.len) as usize]);
            put_u64(&mut out, e.at + 8, offset);
        }
        fix(&mut out, true);
        assert_ne!(out, s.bytes);
        let original = Model::from_bytes(&s.bytes).expect("original loads");
        let moved = Model::from_bytes(&out).expect("moved sections load");
        let inputs = harness::inputs_for(&original).expect("inputs");
        let feeds: Vec<(&str, TensorView<'_>)> =
            inputs.iter().map(|(n, t)| (n.as_str(), t.view())).collect();
        let mut a = Session::new(&original, SessionOptions::default()).unwrap();
        let mut b = Session::new(&moved, SessionOptions::default()).unwrap();
        let (ra, rb) = (a.run_views(&feeds).unwrap(), b.run_views(&feeds).unwrap());
        for ((na, va), (nb, vb)) in ra.iter().zip(rb.iter()) {
            assert_eq!(na, nb);
            assert_eq!(va.bytes(), vb.bytes(), "{}: output {na}", s.name);
        }
        println!(
            "{}: sections rewritten in another order: same outputs",
            s.name
        );
    }
}

#[test]
fn huge_dimensions_hostile_attributes_and_rewired_graphs() {
    let mut total = Tally::default();
    for s in subjects() {
        let mut tally = Tally::default();
        let mut rng = Rng(0x7412_0003);
        let base = Editable::decode(&s.bytes);
        let big = s.name == "efficientnet_lite0";
        edits::huge_dimension_cases(
            &base,
            s.name,
            if big { 12 } else { 30 },
            &mut rng,
            &mut tally,
        );
        edits::attribute_cases(
            &base,
            s.name,
            if big { 4 } else { 64 },
            &mut rng,
            &mut tally,
        );
        edits::graph_cases(
            &base,
            s.name,
            if big { 10 } else { 64 },
            &mut rng,
            &mut tally,
        );
        edits::tensor_value_cases(&base, s.name, &mut rng, &mut tally);
        tally.finish(s.name);
        total.add(tally);
    }
    total.finish("structured edits, all models");
}

/// A float view of `shape` over the first elements of `floats`.
fn view<'a>(floats: &'a [f32], shape: &'a [usize]) -> TensorView<'a> {
    TensorView::from_slice(shape, &floats[..shape.iter().product()]).unwrap()
}

#[test]
fn wrong_inputs_at_run_are_typed_errors() {
    let mut cases = 0;
    for s in subjects() {
        let model = Model::from_bytes(&s.bytes).unwrap();
        let mut session = Session::new(&model, SessionOptions::default()).unwrap();
        let inputs = harness::inputs_for(&model).expect("inputs");
        let (name, good) = (&inputs[0].0, &inputs[0].1);
        let shape = good.shape().to_vec();
        let floats = vec![0.25f32; good.view().len() * 2 + 8];
        let ints = vec![1i64; good.view().len()];
        let mut check =
            |feeds: &[(&str, TensorView<'_>)], ok: &dyn Fn(&Error) -> bool, what: &str| {
                cases += 1;
                match session.run_views(feeds) {
                    Err(e) => assert!(ok(&e), "{}: {what}: unexpected {e:?}", s.name),
                    Ok(_) => panic!("{}: {what}: ran", s.name),
                }
            };
        check(
            &[("nope", good.view())],
            &|e| matches!(e, Error::UnknownInput { .. }),
            "unknown name",
        );
        check(
            &[],
            &|e| matches!(e, Error::MissingInput { .. }),
            "no inputs",
        );
        check(
            &[(name, good.view()), (name, good.view())],
            &|e| matches!(e, Error::DuplicateInput { .. }),
            "duplicate",
        );
        check(
            &[(name, TensorView::from_slice(&shape, &ints).unwrap())],
            &|e| matches!(e, Error::InputDType { .. }),
            "i64 instead of f32",
        );
        let mut wrong_rank = shape.clone();
        wrong_rank.push(1);
        check(
            &[(name, view(&floats, &wrong_rank))],
            &|e| matches!(e, Error::InputShape { .. }),
            "rank + 1",
        );
        check(
            &[(name, view(&floats, &shape[1..]))],
            &|e| matches!(e, Error::InputShape { .. }),
            "rank - 1",
        );
        for axis in 1..shape.len() {
            let mut wrong = shape.clone();
            wrong[axis] += 1;
            check(
                &[(name, view(&floats, &wrong))],
                &|e| matches!(e, Error::InputShape { .. }),
                "fixed dim + 1",
            );
        }
        // A batch of zero is a valid shape: it runs or fails, typed.
        let mut empty = shape.clone();
        empty[0] = 0;
        cases += 1;
        let _ = session
            .run_views(&[(name, view(&floats, &empty))])
            .map(|o| o.len());
        // and the session still runs correct inputs afterwards
        assert!(session.run_views(&[(name, good.view())]).is_ok());
    }
    println!("wrong inputs at run: {cases} cases, all typed errors");
}
