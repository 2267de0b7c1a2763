//! PLACEHOLDER: being written.

use super::SinkFactory;
use crate::error::{EmberError, Result};
use crate::options::Options;

pub(crate) fn factory(format: &str, options: &Options) -> Result<SinkFactory> {
    let _ = (format, options);
    Err(EmberError::config("not built yet"))
}
