//! The one error type of this crate: inputs a statistic cannot be computed from.

use std::fmt;

/// Why a statistic could not be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A sample had fewer points than the method needs.
    TooFewPoints {
        /// What the sample was for.
        what: &'static str,
        /// How many points it had.
        got: usize,
        /// How many the method needs.
        need: usize,
    },
    /// A value was NaN or infinite.
    NotFinite {
        /// What the sample was for.
        what: &'static str,
        /// Index of the offending value.
        index: usize,
    },
    /// A ratio was asked of a value that is zero or negative.
    NotPositive {
        /// What the sample was for.
        what: &'static str,
        /// Index of the offending value.
        index: usize,
    },
    /// Paired samples had different lengths.
    LengthMismatch {
        /// Length of the base side.
        base: usize,
        /// Length of the new side.
        new: usize,
    },
    /// A parameter was out of its range.
    BadParameter(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TooFewPoints { what, got, need } => {
                write!(f, "{what}: {got} point(s), need at least {need}")
            }
            Error::NotFinite { what, index } => write!(f, "{what}: value #{index} is not finite"),
            Error::NotPositive { what, index } => {
                write!(
                    f,
                    "{what}: value #{index} is not positive, so no ratio can be taken"
                )
            }
            Error::LengthMismatch { base, new } => {
                write!(f, "paired samples differ in length: base {base}, new {new}")
            }
            Error::BadParameter(msg) => write!(f, "bad parameter: {msg}"),
        }
    }
}

impl std::error::Error for Error {}

/// Checks that `xs` has at least `need` points, all finite.
pub(crate) fn check_finite(what: &'static str, xs: &[f64], need: usize) -> Result<(), Error> {
    if xs.len() < need {
        return Err(Error::TooFewPoints {
            what,
            got: xs.len(),
            need,
        });
    }
    match xs.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(Error::NotFinite { what, index }),
        None => Ok(()),
    }
}

/// Checks as [`check_finite`] and also that every point is above zero.
pub(crate) fn check_positive(what: &'static str, xs: &[f64], need: usize) -> Result<(), Error> {
    check_finite(what, xs, need)?;
    match xs.iter().position(|&x| x <= 0.0) {
        Some(index) => Err(Error::NotPositive { what, index }),
        None => Ok(()),
    }
}

/// Checks that a probability-like parameter lies strictly inside (0, 1).
pub(crate) fn check_open_unit(value: f64, msg: &'static str) -> Result<(), Error> {
    if value > 0.0 && value < 1.0 {
        Ok(())
    } else {
        Err(Error::BadParameter(msg))
    }
}
