//! Text from the embedded DejaVu Sans font, laid out properly, for any plotters
//! backend.
//!
//! Why not plotters' own `ab_glyph` text? It draws every glyph at the start of its
//! advance and ignores the glyph's left side bearing, so narrow glyphs sit in the
//! wrong place: `0.49 s` reads as `0 .49s` and `pool` as `p ool`. [`GlyphText`]
//! wraps a backend and does the standard layout instead (advance, kerning, bearing),
//! with the font bytes compiled into the binary, so the figures need no system font
//! libraries (fontconfig, freetype) and look the same on every machine.
//!
//! Bitmaps get their text rasterised here. SVG keeps real `<text>` elements (the
//! viewer draws them, and they stay searchable); for SVG the wrapper only measures
//! text, so that the chart layout is the same in both formats.

use std::error::Error;
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, OutlinedGlyph, PxScale, ScaleFont, point};
use plotters::prelude::DrawingBackend;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

/// How plotters turns a font "size" into the em size: the SVG backend writes
/// `font-size: size / 1.24`, and rasterised text uses the same so the formats match.
const SIZE_PER_EM: f32 = 1.24;

/// The embedded font could not be parsed (a corrupt build; never expected).
#[derive(Debug, thiserror::Error)]
#[error("the embedded DejaVu Sans font could not be parsed")]
pub struct FontUnavailable;

/// Regular and bold DejaVu Sans, parsed once.
fn fonts() -> Result<&'static (FontRef<'static>, FontRef<'static>), FontUnavailable> {
    static FONTS: OnceLock<Option<(FontRef<'static>, FontRef<'static>)>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let regular = FontRef::try_from_slice(dejavu::sans::regular()).ok()?;
            let bold = FontRef::try_from_slice(dejavu::sans::bold()).ok()?;
            Some((regular, bold))
        })
        .as_ref()
        .ok_or(FontUnavailable)
}

/// A line of text, laid out with its top-left corner at (0, 0).
struct Layout {
    glyphs: Vec<OutlinedGlyph>,
    /// Advance width, in pixels.
    width: f32,
    /// Ascent plus descent, in pixels.
    height: f32,
}

fn layout(text: &str, size: f64, style: FontStyle) -> Result<Layout, FontUnavailable> {
    let (regular, bold) = fonts()?;
    let font = if matches!(style, FontStyle::Bold) {
        bold
    } else {
        regular
    };
    // ab_glyph scales by the font's full height (ascent + descent), not its em.
    let em = size as f32 / SIZE_PER_EM;
    let units_per_em = font.units_per_em().unwrap_or(2048.0);
    let scale = PxScale::from(em * font.height_unscaled() / units_per_em);
    let scaled = font.as_scaled(scale);

    let mut glyphs = Vec::with_capacity(text.len());
    let mut caret = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            caret += scaled.kern(previous, id);
        }
        // The glyph's own position carries the bearing: its outline's pixel bounds
        // start where the ink starts, not where the advance box starts.
        let glyph = id.with_scale_and_position(scale, point(caret, scaled.ascent()));
        caret += scaled.h_advance(id);
        previous = Some(id);
        glyphs.extend(font.outline_glyph(glyph));
    }
    Ok(Layout {
        glyphs,
        width: caret,
        height: scaled.ascent() - scaled.descent(),
    })
}

/// A plotters backend wrapper that measures (and for bitmaps, draws) text with the
/// embedded font. Every other call goes straight to the wrapped backend.
#[derive(Debug)]
pub struct GlyphText<DB> {
    inner: DB,
    /// Draw text as pixels (bitmaps) or pass it to the backend (SVG `<text>`).
    rasterize: bool,
}

impl<DB: DrawingBackend> GlyphText<DB> {
    /// Wraps a bitmap backend: text becomes anti-aliased pixels.
    pub fn raster(inner: DB) -> Self {
        Self {
            inner,
            rasterize: true,
        }
    }

    /// Wraps a vector backend: text stays text, only its measurement changes.
    pub fn vector(inner: DB) -> Self {
        Self {
            inner,
            rasterize: false,
        }
    }
}

fn font_error<E: Error + Send + Sync>(err: FontUnavailable) -> DrawingErrorKind<E> {
    DrawingErrorKind::FontError(Box::new(err))
}

impl<DB: DrawingBackend> DrawingBackend for GlyphText<DB> {
    type ErrorType = DB::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    // Forwarded rather than left to the trait's default, which would redo it pixel
    // by pixel: the bitmap backend fills rectangles row by row, which is what keeps
    // the charts fast.
    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let layout = layout(text, style.size(), style.style()).map_err(font_error)?;
        Ok((layout.width.ceil() as u32, layout.height.ceil() as u32))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if !self.rasterize {
            return self.inner.draw_text(text, style, pos);
        }
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let layout = layout(text, style.size(), style.style()).map_err(font_error)?;
        let (width, height) = (layout.width.round() as i32, layout.height.round() as i32);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Center => -width / 2,
            HPos::Right => -width,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let rotate = style.transform();
        let (max_x, max_y) = self.get_size();
        for glyph in &layout.glyphs {
            // The rasteriser's callback cannot return an error, so the first one is
            // kept here and the rest of the glyph skipped.
            let mut result = Ok(());
            let bounds = glyph.px_bounds();
            let (left, top) = (bounds.min.x as i32, bounds.min.y as i32);
            glyph.draw(|x, y, coverage| {
                if result.is_err() || coverage <= 0.0 {
                    return;
                }
                let (x, y) = rotate.transform(left + x as i32 + dx, top + y as i32 + dy);
                let (x, y) = (pos.0 + x, pos.1 + y);
                if x < 0 || y < 0 || x >= max_x as i32 || y >= max_y as i32 {
                    return;
                }
                let ink = BackendColor {
                    alpha: color.alpha * f64::from(coverage.min(1.0)),
                    rgb: color.rgb,
                };
                result = self.inner.draw_pixel((x, y), ink);
            });
            result?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A narrow glyph's ink starts after its bearing, not at its advance box: the
    /// bug this module exists to avoid.
    #[test]
    fn bearings_are_respected() {
        let laid_out = layout("0.4", 40.0, FontStyle::Normal).unwrap();
        let xs: Vec<f32> = laid_out
            .glyphs
            .iter()
            .map(|g| g.px_bounds().min.x)
            .collect();
        let zero_advance = layout("0", 40.0, FontStyle::Normal).unwrap().width;
        // The full stop's ink starts past the zero's advance (its left bearing > 0).
        assert!(xs[1] > zero_advance, "{xs:?} vs {zero_advance}");
    }

    /// Bold text is wider than regular text: the style picks the font.
    #[test]
    fn bold_is_a_different_font() {
        let regular = layout("makespan", 30.0, FontStyle::Normal).unwrap().width;
        let bold = layout("makespan", 30.0, FontStyle::Bold).unwrap().width;
        assert!(bold > regular);
    }
}
