//! pocketnn converter (being built).
