//! The renderers' integration tests, in one test binary.

mod fixture;
mod formats;
mod html;
mod render;
