//! pocketnn runtime (being built).
