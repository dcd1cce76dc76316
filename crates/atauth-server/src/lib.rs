//! atauth's HTTP surface.
