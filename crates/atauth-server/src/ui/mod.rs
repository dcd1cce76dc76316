//! Member pages: server-rendered HTML that works without JavaScript.

pub mod authorize;
mod form;
mod pages;
mod redirect;
pub mod throttle;

pub use pages::{branding_stylesheet, stylesheet};
