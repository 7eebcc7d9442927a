//! Terminal UI (ratatui) for searching and inspecting recordings.
//!
//! Filled by the TUI issue. It is empty until then.
