//! Human table and JSON output.
