//! The student description: `mlp:784-64-10` or `cnn:c16k3-p2-c32k3-p2-f64-f10`.
//!
//! Grammar (`docs/distill.md`):
//!
//! ```text
//! spec  = "mlp:" size ("-" size)+          dense stack, input size first
//!       | "cnn:" item ("-" item)*          ends with an "f" item
//! item  = "c" size "k" size                Conv2d: N outputs, kernel K, padding K/2, ReLU
//!       | "p" size                         MaxPool: window S, stride S
//!       | "f" size                         fully connected, ReLU except the last
//! size  = digits (1 ..= 65536)
//! ```

use std::fmt;

/// Largest size accepted in a spec (channels, units, kernel, pool window).
pub const MAX_SIZE: usize = 65_536;

/// One layer group of a CNN student.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CnnItem {
    /// Conv2d with `outputs` channels, a `kernel`×`kernel` window, stride 1,
    /// padding `kernel / 2`, then ReLU.
    Conv {
        /// Output channels.
        outputs: usize,
        /// Kernel height and width.
        kernel: usize,
    },
    /// Max pooling over `size`×`size` windows with stride `size`.
    Pool {
        /// Window and stride.
        size: usize,
    },
    /// Fully connected layer with `outputs` units (ReLU after it unless it
    /// is the last item).
    Dense {
        /// Output units.
        outputs: usize,
    },
}

/// A parsed student description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StudentSpec {
    /// A dense stack: `sizes[0]` inputs (the sample is flattened), then one
    /// fully connected layer per further size, ReLU between them.
    Mlp {
        /// Input size, hidden sizes, class count.
        sizes: Vec<usize>,
    },
    /// Convolutions and pools on a `[C, H, W]` sample, then fully connected
    /// layers (a Flatten is inserted before the first of them).
    Cnn {
        /// The items in order.
        items: Vec<CnnItem>,
    },
}

/// What is wrong with a spec, and where (byte offset into the text).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("student spec, at position {position}: {kind}")]
pub struct SpecError {
    /// Byte offset of the problem in the spec text.
    pub position: usize,
    /// The problem.
    pub kind: SpecErrorKind,
}

/// The kinds of spec error.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecErrorKind {
    /// The text does not start with `mlp:` or `cnn:`.
    UnknownFamily,
    /// A number was expected here.
    ExpectedNumber,
    /// A number is 0 or above [`MAX_SIZE`].
    SizeOutOfRange,
    /// This character does not belong here.
    Unexpected(char),
    /// A CNN item (`c`, `p` or `f`) was expected here.
    ExpectedItem,
    /// A convolution's `k` (kernel size) was expected here.
    ExpectedKernel,
    /// An MLP needs an input size and at least one layer size.
    TooFewSizes,
    /// A CNN must end with a fully connected (`f`) item.
    MustEndWithDense,
    /// A convolution or pool after a fully connected item.
    SpatialAfterDense,
}

impl fmt::Display for SpecErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecErrorKind::UnknownFamily => write!(f, "expected `mlp:` or `cnn:`"),
            SpecErrorKind::ExpectedNumber => write!(f, "expected a number"),
            SpecErrorKind::SizeOutOfRange => write!(f, "sizes must be 1 to {MAX_SIZE}"),
            SpecErrorKind::Unexpected(c) => write!(f, "unexpected `{c}`"),
            SpecErrorKind::ExpectedItem => write!(f, "expected an item: cNkK, pS or fN"),
            SpecErrorKind::ExpectedKernel => write!(f, "expected `k` and a kernel size"),
            SpecErrorKind::TooFewSizes => {
                write!(
                    f,
                    "an mlp needs an input size and at least one layer, e.g. mlp:784-10"
                )
            }
            SpecErrorKind::MustEndWithDense => {
                write!(f, "a cnn must end with a fully connected item, e.g. -f10")
            }
            SpecErrorKind::SpatialAfterDense => {
                write!(
                    f,
                    "convolutions and pools must come before the first `f` item"
                )
            }
        }
    }
}

/// A cursor over the spec text.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn error(&self, kind: SpecErrorKind) -> SpecError {
        SpecError {
            position: self.pos,
            kind,
        }
    }

    fn peek(&self) -> Option<char> {
        self.text
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn unexpected_or(&self, kind: SpecErrorKind) -> SpecError {
        match self.peek() {
            Some(c) => self.error(SpecErrorKind::Unexpected(c)),
            None => self.error(kind),
        }
    }

    /// A decimal size in `1..=MAX_SIZE`.
    fn size(&mut self) -> Result<usize, SpecError> {
        let start = self.pos;
        let mut value: usize = 0;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            value = value.saturating_mul(10).saturating_add(d as usize);
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.unexpected_or(SpecErrorKind::ExpectedNumber));
        }
        if value == 0 || value > MAX_SIZE {
            return Err(SpecError {
                position: start,
                kind: SpecErrorKind::SizeOutOfRange,
            });
        }
        Ok(value)
    }
}

impl StudentSpec {
    /// Parses a spec such as `mlp:784-64-10` or `cnn:c16k3-p2-f10`.
    pub fn parse(text: &str) -> Result<StudentSpec, SpecError> {
        let mut cur = Cursor { text, pos: 0 };
        if let Some(rest) = text.strip_prefix("mlp:") {
            cur.pos = text.len() - rest.len();
            let mut sizes = vec![cur.size()?];
            while cur.eat('-') {
                sizes.push(cur.size()?);
            }
            if let Some(c) = cur.peek() {
                return Err(cur.error(SpecErrorKind::Unexpected(c)));
            }
            if sizes.len() < 2 {
                return Err(cur.error(SpecErrorKind::TooFewSizes));
            }
            return Ok(StudentSpec::Mlp { sizes });
        }
        let Some(rest) = text.strip_prefix("cnn:") else {
            return Err(cur.error(SpecErrorKind::UnknownFamily));
        };
        cur.pos = text.len() - rest.len();
        let mut items = Vec::new();
        loop {
            let item_start = cur.pos;
            let item = if cur.eat('c') {
                let outputs = cur.size()?;
                if !cur.eat('k') {
                    return Err(cur.unexpected_or(SpecErrorKind::ExpectedKernel));
                }
                CnnItem::Conv {
                    outputs,
                    kernel: cur.size()?,
                }
            } else if cur.eat('p') {
                CnnItem::Pool { size: cur.size()? }
            } else if cur.eat('f') {
                CnnItem::Dense {
                    outputs: cur.size()?,
                }
            } else {
                return Err(cur.unexpected_or(SpecErrorKind::ExpectedItem));
            };
            let after_dense = items.iter().any(|i| matches!(i, CnnItem::Dense { .. }));
            if after_dense && !matches!(item, CnnItem::Dense { .. }) {
                return Err(SpecError {
                    position: item_start,
                    kind: SpecErrorKind::SpatialAfterDense,
                });
            }
            items.push(item);
            if !cur.eat('-') {
                break;
            }
        }
        if let Some(c) = cur.peek() {
            return Err(cur.error(SpecErrorKind::Unexpected(c)));
        }
        if !matches!(items.last(), Some(CnnItem::Dense { .. })) {
            return Err(cur.error(SpecErrorKind::MustEndWithDense));
        }
        Ok(StudentSpec::Cnn { items })
    }
}

impl std::str::FromStr for StudentSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StudentSpec::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (usize, SpecErrorKind) {
        let e = StudentSpec::parse(text).expect_err(text);
        (e.position, e.kind)
    }

    #[test]
    fn parses_both_forms() {
        assert_eq!(
            StudentSpec::parse("mlp:784-64-10"),
            Ok(StudentSpec::Mlp {
                sizes: vec![784, 64, 10]
            })
        );
        assert_eq!(
            StudentSpec::parse("cnn:c16k3-p2-c32k5-p2-f64-f10"),
            Ok(StudentSpec::Cnn {
                items: vec![
                    CnnItem::Conv {
                        outputs: 16,
                        kernel: 3
                    },
                    CnnItem::Pool { size: 2 },
                    CnnItem::Conv {
                        outputs: 32,
                        kernel: 5
                    },
                    CnnItem::Pool { size: 2 },
                    CnnItem::Dense { outputs: 64 },
                    CnnItem::Dense { outputs: 10 },
                ]
            })
        );
        assert_eq!(
            "cnn:f10".parse::<StudentSpec>(),
            Ok(StudentSpec::Cnn {
                items: vec![CnnItem::Dense { outputs: 10 }]
            })
        );
    }

    #[test]
    fn errors_name_the_position() {
        assert_eq!(err("rnn:10"), (0, SpecErrorKind::UnknownFamily));
        assert_eq!(err("mlp:784"), (7, SpecErrorKind::TooFewSizes));
        assert_eq!(err("mlp:784-"), (8, SpecErrorKind::ExpectedNumber));
        assert_eq!(err("mlp:784-x"), (8, SpecErrorKind::Unexpected('x')));
        assert_eq!(err("mlp:784-0-10"), (8, SpecErrorKind::SizeOutOfRange));
        assert_eq!(
            err("mlp:99999999999999999999999-10"),
            (4, SpecErrorKind::SizeOutOfRange)
        );
        assert_eq!(err("mlp:784-10 "), (10, SpecErrorKind::Unexpected(' ')));
        assert_eq!(err("cnn:c16-f10"), (7, SpecErrorKind::Unexpected('-')));
        assert_eq!(err("cnn:c16k"), (8, SpecErrorKind::ExpectedNumber));
        assert_eq!(err("cnn:c16k3-p2"), (12, SpecErrorKind::MustEndWithDense));
        assert_eq!(err("cnn:f64-p2-f10"), (8, SpecErrorKind::SpatialAfterDense));
        assert_eq!(err("cnn:x"), (4, SpecErrorKind::Unexpected('x')));
        assert_eq!(err("cnn:"), (4, SpecErrorKind::ExpectedItem));
        assert_eq!(err("cnn:c16"), (7, SpecErrorKind::ExpectedKernel));
        assert_eq!(err("cnn:c16k3é"), (9, SpecErrorKind::Unexpected('é')));
    }
}
