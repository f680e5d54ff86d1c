//! Writing results out, one file per format. JSON is the record; other formats (markdown
//! tables, SVG charts) are views of one or more JSON results and live beside it.

pub mod capacity_svg;
pub mod confidence;
pub mod html;
pub mod json;
pub mod markdown;
pub mod svg;
