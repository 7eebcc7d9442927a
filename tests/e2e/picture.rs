//! The PNG pictures `--plot` draws, decoded for the tests: their size, and how many pixels of
//! a colour a region holds (so that a test can tell a drawn series from a blank chart).

use std::path::Path;

/// Every `--plot` picture's size.
pub const SIZE: (u32, u32) = (1200, 640);

/// The main series' colour (bars, the rate, the busiest latency histogram).
pub const SERIES: [u8; 3] = [102, 102, 255];

pub struct Picture {
    pub width: u32,
    pub height: u32,
    rgb: Vec<u8>,
}

/// Decodes `path`: an 8-bit RGB PNG of [`SIZE`].
pub fn picture(path: &Path) -> Picture {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(f))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), SIZE, "{}", path.display());
    assert_eq!(info.color_type, png::ColorType::Rgb, "{}", path.display());
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "{}", path.display());
    buf.truncate(info.buffer_size());
    Picture {
        width: info.width,
        height: info.height,
        rgb: buf,
    }
}

impl Picture {
    /// Pixels in columns `xs` and rows `ys` for which `f` holds.
    pub fn count_in(
        &self,
        xs: std::ops::Range<u32>,
        ys: std::ops::Range<u32>,
        f: impl Fn(&[u8]) -> bool,
    ) -> usize {
        let mut n = 0;
        for y in ys.start..ys.end.min(self.height) {
            for x in xs.start..xs.end.min(self.width) {
                let i = ((y * self.width + x) * 3) as usize;
                if f(&self.rgb[i..i + 3]) {
                    n += 1;
                }
            }
        }
        n
    }

    /// Pixels anywhere for which `f` holds.
    pub fn count(&self, f: impl Fn(&[u8]) -> bool) -> usize {
        self.count_in(0..self.width, 0..self.height, f)
    }
}

/// Whether a pixel is `c`, give or take `tol` per channel.
pub fn near(c: [u8; 3], tol: u8) -> impl Fn(&[u8]) -> bool {
    move |p| (0..3).all(|i| p[i].abs_diff(c[i]) <= tol)
}

/// Text and axes.
pub fn dark(p: &[u8]) -> bool {
    p[0] < 60 && p[1] < 60 && p[2] < 60
}

/// Blue, as the bars and the main series are drawn.
pub fn blue(p: &[u8]) -> bool {
    p[2] > 150 && p[0] < 140 && p[1] < 140
}
