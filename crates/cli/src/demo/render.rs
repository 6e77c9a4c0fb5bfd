//! ASCII pictures of 28×28 grey images, several side by side.

/// Width and height of an MNIST image, in pixels.
pub const SIDE: usize = 28;

/// From light to dark: the character for a pair of pixel rows.
const RAMP: &[u8] = b" .:-=+*#%@";

/// One image as `SIDE / 2` lines of `SIDE` characters: each character
/// shows the mean of two vertically adjacent pixels (values in 0..=1;
/// anything outside is clamped, NaN counts as 0), so the digit keeps its
/// proportions in a terminal whose cells are twice as tall as wide.
pub fn picture(pixels: &[f32]) -> Vec<String> {
    let at = |r: usize, c: usize| {
        let v = pixels.get(r * SIDE + c).copied().unwrap_or(0.0);
        if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) }
    };
    (0..SIDE / 2)
        .map(|line| {
            (0..SIDE)
                .map(|c| {
                    let mean = (at(2 * line, c) + at(2 * line + 1, c)) / 2.0;
                    let step = (mean * (RAMP.len() - 1) as f32).round() as usize;
                    RAMP[step.min(RAMP.len() - 1)] as char
                })
                .collect()
        })
        .collect()
}

/// Pictures with a caption under each, laid out side by side.
pub fn side_by_side(panels: &[(Vec<String>, String)]) -> String {
    let width = SIDE + 2;
    let lines = panels.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
    let mut out = String::new();
    for line in 0..lines {
        for (picture, _) in panels {
            let text = picture.get(line).map(String::as_str).unwrap_or("");
            out.push_str(&format!("|{text:<SIDE$}| "));
        }
        out.push('\n');
    }
    for (_, caption) in panels {
        out.push_str(&format!("{caption:^width$} "));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dark_pixels_get_dark_characters_and_rows_are_paired() {
        let mut pixels = vec![0.0f32; SIDE * SIDE];
        // Row 0 and 1, column 3: fully dark → '@'; row 2 only → half.
        pixels[3] = 1.0;
        pixels[SIDE + 3] = 1.0;
        pixels[2 * SIDE + 5] = 1.0;
        let lines = picture(&pixels);
        assert_eq!(lines.len(), 14);
        assert!(lines.iter().all(|l| l.chars().count() == SIDE));
        assert_eq!(lines[0].chars().nth(3), Some('@'));
        assert_eq!(lines[1].chars().nth(5), Some('+'));
        assert_eq!(lines[0].chars().filter(|&c| c != ' ').count(), 1);
    }

    #[test]
    fn out_of_range_values_are_clamped_not_a_panic() {
        let pixels = [f32::NAN, -3.0, 7.0, f32::INFINITY];
        let lines = picture(&pixels);
        // NaN and -3 are blank, 7 and +inf are full: half of a cell pair.
        assert_eq!(lines[0].chars().take(4).collect::<String>(), "  ++");
        // A short slice is padded with blank pixels.
        assert!(lines[5].chars().all(|c| c == ' '));
    }

    #[test]
    fn panels_are_framed_with_captions() {
        let panel = (vec!["ab".to_string()], "7".to_string());
        let text = side_by_side(&[panel.clone(), panel]);
        let first = text.lines().next().unwrap();
        assert_eq!(first.matches('|').count(), 4);
        assert!(text.lines().nth(1).unwrap().contains('7'));
    }
}
