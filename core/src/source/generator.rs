//! PLACEHOLDER: being written.

use std::sync::Arc;

use super::SourceFactory;
use crate::error::{EmberError, Result};
use crate::options::Options;

pub(crate) fn factory(options: &Options) -> Result<Arc<dyn SourceFactory>> {
    let _ = options;
    Err(EmberError::config("not built yet"))
}
